"""The GAN engine on tiny networks and 8×8 images: shapes, determinism, exact resume, ADA, collapse monitor."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from ganaug_core.errors import GanaugError
from ganaug_core.training import TrainConfig, TrainData, Trainer
from ganaug_core.training.augment import AdaTuner, class_floor, diff_augment
from ganaug_core.training.checkpoint import load_checkpoint
from ganaug_core.training.standing_stats import standing_stats
from ganaug_core.training.diversity import MONITOR_SEED, DiversityMonitor, mean_pairwise_distance, pooled_pixels
from ganaug_core.training.class_balance import ClassBalancedSampler
from ganaug_core.training.networks import (ImageConvTranspose, build_networks, channel_affine,
                                          conv_transpose_4x4s2_phases, minibatch_stddev)

TINY = dict(resolution=8, channels=1, num_classes=3, width=4, z_dim=8, batch_size=8, steps=4,
            grid_every=2, ckpt_every=2, stats_every=1, diversity_every=2)


def tiny_data(channels: int = 1, n: int = 40) -> TrainData:
    rng = np.random.default_rng(0)
    labels = np.array([0] * 30 + [1] * 7 + [2] * 3)[:n]
    images = rng.integers(0, 256, (len(labels), channels, 8, 8), dtype=np.uint8)
    return TrainData(images, labels, ["a", "b", "c"], "tiny", "0" * 64)


def all_tensors(trainer: Trainer) -> dict[str, torch.Tensor]:
    out = {}
    for name, net in (("G", trainer.G), ("D", trainer.D), ("G_ema", trainer.G_ema)):
        out.update({f"{name}.{k}": v for k, v in net.state_dict().items()})
    return out


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
@pytest.mark.parametrize("channels,resolution", [(1, 8), (3, 16)])
def test_network_shapes(arch, channels, resolution):
    cfg = TrainConfig(**{**TINY, "arch": arch, "channels": channels, "resolution": resolution}).validate()
    torch.manual_seed(0)
    g, d = build_networks(cfg)
    z, c = torch.randn(5, cfg.z_dim), torch.tensor([0, 1, 2, 0, 1])
    x = g(z, c)
    assert x.shape == (5, channels, resolution, resolution)
    assert float(x.detach().abs().max()) <= 1.0
    assert d(x, c).shape == (5,)


@pytest.mark.parametrize("channels,resolution", [(1, 8), (3, 16)])
def test_dcgan_without_edge_convs(channels, resolution):
    """DCGAN's own layout: G's last transposed conv writes the image and D's first strided conv reads it."""
    cfg = TrainConfig(**{**TINY, "channels": channels, "resolution": resolution, "edge_convs": False}).validate()
    torch.manual_seed(0)
    g, d = build_networks(cfg)
    assert g.to_img is None and g.norm_out is None and d.from_img is None
    assert g.blocks[-1].conv.weight.shape[1:] == (channels, 4, 4)  # ConvTranspose2d weights: (cin, cout, k, k)
    assert [type(b.conv) for b in g.blocks] == [torch.nn.ConvTranspose2d] * (len(g.blocks) - 1) + [ImageConvTranspose]
    assert d.blocks[0].conv.weight.shape[1:] == (channels, 4, 4)
    z, c = torch.randn(5, cfg.z_dim), torch.tensor([0, 1, 2, 0, 1])
    x = g(z, c)
    assert x.shape == (5, channels, resolution, resolution)
    assert float(x.detach().abs().max()) <= 1.0
    assert d(x, c).shape == (5,)


