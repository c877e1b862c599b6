"""Training and generation speed of the GAN engine against a plain reference cGAN, side by side in one run.

For 16², 32², 64² at batch 64 (2 threads by default): steps/s and images/s of ganaug's training step and of a
plain reference cGAN of the same widths and layers (DCGAN: transposed-conv G with BN, conv D, label as one-hot
input, BCE, default Adam, fp32, no augmentation / EMA / spectral norm; with ours' full-resolution edge convs when
ours has them, without when it does not), FLOPs per step (torch.utils.flop_counter), the
achieved GFLOP/s and its fraction of the fp32 matmul peak measured in this same run; generation images/s at 32²
through `GeneratorPipeline`; peak resident memory of a training process at 64². Steps are timed in blocks of
`r1_every` (one lazy R1 step each, on `r1_samples` reals in its own D pass), and each timing is the fastest of
several blocks after warm-up (the figure least distorted by other load on a shared machine; medians are in the
JSON), ours and the reference interleaved, and the matmul peak re-measured beside each row, under the same load.

    .venv/bin/python benchmarks/train_speed.py [--threads 2] [--steps 6] [--variants]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ganaug_core.memory import keep_freed_memory  # noqa: E402
from ganaug_core.training import TrainConfig, TrainData, Trainer  # noqa: E402
from ganaug_core.training.config import fast_bf16  # noqa: E402
from ganaug_core.training.networks import stage_channels, stage_resolutions  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
BATCH = 64
NUM_CLASSES = 10


# --- the plain reference cGAN ----------------------------------------------------------------------------------


class RefG(nn.Module):
    """DCGAN's generator at our widths; with our `edge_convs`, also our 3×3 conv from the last feature map."""

    def __init__(self, cfg: TrainConfig):
        super().__init__()
        self.c0 = stage_channels(cfg, 4)
        self.fc = nn.Linear(cfg.z_dim + NUM_CLASSES, self.c0 * 16)
        layers: list[nn.Module] = []
        for r in stage_resolutions(cfg)[:-1]:
            cin, cout = stage_channels(cfg, r), stage_channels(cfg, 2 * r)
            if not cfg.edge_convs and 2 * r == cfg.resolution:
                cout = cfg.channels  # the last transposed conv writes the image
            layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.ConvTranspose2d(cin, cout, 4, 2, 1)]
        if cfg.edge_convs:
            cl = stage_channels(cfg, cfg.resolution)
            layers += [nn.BatchNorm2d(cl), nn.ReLU(), nn.Conv2d(cl, cfg.channels, 3, padding=1)]
        self.net = nn.Sequential(*layers, nn.Tanh())

    def forward(self, z, c):
        h = self.fc(torch.cat([z, F.one_hot(c, NUM_CLASSES).float()], 1)).view(-1, self.c0, 4, 4)
        return self.net(h)


