"""The training loop: one D step and one G step per iteration, EMA, grids, stats, checkpoints, exact resume.

The run folder (created by the caller, with `config.json` already in it) receives `stats.jsonl`, per-class grids
under `grids/` and checkpoints under `checkpoints/`. Every random draw of the loop comes from one CPU
`torch.Generator` whose state is checkpointed, so `N steps` and `N/2 + resume + N/2` give identical weights.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize

from ganaug_core.progress import Progress, ProgressCallback, no_progress
from ganaug_core.runstats import STATS_FILE
from ganaug_core.training.augment import AdaTuner, class_floor, diff_augment, parse_policy
from ganaug_core.training.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from ganaug_core.training.class_balance import ClassBalancedSampler, repeated_fakes
from ganaug_core.training.config import TrainConfig
from ganaug_core.training.diversity import DiversityMonitor
from ganaug_core.training.grids import write_grids
from ganaug_core.training.loss import d_loss, g_loss, mode_seeking_loss, r1_penalty
from ganaug_core.training.networks import build_networks, mbstd_group
from ganaug_core.training.standing_stats import standing_stats


@dataclass
class TrainData:
    """The real training images at the training resolution and what identifies their dataset."""

    images: np.ndarray  # uint8 (N, C, R, R)
    labels: np.ndarray  # int (N,)
    class_names: list[str]
    dataset_name: str
    arrays_sha256: str


@dataclass
class TrainResult:
    status: str  # "done", "cancelled" (should_stop) or "interrupted" (Ctrl-C)
    step: int
    checkpoint: Optional[Path]
    checkpoint_sha256: Optional[str]
    last_stats: dict = field(default_factory=dict)


CheckpointHook = Callable[[Path, str, int], None]


def make_optimizer(params, lr: float, cfg: TrainConfig, device: torch.device) -> torch.optim.Adam:
    try:  # the fused kernel is one pass over all parameters; older builds lack it on some devices
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), foreach=True)


class Trainer:
    def __init__(self, cfg: TrainConfig, data: TrainData, run_dir: Path):
        self.cfg, self.data, self.run_dir = cfg, data, Path(run_dir)
        self.device = torch.device(cfg.device)
        if self.device.type == "cuda":  # cuDNN's autotuner and its nondeterministic kernels would break exact resume
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        torch.manual_seed(cfg.seed)  # network initialisation (weights and spectral-norm vectors)
        self.G, self.D = build_networks(cfg)
        self.G.to(self.device)
        self.D.to(self.device)
        if cfg.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # D is frozen for every G step and thawed after it. The flags are set on these lists directly:
        # Module.train() and requires_grad_() walk the module tree on every call, twice a step.
        self._d_modules, self._d_params = list(self.D.modules()), list(self.D.parameters())
        self.opt_g = make_optimizer(self.G.parameters(), cfg.lr_g, cfg, self.device)
        self.opt_d = make_optimizer(self.D.parameters(), cfg.lr_d, cfg, self.device)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.ada = AdaTuner(cfg.ada_target, cfg.ada_interval, cfg.ada_kimg, cfg.batch_size,
                            p=1.0 if cfg.augment == "diffaugment" else 0.0)
        self.policy = parse_policy(cfg.diffaug_policy) if cfg.augment != "none" else ()
        self.floor = class_floor(data.labels, cfg.num_classes) if cfg.augment == "ada" and cfg.ada_class_floor else None
        self.step = 0
        self.images = torch.from_numpy(np.ascontiguousarray(data.images)).to(self.device)
        self.labels = torch.from_numpy(np.asarray(data.labels)).long()
        self.sampler = ClassBalancedSampler(data.labels, cfg.class_balanced)
        # Reals and fakes come in runs of one class, each as long as D's minibatch-stddev group (which divides the batch).
        self.group = mbstd_group(cfg.batch_size)
        self.half = repeated_fakes(cfg.batch_size, self.group)
        # Without class balance, G trains on batches of the data's class frequencies: its standing statistics too.
        self.standing_counts = (None if cfg.class_balanced
                                else torch.bincount(self.labels, minlength=cfg.num_classes))
        self._interrupted = False
        # The stored uint8 images: the monitor brings to float only the few it measures (a float copy of all was
        # 2.4 GB at 64² for 48,000 images, and its channels-last copy as much again).
        self.monitor = DiversityMonitor(self.images, torch.from_numpy(data.labels),
                                        cfg.num_classes, cfg.diversity_threshold)

    # --- state ------------------------------------------------------------------------------------------------

    def state(self) -> dict:
        return {
            "format": FORMAT,
            "config": self.cfg.to_dict(),
            "dataset": {"name": self.data.dataset_name, "arrays_sha256": self.data.arrays_sha256,
                        "class_names": list(self.data.class_names)},
            "step": self.step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "ada": self.ada.state_dict(),
            "rng": self.gen.get_state(),
        }

    def load_state(self, payload: dict) -> None:
        self.G.load_state_dict(payload["G"])
        self.D.load_state_dict(payload["D"])
        self.G_ema.load_state_dict(payload["G_ema"])
        self.opt_g.load_state_dict(payload["opt_g"])
        self.opt_d.load_state_dict(payload["opt_d"])
        self.ada.load_state_dict(payload["ada"])
        self.gen.set_state(payload["rng"])
        self.step = int(payload["step"])

    def resume_from(self, path: Path) -> None:
        self.load_state(load_checkpoint(path, map_location=self.device))

    # --- one iteration ----------------------------------------------------------------------------------------

    def _to_float(self, images_u8: torch.Tensor) -> torch.Tensor:
        x = images_u8.float().div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x

    def _augment(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if not self.policy:
            return x
        p = self.ada.p if self.floor is None else self.floor[c.cpu()].clamp(min=self.ada.p)
        return diff_augment(x, self.policy, self.gen, p)

    def train_step(self) -> dict[str, torch.Tensor]:
        cfg, dev = self.cfg, self.device
        idx = self.sampler.draw(cfg.batch_size, self.gen, group=self.group)
        real = self._to_float(self.images[idx.to(dev)])
        c_real = self.labels[idx].to(dev)
        z = torch.randn(cfg.batch_size, cfg.z_dim, generator=self.gen).to(dev)
        half = self.half
        c_fake = self.sampler.draw_classes(cfg.batch_size - half, self.gen, group=self.group)
        # The last `half` repeat the first ones' classes with other latents: the pairs the mode-seeking term compares.
        c_fake = torch.cat([c_fake, c_fake[:half]]).to(dev)
        do_r1 = cfg.r1_gamma > 0 and self.step % cfg.r1_every == 0
        autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16)

        # D step. One G forward serves both steps (as in the classic DCGAN loop): D sees it detached, G reuses it.
        with autocast:
            fake = self.G(z, c_fake)
        real_aug = self._augment(real, c_real)
        fake_aug = self._augment(fake.detach(), c_fake)
        ac = cfg.ac_weight > 0
        with parametrize.cached():  # spectral norm's W/σ (and its power iteration) once for both D passes
            with autocast:
                out = self.D(torch.cat([real_aug, fake_aug]), torch.cat([c_real, c_fake]), with_classes=ac)
            logits, class_logits = out if ac else (out, None)
            d_real, d_fake = logits.split(cfg.batch_size)
            loss_d = d_loss(cfg.loss, d_real, d_fake)
            if ac:  # the auxiliary classifier learns the classes from reals only (fakes would teach it G's errors)
                ac_d = F.cross_entropy(class_logits[: cfg.batch_size].float(), c_real)
                loss_d = loss_d + cfg.ac_weight * ac_d
            if do_r1:
                # R1 in its own D pass on the first r1_samples reals, rounded down to whole class groups for the
                # minibatch-stddev feature: its gradient and double backward then cover those images only.
                n = min(cfg.r1_samples or cfg.batch_size, cfg.batch_size)
                n = max(self.group, n - n % self.group)
                x = real_aug[:n].detach().requires_grad_(True)
                with autocast:  # D gets a view of the leaf: module backward hooks (the FLOP counter's) need one
                    d_x = self.D(x.view_as(x), c_real[:n])
                loss_d = loss_d + cfg.r1_gamma / 2 * cfg.r1_every * r1_penalty(d_x, x)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        if cfg.augment == "ada":
            self.ada.observe(d_real)

        # G step; D in eval mode skips its spectral-norm power iteration and its weights need no gradient.
        self._freeze_d(True)
        with autocast:
            out = self.D(self._augment(fake, c_fake), c_fake, with_classes=ac)
        loss_g = g_loss(cfg.loss, out[0] if ac else out)
        if ac:  # G pays when D's classifier does not name a fake as the class it was conditioned on
            ac_g = F.cross_entropy(out[1].float(), c_fake)
            loss_g = loss_g + cfg.ac_weight * ac_g
        if cfg.mode_seeking > 0 and half > 0:
            loss_g = loss_g + cfg.mode_seeking * mode_seeking_loss(fake, z, half)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self._freeze_d(False)

        self._update_ema()
        self.step += 1
        stats = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_real": d_real.detach().float().mean(),
                 "d_fake": d_fake.detach().float().mean()}
        if ac:
            stats.update(ac_d=ac_d.detach(), ac_g=ac_g.detach())
        return stats

    def _freeze_d(self, frozen: bool) -> None:
        """D in eval mode without weight gradients (`D.eval().requires_grad_(False)`), or back."""
        for m in self._d_modules:
            m.training = not frozen
        for p in self._d_params:
            p.requires_grad = not frozen

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Ramp the decay in early on so the EMA does not average over the random initialisation (StyleGAN's ramp).
        beta = min(self.cfg.ema_beta, (1 + self.step) / (10 + self.step))
        ema_p, g_p = list(self.G_ema.parameters()), list(self.G.parameters())
        torch._foreach_lerp_(ema_p, g_p, 1.0 - beta)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # --- outputs ----------------------------------------------------------------------------------------------

    def _standing_stats(self) -> None:
        cfg = self.cfg
        standing_stats(self.G_ema, cfg.num_classes, cfg.z_dim, self.device, class_counts=self.standing_counts)

    def write_grids(self) -> Path:
        """The grids of this step (`grids.write_grids`); returns the overview's path."""
        return write_grids(self.G_ema, self.cfg, self.data.class_names, self.run_dir / "grids", self.step, self.device)


    def save(self, on_checkpoint: Optional[CheckpointHook]) -> tuple[Path, str]:
        path = self.run_dir / "checkpoints" / f"checkpoint-{self.step:07d}.pt"
        sha = save_checkpoint(self.state(), path)
        if on_checkpoint:
            on_checkpoint(path, sha, self.step)
        return path, sha

    def _stats(self, losses: dict, steps_per_s: float, elapsed: float, diversity: bool) -> dict:
        cfg = self.cfg
        line = {"step": self.step, **{k: round(float(v), 5) for k, v in losses.items()},
                "p": round(self.ada.p, 5), "ada_rt": round(self.ada.last_rt, 4),
                "images_per_s": round(cfg.batch_size * steps_per_s, 1), "elapsed_s": round(elapsed, 2)}
        if cfg.minutes:
            line["budget_fraction"] = round(min(1.0, elapsed / (cfg.minutes * 60)), 4)
        if diversity:
            line.update(self.monitor.measure(self.G_ema, cfg.z_dim, self.device).to_dict())
        return line

    def _record(self, line: dict, grid: Optional[Path], total: int, stats_file: Path, progress: ProgressCallback) -> None:
        with open(stats_file, "a") as f:
            f.write(json.dumps(line) + "\n")
        progress(Progress("train", self.step, total, {**line, "grid": str(grid) if grid else None}))

    # --- the loop ---------------------------------------------------------------------------------------------

    def run(
        self,
        progress: ProgressCallback = no_progress,
        should_stop: Optional[Callable[[], bool]] = None,
        on_checkpoint: Optional[CheckpointHook] = None,
    ) -> TrainResult:
        cfg = self.cfg
        total = cfg.steps or 0
        deadline = time.monotonic() + cfg.minutes * 60 if cfg.minutes else None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        stats_file = self.run_dir / STATS_FILE
        t_last, step_last, started = time.perf_counter(), self.step, time.perf_counter()
        last: dict = {}
        grid_path: Optional[Path] = None
        status = "done"
        ckpt: tuple[Optional[Path], Optional[str]] = (None, None)
        losses: Optional[dict] = None
        restore = _catch_interrupts(self)
        try:
            while not total or self.step < total:
                if self._interrupted:
                    status = "interrupted"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if should_stop is not None and should_stop():
                    status = "cancelled"
                    break
                losses = self.train_step()
                s = self.step
                end = bool(total) and s >= total
                if s % cfg.grid_every == 0 or s % cfg.diversity_every == 0 or s % cfg.ckpt_every == 0 or end:
                    self._standing_stats()
                if s % cfg.stats_every == 0 or s % cfg.diversity_every == 0 or end:
                    now = time.perf_counter()
                    last = self._stats(losses, (s - step_last) / max(now - t_last, 1e-9), now - started,
                                       s % cfg.diversity_every == 0 or end)
                    t_last, step_last = now, s
                    if s % cfg.grid_every == 0 or end:
                        grid_path = self.write_grids()
                    self._record(last, grid_path, total, stats_file, progress)
                if s % cfg.ckpt_every == 0 or end:
                    ckpt = self.save(on_checkpoint)
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            restore()
        if ckpt[0] is None or int(ckpt[0].stem.split("-")[1]) != self.step:
            # Stopped between checkpoints (time budget, cancel, Ctrl-C): record and save the state reached.
            self._standing_stats()
            if grid_path is None or f"step{self.step:07d}" not in grid_path.name:
                grid_path = self.write_grids()
            # The last line must carry the monitor's reading of the final weights, even when the budget ran out
            # on a step that already had a plain stats line.
            if losses is not None and (last.get("step") != self.step or "diversity" not in last):
                now = time.perf_counter()
                # With no step since the last line, its throughput stands (this line only adds the diversity).
                rate = ((self.step - step_last) / max(now - t_last, 1e-9) if self.step > step_last
                        else last.get("images_per_s", 0.0) / cfg.batch_size)
                last = self._stats(losses, rate, now - started, True)
                self._record(last, grid_path, total, stats_file, progress)
            ckpt = self.save(on_checkpoint)
        return TrainResult(status, self.step, ckpt[0], ckpt[1], {**last, "grid": str(grid_path) if grid_path else None})


def _catch_interrupts(trainer: "Trainer") -> Callable[[], None]:
    """Turn Ctrl-C and SIGTERM (`kill`, `timeout`, `docker stop`) into a flag checked between steps, so the
    checkpoint written on exit is the state after a whole step, from which a resume continues exactly. An exception
    raised mid-step would leave batch-norm statistics, spectral-norm vectors and the RNG one forward pass ahead."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(sig, frame):
        if previous[sig] is signal.SIG_IGN:
            return
        trainer._interrupted = True
        if callable(previous[sig]):  # the embedding process's own handler (a worker's stop event) still hears it
            try:
                previous[sig](sig, frame)
            except KeyboardInterrupt:  # Python's Ctrl-C default and the CLI's SIGTERM raise it: not mid-step
                pass

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, h in previous.items():
            signal.signal(sig, h)

    return restore