@pytest.mark.parametrize("n,cin,cout,side", [(3, 8, 1, 4), (5, 16, 3, 8), (2, 4, 2, 5)])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_phase_transposed_conv_equals_conv_transpose2d(n, cin, cout, side, memory_format):
    torch.manual_seed(0)
    x = torch.randn(n, cin, side, side).contiguous(memory_format=memory_format)
    w, b = torch.randn(cin, cout, 4, 4), torch.randn(cout)
    expected = torch.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1)
    out = conv_transpose_4x4s2_phases(x, w, b)
    assert out.shape == expected.shape == (n, cout, 2 * side, 2 * side)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_image_conv_transpose_takes_the_phase_path_only_when_sampling():
    torch.manual_seed(0)
    conv = ImageConvTranspose(8, 2)
    assert set(conv.state_dict()) == set(torch.nn.ConvTranspose2d(8, 2, 4, 2, 1).state_dict())  # same checkpoints
    x = torch.randn(4, 8, 16, 16).contiguous(memory_format=torch.channels_last)
    expected = torch.nn.functional.conv_transpose2d(x, conv.weight, conv.bias, stride=2, padding=1)
    with torch.no_grad():
        sampled = conv.eval()(x)
    # the phase path's sum order differs from oneDNN's: equal to rounding, not bit for bit
    torch.testing.assert_close(sampled, expected, rtol=1e-5, atol=1e-5)
    assert not sampled.is_contiguous()  # the phase path's (C, N, H, W) buffer, seen as (N, C, H, W)
    assert sampled.transpose(0, 1).is_contiguous()
    trained = conv.train()(x)
    assert trained.grad_fn is not None and torch.equal(trained.detach(), expected.detach())  # oneDNN, with autograd
    with torch.no_grad():  # beyond 64² × 1 channel oneDNN's kernel is the faster one
        big = ImageConvTranspose(2, 3).eval()(torch.randn(1, 2, 32, 32))
    assert big.is_contiguous() and big.shape == (1, 3, 64, 64)


def test_edge_convs_are_the_dcgan_default_layers():
    torch.manual_seed(0)
    g, d = build_networks(TrainConfig(**TINY).validate())
    assert g.to_img is not None and d.from_img is not None
    assert g.blocks[-1].conv.out_channels == d.blocks[0].conv.in_channels == TINY["width"]
    with pytest.raises(GanaugError, match="applies to the dcgan arch only"):  # the residual family always has them
        TrainConfig(**{**TINY, "arch": "resnet", "edge_convs": False}).validate()


def test_auxiliary_classifier_head_adds_only_itself():
    torch.manual_seed(0)
    plain = build_networks(TrainConfig(**{**TINY, "ac_weight": 0.0}).validate())[1]
    torch.manual_seed(0)
    d = build_networks(TrainConfig(**{**TINY, "ac_weight": 1.0}).validate())[1]
    # the head is built last: every other weight (and spectral-norm vector) is initialised as without it
    extra = set(d.state_dict()) - set(plain.state_dict())
    assert extra == {"classify.weight", "classify.bias"} and plain.classify is None
    for k, v in plain.state_dict().items():
        assert torch.equal(v, d.state_dict()[k]), k
    x, c = torch.randn(5, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1])
    d.eval()
    logits, classes = d(x, c, with_classes=True)
    assert logits.shape == (5,) and classes.shape == (5, TINY["num_classes"])
    assert torch.equal(logits, d(x, c))
    with pytest.raises(ValueError, match="no auxiliary classifier"):
        plain(x, c, with_classes=True)


def separable_data(n_per_class: int = 16) -> TrainData:
    """Three classes anyone can tell apart: a bright top half, a bright left half, a bright centre."""
    rng = np.random.default_rng(0)
    masks = np.zeros((3, 8, 8), dtype=bool)
    masks[0, :4], masks[1, :, :4], masks[2, 2:6, 2:6] = True, True, True
    labels = np.repeat(np.arange(3), n_per_class)
    noise = rng.integers(0, 40, (len(labels), 1, 8, 8))
    images = np.where(masks[labels][:, None], 215 + noise, noise).astype(np.uint8)
    return TrainData(images, labels, ["top", "left", "centre"], "separable", "0" * 64)


def test_auxiliary_classifier_learns_the_real_classes_and_names_the_fakes(tmp_path):
    cfg = TrainConfig(**{**TINY, "width": 8, "ac_weight": 1.0, "augment": "none", "steps": 100,
                         "r1_gamma": 0.0}).validate()
    trainer = Trainer(cfg, separable_data(), tmp_path)
    history = [trainer.train_step() for _ in range(cfg.steps)]
    assert {"ac_d", "ac_g"} <= set(history[0])
    early = np.mean([float(h["ac_d"]) for h in history[:5]])
    late = np.mean([float(h["ac_d"]) for h in history[-5:]])
    assert early > 1.0 and late < 0.2  # chance is ln 3 ≈ 1.1: D's head learns to name the reals
    reals = trainer._to_float(trainer.images)
    with torch.no_grad():
        _, classes = trainer.D.eval()(reals, trainer.labels, with_classes=True)
    assert float((classes.argmax(1) == trainer.labels).float().mean()) > 0.9
    # and G's fakes are named as the classes they were conditioned on (its loss pays when they are not)
    c = torch.arange(48) % 3
    with torch.no_grad():
        fakes = trainer.G.eval()(torch.randn(48, cfg.z_dim, generator=torch.Generator().manual_seed(1)), c)
        _, classes = trainer.D(fakes, c, with_classes=True)
    assert float((classes.argmax(1) == c).float().mean()) > 0.9