class RefD(nn.Module):
    """DCGAN's discriminator at our widths, the label as one-hot input channels; with our `edge_convs`, also a 3×3
    conv at full resolution before the strided ones."""

    def __init__(self, cfg: TrainConfig):
        super().__init__()
        cin = cfg.channels + NUM_CLASSES
        layers: list[nn.Module] = []
        if cfg.edge_convs:
            layers += [nn.Conv2d(cin, stage_channels(cfg, cfg.resolution), 3, padding=1), nn.LeakyReLU(0.2)]
            cin = stage_channels(cfg, cfg.resolution)
        for r in stage_resolutions(cfg)[::-1][:-1]:
            layers += [nn.Conv2d(cin, stage_channels(cfg, r // 2), 4, 2, 1), nn.LeakyReLU(0.2)]
            cin = stage_channels(cfg, r // 2)
        c4 = stage_channels(cfg, 4)
        layers += [nn.Flatten(), nn.Linear(c4 * 16, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x, c):
        onehot = F.one_hot(c, NUM_CLASSES).float()[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.net(torch.cat([x, onehot], 1)).squeeze(1)


class Reference:
    """The textbook loop (PyTorch's DCGAN tutorial, with labels)."""

    def __init__(self, cfg: TrainConfig, images: torch.Tensor, labels: torch.Tensor):
        torch.manual_seed(0)
        self.cfg, self.images, self.labels = cfg, images, labels
        self.G, self.D = RefG(cfg), RefD(cfg)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()

    def train_step(self):
        idx = torch.randint(len(self.images), (BATCH,))
        real = self.images[idx].float() / 127.5 - 1
        c = self.labels[idx]
        ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
        self.D.zero_grad()
        err_real = self.bce(self.D(real, c), ones)
        err_real.backward()
        z = torch.randn(BATCH, self.cfg.z_dim)
        fake = self.G(z, c)
        err_fake = self.bce(self.D(fake.detach(), c), zeros)
        err_fake.backward()
        self.opt_d.step()
        self.G.zero_grad()
        err_g = self.bce(self.D(fake, c), ones)
        err_g.backward()
        self.opt_g.step()


# --- measurement ------------------------------------------------------------------------------------------------


def fake_data(res: int, channels: int = 1) -> TrainData:
    rng = np.random.default_rng(0)
    labels = np.arange(640) % NUM_CLASSES
    return TrainData(rng.integers(0, 256, (640, channels, res, res), dtype=np.uint8), labels,
                     [str(i) for i in range(NUM_CLASSES)], "bench", "0" * 64)


def flops_of(step) -> float:
    with FlopCounterMode(display=False) as fc:
        step()
    return float(fc.get_total_flops())


def matmul_peak(threads: int, n: int = 2048, reps: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def ours_config(res: int, **kw) -> TrainConfig:
    """The product's defaults (as `ganaug train` picks them on this machine) at batch 64."""
    kw.setdefault("bf16", fast_bf16("cpu"))
    return TrainConfig(resolution=res, channels=1, num_classes=NUM_CLASSES, batch_size=BATCH, steps=10**9, **kw).validate()


def timed(step, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        out.append(time.perf_counter() - t0)
    return out


def compare(res: int, steps: int, variant: dict) -> dict:
    data = fake_data(res)
    ours = Trainer(ours_config(res, **variant), data, Path(tempfile.mkdtemp()))
    ref = Reference(ours.cfg, torch.from_numpy(data.images), torch.from_numpy(data.labels).long())
    # Steps are timed in blocks of r1_every (lazy R1 runs on one step of each block), so a block costs what the
    # product's steps cost on average; the reference is timed in blocks of the same length.
    block = ours.cfg.r1_every if ours.cfg.r1_gamma > 0 else 1

    def repeated(step):
        return lambda: [step() for _ in range(block)]

    ours_block, ref_block = repeated(ours.train_step), repeated(ref.train_step)

    for _ in range(2):
        ours_block()
        ref_block()
    t_ours, t_ref = [], []
    for _ in range(steps):  # interleaved, so a burst of load hits both
        t_ours += [t / block for t in timed(ours_block, 1)]
        t_ref += [t / block for t in timed(ref_block, 1)]
    f_ours, f_ref = flops_of(ours_block) / block, flops_of(ref_block) / block
    # The fastest of several interleaved blocks: on a shared machine it is the figure least distorted by others' load.
    m_ours, m_ref = float(np.min(t_ours)), float(np.min(t_ref))
    peak = matmul_peak(torch.get_num_threads())  # re-measured beside each row, under the same load
    return dict(resolution=res, variant=variant, ours_step_s=m_ours, ref_step_s=m_ref, matmul_peak_gflops=peak / 1e9,
                ours_median_step_s=float(np.median(t_ours)), ref_median_step_s=float(np.median(t_ref)),
                ours_steps_per_s=1 / m_ours, ref_steps_per_s=1 / m_ref, ours_images_per_s=BATCH / m_ours,
                ref_images_per_s=BATCH / m_ref, speedup=m_ref / m_ours, ours_gflop_per_step=f_ours / 1e9,
                ref_gflop_per_step=f_ref / 1e9, ours_gflops=f_ours / m_ours / 1e9, ref_gflops=f_ref / m_ref / 1e9)


def generation_speed(res: int = 32, n: int = 20000, **variant) -> dict:
    from ganaug_core.sampling import GeneratorPipeline

    t = Trainer(ours_config(res, **variant), fake_data(res), Path(tempfile.mkdtemp()))
    pipe = GeneratorPipeline(t.G_ema, t.cfg, "bench", t.data.class_names)
    pipe(0, 512, seed=0)
    t0 = time.perf_counter()
    out = pipe(3, n, seed=1)
    dt = time.perf_counter() - t0
    return dict(resolution=res, variant=variant, n=n, images_per_s=n / dt, seconds=dt, shape=list(out.images.shape),
                gflop_per_image=flops_of(lambda: t.G_ema(torch.randn(1, t.cfg.z_dim), torch.zeros(1, dtype=torch.long))) / 1e9)


def peak_memory_worker(res: int, threads: int) -> None:
    torch.set_num_threads(threads)
    keep_freed_memory()  # the product's training process keeps freed memory (ganaug/runs.py)
    t = Trainer(ours_config(res), fake_data(res), Path(tempfile.mkdtemp()))
    for _ in range(3):
        t.train_step()
    print(json.dumps({"maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def peak_memory(res: int, threads: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--memory-worker", str(res), "--threads", str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["maxrss_mib"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--resolutions", default="16,32,64")
    ap.add_argument("--variants", action="store_true",
                    help="also time the fp32 / NCHW / no-edge-convs alternatives (each against its own reference)")
    ap.add_argument("--memory-worker", type=int, default=None)
    args = ap.parse_args()
    if args.memory_worker:
        return peak_memory_worker(args.memory_worker, args.threads)
    keep_freed_memory()  # as `ganaug train` and `ganaug generate` do; the reference runs in the same process
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    peak = matmul_peak(args.threads)
    variants = [{}]
    if args.variants:
        variants += [{"bf16": False}, {"channels_last": False}, {"edge_convs": False}]
    rows = [compare(int(r), args.steps, v) for r in args.resolutions.split(",") for v in variants]
    gen = generation_speed()
    gen_no_edge = generation_speed(edge_convs=False)
    mem = peak_memory(64, args.threads)
    print(f"threads={args.threads} fp32 matmul peak {peak / 1e9:.1f} GFLOP/s; load average {load_before[0]:.1f} → "
          f"{os.getloadavg()[0]:.1f} (shared machine)")
    print(f"{'res':>4} {'variant':<34} {'ours it/s':>9} {'ref it/s':>8} {'ratio':>6} {'ours img/s':>10} "
          f"{'GFLOP/step':>10} {'GFLOP/s':>8} {'%peak':>6} {'peak':>6}")
    for r in rows:
        print(f"{r['resolution']:>4} {json.dumps(r['variant']):<34} {r['ours_steps_per_s']:>9.2f} {r['ref_steps_per_s']:>8.2f} "
              f"{r['speedup']:>6.2f} {r['ours_images_per_s']:>10.0f} {r['ours_gflop_per_step']:>10.2f} "
              f"{r['ours_gflops']:>8.1f} {100 * r['ours_gflops'] / r['matmul_peak_gflops']:>6.1f} {r['matmul_peak_gflops']:>6.1f}")
    print(f"generation at 32²: {gen['images_per_s']:.0f} images/s ({gen['n']} images, target ≥ 10,000); "
          f"{gen_no_edge['images_per_s']:.0f} images/s without edge convs (--no-edge-convs)")
    print(f"peak RSS of a training process at 64², batch {BATCH}: {mem:.0f} MiB")
    OUT.mkdir(exist_ok=True)
    (OUT / "train_speed.json").write_text(json.dumps(dict(
        threads=args.threads, matmul_peak_gflops=peak / 1e9, load_average=[load_before, os.getloadavg()],
        training=rows, generation=gen, generation_no_edge_convs=gen_no_edge, peak_rss_mib_64=mem, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    ), indent=2))


if __name__ == "__main__":
    main()
