"""Sampling from a trained generator: a small pipeline object over the EMA generator of a checkpoint.

    pipe = GeneratorPipeline.from_run("GANAUG_HOME/runs/000001")  # its newest checkpoint; or .from_checkpoint(path)
    out = pipe(class_labels=9, n=64, seed=7)   # out.images: uint8 (64, C, H, W), out.seeds, out.class_labels
    [encode_png(x) for x in out.images]        # the bytes of `ganaug generate --run 1 --class 9 --n 64 --seed 7`

`ganaug generate` and the app's job worker call exactly this, then store each image as `imageio.encode_png` encodes
it (a run trained below its dataset's side first has its samples upsampled: `rescale.upsample_images(out.images,
side)`). The worker gives the i-th class of a job the seed S + i; a batch records its seed and every sample's.

Per-sample seeds: sample i of a call with seed s gets its own seed `sample_seed(s, i)` =
splitmix64(splitmix64(s) + i) masked to 63 bits (it fits a signed database integer); its latent is
`latents([seed], z_dim)`, a counter-based draw: b_j = splitmix64(splitmix64(seed) + j), whose high and low
32 bits give two uniforms u, v in (0, 1], and z_j = sqrt(-2 ln u) cos(2π v) (Box–Muller). Both are vectorised numpy integer arithmetic, so 10,000
latents cost milliseconds, and `pipe.from_seeds(classes, seeds)` regenerates any single sample from its seed.
Batch norm runs in eval mode and every forward pass has the same fixed chunk size (`CHUNK`), so a sample's pixels
do not depend on which other samples shared its batch: the same (checkpoint, class, seed) gives the same bytes (on
the same device type and torch build), drawn alone (`from_seeds`) or among 300, beside other classes or not, with
torch on 1, 2 or 4 threads, and from a run resumed part-way as from one trained straight. Checked on 8² test runs
(DCGAN and residual, fp32 and bf16), on random-data runs up to 64² RGB (the same kinds), and on 16² and 32² digits
runs against what `ganaug generate` recorded (README, "From Python"). torch does not promise the same bits across
thread counts: `tests/core/test_gan_sampling.py` checks it on the machine that runs it.

Precision follows the checkpoint: a generator trained under bf16 autocast (`config.bf16`, the default where the
CPU has native bf16) samples under the same autocast — the numerics it was trained in, and ≈ 1.7–2.1× the
images/s of fp32 at 32² on 2 cores (BENCHMARKS.md). Against fp32 on the same weights the uint8 pixels differ by
0.16 grey levels on average and 2 at most (measured on a tiny trained run; a test bounds it). Bytes are
reproducible on the same kind of machine; fp32 is not bitwise portable across CPUs either (oneDNN picks different
kernels per instruction set).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ganaug_core.errors import GanaugError
from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.runstats import checkpoints
from ganaug_core.training.checkpoint import load_checkpoint
from ganaug_core.training.config import TrainConfig
from ganaug_core.training.networks import Generator

# Every forward pass runs on exactly this many latents (padded), for batch-independent pixels: torch picks its CPU
# kernels by shape, and passes of 1 sample each put 1–2 pixels of 40 fp32 samples a grey level off (passes of 8 to 512
# matched 256 there). Part of what a stored batch's bytes depend on: changing it may break `audit reproduce`.
CHUNK = 256


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_MASK63 = np.uint64(2**63 - 1)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (a bijection: distinct inputs give distinct outputs)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def sample_seeds(seed: int, n: int) -> list[int]:
    """The own seeds of samples 0..n-1 of a call with batch seed `seed`."""
    with np.errstate(over="ignore"):
        base = splitmix64(np.array([int(seed) % 2**64], dtype=np.uint64))
        return (splitmix64(base + np.arange(n, dtype=np.uint64)) & _MASK63).tolist()


def sample_seed(seed: int, index: int) -> int:
    return sample_seeds(seed, index + 1)[index]


def latents(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """(len(seeds), z_dim) standard normal latents, each row a function of its seed alone."""
    with np.errstate(over="ignore"):
        base = splitmix64(np.asarray([int(s) for s in seeds], dtype=np.uint64))[:, None]
        bits = splitmix64(base + np.arange(z_dim, dtype=np.uint64)[None, :])
    # One 64-bit draw per coordinate: its high and low 32 bits are Box–Muller's two uniforms, each in (0, 1].
    hi = torch.from_numpy((bits >> np.uint64(32)).astype(np.float64))
    lo = torch.from_numpy((bits & np.uint64(0xFFFFFFFF)).astype(np.float64))
    u1, u2 = (hi + 1.0) * 2.0**-32, (lo + 1.0) * 2.0**-32
    return (torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)).float()


@dataclass
class SampleOutput:
    images: np.ndarray  # uint8 (N, C, H, W)
    seeds: list[int]  # each sample's own seed
    class_labels: list[int]


class GeneratorPipeline:
    """A trained generator, ready to sample: `pipe(class_labels, n, seed)` or `pipe.from_seeds(classes, seeds)`.

    Attributes: `config` (the run's TrainConfig), `dataset_name`, `class_names` (index → name), `num_classes`,
    `resolution`, `channels`, and `checkpoint_path`, `checkpoint_sha256` when loaded from a file (the sha256 a
    batch records, which `ganaug audit reproduce` finds its checkpoint by)."""

    def __init__(self, generator: Generator, config: TrainConfig, dataset_name: str, class_names: Sequence[str],
                 device: Union[str, torch.device] = "cpu", checkpoint_sha256: Optional[str] = None,
                 checkpoint_path: Optional[Path] = None):
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval().requires_grad_(False)
        self.config = config
        self.dataset_name = dataset_name
        self.class_names = list(class_names)
        self.checkpoint_sha256 = checkpoint_sha256
        self.checkpoint_path = checkpoint_path

    @classmethod
    def from_run(cls, run_dir: Union[str, Path], device: Union[str, torch.device] = "cpu") -> "GeneratorPipeline":
        """The run folder's newest checkpoint (the highest step under `run_dir/checkpoints/`): the one `ganaug
        generate --run` samples once the run has finished. A batch generated earlier names its own by sha256."""
        found = checkpoints(Path(run_dir))
        if not found:
            raise GanaugError(f"{run_dir} holds no checkpoint (checkpoints/checkpoint-<step>.pt): is it a run folder "
                              "(GANAUG_HOME/runs/NNNNNN), and did the run reach its first checkpoint?")
        return cls.from_checkpoint(found[max(found)], device)

    @classmethod
    def from_checkpoint(cls, path: Union[str, Path], device: Union[str, torch.device] = "cpu") -> "GeneratorPipeline":
        """The EMA generator of one checkpoint file, on `device` ("cpu" or "cuda": bytes reproduce on the kind of
        device that made them)."""
        from ganaug_core.imageio import sha256_file

        payload = load_checkpoint(Path(path), map_location=device)
        cfg = TrainConfig.from_dict(payload["config"], stored=True)
        g = Generator(cfg)
        try:
            g.load_state_dict(payload["G_ema"])
        except RuntimeError as e:
            raise GanaugError(f"{path}: generator weights do not match its config ({str(e).splitlines()[0]})") from None
        if cfg.channels_last:
            g.to(memory_format=torch.channels_last)
        ds = payload["dataset"]
        return cls(g, cfg, ds["name"], ds["class_names"], device, sha256_file(Path(path)), Path(path))

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def resolution(self) -> int:
        return self.config.resolution

    @property
    def channels(self) -> int:
        return self.config.channels

    def __call__(self, class_labels: Union[int, Sequence[int]], n: int, seed: int,
                 progress: ProgressCallback = no_progress) -> SampleOutput:
        """n samples; `class_labels` is one class index for all, or a sequence of n class indices. Sample i gets
        its own seed `sample_seed(seed, i)`, so the first k samples of a call are those of the same call with n=k."""
        if n < 1:
            raise GanaugError(f"n must be ≥ 1, got {n}")
        labels = [int(class_labels)] * n if isinstance(class_labels, (int, np.integer)) else [int(c) for c in class_labels]
        if len(labels) != n:
            raise GanaugError(f"got {len(labels)} class labels for n={n} samples")
        return self.from_seeds(labels, sample_seeds(seed, n), progress)

    @torch.no_grad()
    def from_seeds(self, class_labels: Sequence[int], seeds: Sequence[int],
                   progress: ProgressCallback = no_progress) -> SampleOutput:
        """One sample per (class, own seed): the seeds a batch recorded (`SampleOutput.seeds`, the database's
        `seed` column, images.csv) regenerate those samples, alone or together."""
        if len(class_labels) != len(seeds):
            raise GanaugError(f"class_labels and seeds differ in length: {len(class_labels)} vs {len(seeds)}")
        outside = [s for s in seeds if not 0 <= int(s) < 2**64]
        if outside:
            raise GanaugError(f"seeds must be integers in 0..2**64 - 1, got {outside[0]}")
        bad = sorted({c for c in class_labels if not 0 <= c < self.num_classes})
        if bad:
            raise GanaugError(f"class {bad[0]} is not in this generator's classes 0..{self.num_classes - 1}")
        n = len(seeds)
        z = latents(seeds, self.config.z_dim)
        c = torch.as_tensor(list(class_labels), dtype=torch.long)
        out = np.empty((n, self.channels, self.resolution, self.resolution), dtype=np.uint8)
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            zc, cc = _pad(z[start:stop], CHUNK), _pad(c[start:stop], CHUNK)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.bf16):
                imgs = self.generator(zc.to(self.device), cc.to(self.device))[: stop - start]
            out[start:stop] = (imgs.float() * 127.5 + 128.0).clamp_(0, 255).to(torch.uint8).cpu().numpy()
            progress(Progress("generate", stop, n))
        return SampleOutput(out, [int(s) for s in seeds], [int(x) for x in class_labels])


def _pad(t: torch.Tensor, size: int) -> torch.Tensor:
    if len(t) == size:
        return t
    pad = t[:1].expand(size - len(t), *t.shape[1:]) if len(t) else torch.zeros(size, *t.shape[1:], dtype=t.dtype)
    return torch.cat([t, pad])