@pytest.mark.parametrize("kernel", [1, 3])
def test_discriminator_head_kernel(kernel):
    cfg = TrainConfig(**{**TINY, "d_head_kernel": kernel}).validate()
    torch.manual_seed(0)
    _, d = build_networks(cfg)
    c4 = d.embed.weight.shape[1]
    assert d.conv_out.weight.shape == (c4, c4 + 1, kernel, kernel)  # + 1: the minibatch-stddev channel
    assert d(torch.rand(4, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 0])).shape == (4,)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(3, 16, 8, 8), (2, 24, 4, 4), (2, 5, 3, 3), (2, 1, 4, 4), (2, 200, 2, 2)])
@pytest.mark.parametrize("channels_last", [True, False])
def test_channel_affine_is_the_broadcast_affine(dtype, shape, channels_last):
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(shape).to(dtype).contiguous(memory_format=fmt)
    scale, shift = torch.randn(shape[:2]), torch.randn(shape[:2])
    got = channel_affine(x, scale, shift)
    # The same elementwise arithmetic, whichever layout it runs in: equal bit for bit.
    assert torch.equal(got, torch.addcmul(shift[:, :, None, None].to(dtype), x, scale[:, :, None, None].to(dtype)))
    assert got.dtype == dtype and got.is_contiguous(memory_format=fmt)


@pytest.mark.parametrize("shape", [(8, 6, 4, 4), (6, 3, 2, 2), (5, 1, 4, 4)])
def test_minibatch_stddev_keeps_the_layout_and_the_values(shape):
    torch.manual_seed(0)
    x = torch.randn(shape)
    nchw, cl = minibatch_stddev(x), minibatch_stddev(x.contiguous(memory_format=torch.channels_last))
    assert nchw.shape == (shape[0], shape[1] + 1, *shape[2:]) and nchw.is_contiguous()
    if shape[1] > 1:  # (a one-channel map is both layouts at once)
        assert cl.is_contiguous(memory_format=torch.channels_last) and not cl.is_contiguous()
    assert torch.equal(cl, nchw)
    # the extra channel: the within-group std, one value per group of 4 (or fewer when the batch does not divide)
    group = 4 if shape[0] % 4 == 0 else 3 if shape[0] % 3 == 0 else 1
    first = (x[:group].var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    assert torch.allclose(nchw[0, -1], first.expand(shape[2:]), atol=1e-6)


def test_the_g_step_freezes_d_and_the_step_thaws_it(tmp_path):
    trainer = Trainer(TrainConfig(**TINY).validate(), tiny_data(), tmp_path / "run")
    seen, d_grads = [], {}
    hook = trainer.D.register_forward_pre_hook(
        lambda m, _: seen.append((m.training, all(p.requires_grad for p in m.parameters()),
                                  all(s.training == m.training for s in m.modules()))))
    trainer.opt_d.register_step_post_hook(
        lambda *_: d_grads.update({n: p.grad.clone() for n, p in trainer.D.named_parameters()}))
    trainer.train_step()
    hook.remove()
    # D step with R1 (step 0): two passes in training mode; the G step: one in eval mode without weight grads
    assert seen == [(True, True, True), (True, True, True), (False, False, True)]
    assert trainer.D.training and all(p.requires_grad for p in trainer.D.parameters())
    assert all(m.training for m in trainer.D.modules())
    # the G step's backward went through D without adding to its weights' gradients
    assert d_grads and all(torch.equal(p.grad, d_grads[n]) for n, p in trainer.D.named_parameters())


def r1_weights(tmp_path, name: str, **extra) -> dict[str, torch.Tensor]:
    cfg = TrainConfig(**{**TINY, "r1_every": 1, "augment": "none", "steps": 2, **extra}).validate()
    trainer = Trainer(cfg, tiny_data(), tmp_path / name)
    for _ in range(2):
        trainer.train_step()
    return {k: v.clone() for k, v in trainer.D.state_dict().items()}


def test_r1_is_estimated_on_r1_samples_reals(tmp_path):
    whole = r1_weights(tmp_path, "none", r1_gamma=10.0, r1_samples=None)
    # r1_samples at or above the batch is the whole batch: the same computation, the same weights
    for k, v in r1_weights(tmp_path, "batch", r1_gamma=10.0, r1_samples=TINY["batch_size"]).items():
        assert torch.equal(v, whole[k]), k
    # a subset is another estimate of the penalty; without R1 the subset size changes nothing
    subset = r1_weights(tmp_path, "subset", r1_gamma=10.0, r1_samples=4)
    assert any(not torch.equal(v, whole[k]) for k, v in subset.items())
    off_a, off_b = r1_weights(tmp_path, "off4", r1_gamma=0.0, r1_samples=4), r1_weights(tmp_path, "off8", r1_gamma=0.0)
    assert all(torch.equal(v, off_b[k]) for k, v in off_a.items())
    assert any(not torch.equal(v, off_a[k]) for k, v in whole.items())  # and R1 did act


def test_label_changes_generated_image():
    cfg = TrainConfig(**TINY).validate()
    torch.manual_seed(0)
    g, _ = build_networks(cfg)
    with torch.no_grad():
        g.embed.weight.normal_()
        z = torch.randn(4, cfg.z_dim)
        assert not torch.equal(g(z, torch.zeros(4, dtype=torch.long)), g(z, torch.ones(4, dtype=torch.long)))


@pytest.mark.parametrize("extra", [{}, {"augment": "ada", "ada_interval": 1, "r1_gamma": 1.0, "r1_every": 2,
                                        "r1_samples": 4, "loss": "nonsat", "arch": "resnet", "d_head_kernel": 1},
                                   {"ac_weight": 0.5, "edge_convs": False}, {"class_balanced": False}])
def test_resume_is_bitwise_exact(tmp_path, extra):
    data = tiny_data()
    cfg = TrainConfig(**{**TINY, **extra}).validate()
    straight = Trainer(cfg, data, tmp_path / "straight")
    assert straight.run().status == "done"

    half = Trainer(dataclasses.replace(cfg, steps=2), data, tmp_path / "half")
    first = half.run()
    assert first.step == 2 and first.checkpoint.exists()
    resumed = Trainer(cfg, data, tmp_path / "resumed")
    resumed.resume_from(first.checkpoint)
    assert resumed.run().step == 4

    a, b = all_tensors(straight), all_tensors(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert straight.ada.state_dict() == resumed.ada.state_dict()
    assert torch.equal(straight.gen.get_state(), resumed.gen.get_state())
    # and training actually moved the weights
    fresh = Trainer(cfg, data, tmp_path / "fresh")
    assert not torch.equal(fresh.G.fc.weight, straight.G.fc.weight)


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])  # Ctrl-C; kill, timeout, docker stop
def test_a_signal_in_the_middle_of_a_step_stops_after_it_and_resumes_exactly(tmp_path, signum):
    import os
    import signal

    data = tiny_data()
    cfg = TrainConfig(**{**TINY, "steps": 4}).validate()
    straight = Trainer(cfg, data, tmp_path / "straight")
    straight.run()

    stopped = Trainer(dataclasses.replace(cfg, steps=100), data, tmp_path / "stopped")
    calls = []

    def d_forward(*args, **kwargs):  # D passes: step 1 has three (with R1), step 2's first is in its D step
        calls.append(1)
        if len(calls) == 4:
            os.kill(os.getpid(), getattr(signal, signum))
        return type(stopped.D).forward(stopped.D, *args, **kwargs)

    heard = []

    def own_handler(sig, frame):  # the embedding process's handler, e.g. the app worker's stop event
        heard.append(sig)
        raise KeyboardInterrupt  # as Python's Ctrl-C default and the CLI's SIGTERM do: it must not land mid-step

    stopped.D.forward = d_forward
    previous = signal.signal(getattr(signal, signum), own_handler)
    try:
        result = stopped.run()
        assert signal.getsignal(getattr(signal, signum)) is own_handler  # put back after the run
    finally:
        signal.signal(getattr(signal, signum), previous)
    del stopped.D.forward
    assert result.status == "interrupted" and result.step == 2
    assert heard == [getattr(signal, signum)]

    resumed = Trainer(cfg, data, tmp_path / "resumed")
    resumed.resume_from(result.checkpoint)
    assert resumed.run().step == 4
    a, b = all_tensors(straight), all_tensors(resumed)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert torch.equal(straight.gen.get_state(), resumed.gen.get_state())


def test_run_folder_contents(tmp_path):
    result = Trainer(TrainConfig(**TINY).validate(), tiny_data(), tmp_path).run()
    lines = (tmp_path / "stats.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert {"loss_d", "loss_g", "p", "images_per_s", "diversity"} <= set(__import__("json").loads(lines[-1]))
    assert sorted(p.name for p in (tmp_path / "grids" / "step0000004").iterdir()) == ["class000_a.png", "class001_b.png", "class002_c.png"]
    assert (tmp_path / "grids" / "step0000004.png").exists()
    payload = load_checkpoint(result.checkpoint)
    assert payload["step"] == 4 and payload["dataset"]["name"] == "tiny"


def test_should_stop_saves_a_checkpoint(tmp_path):
    calls = iter([False, False, True])
    result = Trainer(TrainConfig(**{**TINY, "steps": 100}).validate(), tiny_data(), tmp_path).run(
        should_stop=lambda: next(calls))
    assert result.status == "cancelled" and result.step == 2
    assert load_checkpoint(result.checkpoint)["step"] == 2


def test_the_line_a_stop_adds_for_the_final_diversity_keeps_the_throughput(tmp_path):
    calls = iter([False] * 3 + [True])
    cfg = TrainConfig(**{**TINY, "steps": 100, "stats_every": 1, "diversity_every": 1000}).validate()
    Trainer(cfg, tiny_data(), tmp_path).run(should_stop=lambda: next(calls))
    lines = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines[-2:]] == [3, 3] and "diversity" in lines[-1]
    assert lines[-1]["images_per_s"] == lines[-2]["images_per_s"] > 0


def test_a_run_stopped_between_monitor_readings_ends_with_one(tmp_path):
    # Stopped after step 3, which has a plain stats line (stats_every=1) but no diversity reading (every 2).
    calls = iter([False, False, False, True])
    result = Trainer(TrainConfig(**{**TINY, "steps": 100}).validate(), tiny_data(), tmp_path).run(
        should_stop=lambda: next(calls))
    lines = [__import__("json").loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    assert result.step == 3 and [line["step"] for line in lines] == [1, 2, 3, 3]
    assert "diversity" not in lines[-2] and set(lines[-1]["diversity"]) == {"0", "1", "2"}
    assert result.last_stats["diversity"] == lines[-1]["diversity"]


def test_minutes_budget_stops(tmp_path):
    cfg = TrainConfig(**{**TINY, "steps": None, "minutes": 1e-9}).validate()
    result = Trainer(cfg, tiny_data(), tmp_path).run()
    assert result.status == "done" and result.step == 0 and result.checkpoint.exists()


def test_ada_p_follows_sign_of_d_on_reals():
    ada = AdaTuner(target=0.6, interval=2, kimg=1.0, batch_size=10)
    ada.observe(torch.ones(10))
    assert ada.p == 0.0  # adjusted only every `interval` steps
    ada.observe(torch.ones(10))
    assert ada.p == pytest.approx(10 * 2 / 1000)  # r_t = 1 > 0.6: D overfits, more augmentation
    for _ in range(4):
        ada.observe(-torch.ones(10))
    assert ada.p == 0.0  # r_t = -1 < 0.6: p falls, clipped at 0
    for _ in range(2000):
        ada.observe(torch.ones(10))
    assert ada.p == 1.0


def test_ada_p_rises_in_training_when_d_overfits(tmp_path):
    cfg = TrainConfig(**{**TINY, "augment": "ada", "ada_interval": 1, "ada_kimg": 0.1, "lr_d": 5e-3, "lr_g": 1e-6, "r1_gamma": 0.0,
                                 "steps": 20}).validate()
    t = Trainer(cfg, tiny_data(), tmp_path)
    t.run()
    lines = [__import__("json").loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    # D separates reals from a frozen G (r_t above the 0.6 target), so p rises; once p is high, r_t may fall back
    assert max(line["ada_rt"] for line in lines) > 0.6
    assert t.ada.p > 0.3 and lines[-1]["p"] > lines[0]["p"]


def test_diff_augment_deterministic_and_shape():
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    policy = ("color", "translation", "cutout")
    a = diff_augment(x, policy, torch.Generator().manual_seed(1))
    b = diff_augment(x, policy, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(diff_augment(x, policy, torch.Generator().manual_seed(1), p=0.0), x)
    x.requires_grad_(True)
    diff_augment(x, policy, torch.Generator().manual_seed(2)).sum().backward()
    assert x.grad is not None  # differentiable, so G learns through it


def test_ada_class_floor_augments_rare_classes_in_proportion_to_what_they_lack():
    floor = class_floor(np.array([0] * 10 + [1] * 12 + [2] * 2 + [3] * 10), num_classes=5)
    assert torch.allclose(floor, torch.tensor([0.0, 0.0, 0.8, 0.0, 0.0]))  # median 10; class 4 is absent
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    out = diff_augment(x, ("color",), torch.Generator().manual_seed(0), p=torch.tensor([0.0, 1.0, 0.0, 1.0]))
    assert torch.equal(out[[0, 2]], x[[0, 2]]) and not torch.equal(out[1], x[1]) and not torch.equal(out[3], x[3])


def test_ada_trainer_applies_the_floor_per_class(tmp_path):
    labels = np.array([0] * 18 + [1] * 18 + [2] * 4)
    data = tiny_data()
    data.labels = labels
    t = Trainer(TrainConfig(**{**TINY, "augment": "ada"}).validate(), data, tmp_path)
    assert t.floor is not None and t.floor[2] > 0.75 and t.floor[0] == 0.0
    t.train_step()  # per-image probabilities flow through the D and G steps
    off = Trainer(TrainConfig(**{**TINY, "augment": "ada", "ada_class_floor": False}).validate(), data, tmp_path / "b")
    assert off.floor is None


def test_class_balanced_sampler_draws_rare_classes_as_often():
    labels = np.array([0] * 1000 + [1] * 10 + [2] * 2)
    idx = ClassBalancedSampler(labels, balanced=True).draw(30000, torch.Generator().manual_seed(0))
    freq = np.bincount(labels[idx.numpy()], minlength=3) / 30000
    assert np.allclose(freq, 1 / 3, atol=0.02)
    idx = ClassBalancedSampler(labels, balanced=False).draw(30000, torch.Generator().manual_seed(0))
    assert np.bincount(labels[idx.numpy()], minlength=3)[2] < 300


def test_diversity_monitor_flags_collapse():
    data = tiny_data()
    real = torch.from_numpy(data.images).float() / 127.5 - 1
    monitor = DiversityMonitor(real, torch.from_numpy(data.labels), 3, threshold=0.5, n_per_class=8)

    class Constant(torch.nn.Module):
        def forward(self, z, c):
            return torch.zeros(len(z), 1, 8, 8)

    class Noise(torch.nn.Module):
        def forward(self, z, c):
            return torch.rand(len(z), 1, 8, 8, generator=torch.Generator().manual_seed(int(c[0]))) * 2 - 1

    assert monitor.measure(Constant(), 8, torch.device("cpu")).flagged == [0, 1, 2]
    report = monitor.measure(Noise(), 8, torch.device("cpu"))
    assert report.flagged == [] and all(r > 0.5 for r in report.ratios.values())


def test_the_diversity_monitor_is_handed_the_stored_images_not_a_float_copy_of_all(tmp_path, monkeypatch):
    # The trainer converted every training image to float for the monitor, which measures 64 a class: 2.4 GB at
    # train start for 48,000 64² colour images. Given the uint8 images, it converts only those it measures.
    from ganaug_core.training import loop

    handed = []
    real_init = DiversityMonitor.__init__
    monkeypatch.setattr(loop.DiversityMonitor, "__init__",
                        lambda self, images, *a, **k: handed.append(images.dtype) or real_init(self, images, *a, **k))
    data = tiny_data()
    Trainer(TrainConfig(**TINY).validate(), data, tmp_path / "run")
    assert handed == [torch.uint8]
    labels = torch.from_numpy(data.labels)
    stored = DiversityMonitor(torch.from_numpy(data.images), labels, 3, threshold=0.5, n_per_class=8)
    as_float = DiversityMonitor(torch.from_numpy(data.images).float() / 127.5 - 1, labels, 3, threshold=0.5,
                                n_per_class=8)
    assert stored.real == pytest.approx(as_float.real, rel=1e-6)


def test_the_diversity_monitor_says_what_a_class_of_one_real_image_is_measured_against(tmp_path):
    # A class of one real image has no real spread: its ratio was against the other classes' median and read
    # "1.04 of real" all the same; with every class a single image, it was against an arbitrary 1.0.
    import json

    from ganaug_core.runstats import diversity_said, last_diversity

    data = tiny_data()
    real = torch.from_numpy(data.images).float() / 127.5 - 1
    labels = torch.from_numpy(np.array([0] * 30 + [1] * 9 + [2]))  # class 2: one real image

    class Noise(torch.nn.Module):
        def forward(self, z, c):
            return torch.rand(len(z), 1, 8, 8, generator=torch.Generator().manual_seed(int(c[0]))) * 2 - 1

    monitor = DiversityMonitor(real, labels, 3, threshold=0.5, n_per_class=8)
    report = monitor.measure(Noise(), 8, torch.device("cpu"))
    assert report.vs_other_classes == [2] and sorted(report.ratios) == [0, 1, 2]
    (tmp_path / "stats.jsonl").write_text(json.dumps({"step": 4, **report.to_dict()}) + "\n")
    reading = last_diversity(tmp_path)
    assert diversity_said(reading, 0) == f"{report.ratios[0]:.2f} of real"
    assert diversity_said(reading, 2) == (f"{report.ratios[2]:.2f} of the other classes' real spread: its one real "
                                          "image has none")

    alone = DiversityMonitor(real[:3], torch.tensor([0, 1, 2]), 3, threshold=0.5, n_per_class=8)
    report = alone.measure(Noise(), 8, torch.device("cpu"))
    assert report.ratios == {} and report.flagged == []  # nothing to measure against: not measured, not flagged
    assert diversity_said(report.to_dict(), 1).startswith("not measured")


@pytest.mark.parametrize("field,value,message", [
    ("resolution", 12, "power of two"), ("resolution", 256, "power of two"), ("steps", 0, "--steps"),
    ("minutes", 0.0, "--minutes"), ("arch", "vit", "--arch"), ("augment", "mixup", "--augment"),
    ("channels", 2, "channels"), ("diffaug_policy", "color,blur", "blur"), ("r1_samples", 0, "r1_samples"),
    ("d_head_kernel", 2, "d_head_kernel"), ("ac_weight", -0.1, "--ac-weight"),
])
def test_config_validation_names_the_field(field, value, message):
    with pytest.raises(GanaugError, match=message):
        TrainConfig(**{**TINY, field: value}).validate()


def test_checkpoint_refuses_corrupt_and_foreign_files(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(GanaugError, match="not a readable ganaug checkpoint"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(GanaugError, match="not a ganaug checkpoint"):
        load_checkpoint(foreign)
    pickled = tmp_path / "pickled.pt"
    torch.save(torch.nn.Linear(2, 2), pickled)  # an object pickle: refused by weights_only, never executed
    with pytest.raises(GanaugError, match="not a readable ganaug checkpoint"):
        load_checkpoint(pickled)


def test_mode_seeking_loss_punishes_identical_pairs():
    from ganaug_core.training.loss import mode_seeking_loss

    z = torch.randn(8, 4)
    varied = torch.randn(8, 1, 8, 8)
    same = torch.cat([varied[:4], varied[:4]])
    assert mode_seeking_loss(same, z, 4) > 100 * mode_seeking_loss(varied, z, 4)


def test_folded_eval_norm_matches_batch_norm():
    from ganaug_core.training.networks import ConditionalBatchNorm

    norm = ConditionalBatchNorm(5, 3)
    with torch.no_grad():
        norm.gain.weight.normal_()
        norm.bias.weight.normal_()
        norm.bn.running_mean.normal_()
        norm.bn.running_var.uniform_(0.5, 2.0)
    x, c = torch.randn(4, 5, 6, 6), torch.tensor([0, 1, 2, 1])
    norm.eval()
    expected = norm.bn(x) * norm.gain(c)[:, :, None, None] + norm.bias(c)[:, :, None, None]
    assert torch.allclose(norm(x, c), expected, atol=1e-5)


def test_stored_config_without_later_fields_reads_back_as_it_ran():
    later = ("ada_class_floor", "d_head_kernel", "r1_samples", "edge_convs", "ac_weight")
    old = {k: v for k, v in TrainConfig(**TINY).to_dict().items() if k not in later}
    stored = TrainConfig.from_dict(old, stored=True)
    # how checkpoints from before these fields ran: no class floor, a 3×3 head, R1 on the whole batch, edge convs,
    # no auxiliary classifier
    assert (stored.ada_class_floor, stored.d_head_kernel, stored.r1_samples, stored.edge_convs,
            stored.ac_weight) == (False, 3, None, True, 0.0)
    fresh = TrainConfig.from_dict(old)
    assert [getattr(fresh, k) for k in later] == [getattr(TrainConfig, k) for k in later]
    with pytest.raises(GanaugError, match="unknown training config field"):
        TrainConfig.from_dict({**old, "r2_gamma": 1.0}, stored=True)


def many_classes_data(num_classes: int = 60) -> TrainData:
    """Two 8×8 images per class, class names like a clinic's: long, with spaces and accents."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(num_classes), 2)
    images = rng.integers(0, 256, (len(labels), 1, 8, 8), dtype=np.uint8)
    names = [f"naevus atypique — sous-type {c:03d}" for c in range(num_classes)]
    return TrainData(images, labels, names, "many", "0" * 64)


def count_forward_calls(module: torch.nn.Module) -> list[torch.Tensor]:
    """The class labels of every forward pass of `module` from now on, one tensor per pass."""
    calls: list[torch.Tensor] = []
    module.register_forward_hook(lambda m, args, out: calls.append(args[1].detach().cpu().clone()))
    return calls


def test_with_many_classes_the_monitor_and_the_grids_sample_a_few_passes_of_the_same_latents(tmp_path):
    """One forward pass per class of 32 images cost every interval of a 100-class run 1.4× (quiet) to 2.4× (busy
    machine) the time of passes of 256; batched, the latents and hence the samples are those of class after class."""
    cfg = TrainConfig(**{**TINY, "num_classes": 60}).validate()
    trainer = Trainer(cfg, many_classes_data(), tmp_path)
    calls = count_forward_calls(trainer.G_ema)
    report = trainer.monitor.measure(trainer.G_ema, cfg.z_dim, trainer.device)
    assert len(calls) == 8  # 60 classes × 32 samples in passes of 256 (8 classes each)
    assert sorted(torch.cat(calls).unique().tolist()) == list(range(60))
    gen = torch.Generator().manual_seed(MONITOR_SEED)
    latents = [torch.randn(32, cfg.z_dim, generator=gen) for _ in range(60)]  # class after class, as it was drawn
    with torch.no_grad():
        for c in (0, 7, 8, 59):  # the first class, the last of a pass, the first of the next, the last class
            alone = trainer.G_ema(latents[c], torch.full((32,), c))
            expected = mean_pairwise_distance(pooled_pixels(alone)) / trainer.monitor.real[c]
            assert report.ratios[c] == pytest.approx(expected, rel=1e-5)

    calls.clear()
    overview = trainer.write_grids()
    assert len(calls) == 15  # 60 classes × 64 samples in passes of 256 (4 classes each)
    files = sorted((overview.parent / overview.stem).iterdir())
    assert len(files) == 60 and files[-1].name == "class059_naevus_atypique___sous-type_059.png"


def test_standing_statistics_see_every_class_when_there_are_more_than_a_batch_holds(tmp_path):
    """With 100 classes, batches of 64 labelled `arange(64) % 100` left classes 64–99 out of G's batch-norm
    statistics, which every sample of theirs is then normalised with."""
    cfg = TrainConfig(**{**TINY, "num_classes": 100}).validate()
    trainer = Trainer(cfg, many_classes_data(100), tmp_path)
    calls = count_forward_calls(trainer.G_ema)
    standing_stats(trainer.G_ema, cfg.num_classes, cfg.z_dim, trainer.device)
    seen = torch.bincount(torch.cat(calls), minlength=100)
    assert int(seen.min()) >= 5 and int(seen.max()) <= 6  # 8 batches of 64: every class 5 or 6 times
