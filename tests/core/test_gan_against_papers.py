"""The GAN engine against its papers' definitions: DiffAugment's ranges (Zhao et al., 2020), and a conditional GAN's
reals and fakes drawn from one class distribution in D's minibatch-stddev groups of one class (StyleGAN's mbstd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug_core.training import TrainConfig, Trainer
from ganaug_core.training.augment import AdaTuner, _color, _cutout, _translation
from ganaug_core.training.class_balance import ClassBalancedSampler
from ganaug_core.training.standing_stats import STANDING_STATS_BATCHES
from tests.core.test_gan_training import TINY, count_forward_calls, tiny_data

SHARE = np.array([30, 7, 3]) / 40  # tiny_data's classes


def test_without_class_balance_reals_and_fakes_follow_the_datas_classes():
    """A plain conditional GAN draws the fakes' labels as the data has them. The fakes' were uniform while the reals
    followed the data, so D could call a rare label fake without looking at the image."""
    labels = tiny_data().labels
    sampler, gen = ClassBalancedSampler(labels, balanced=False), torch.Generator().manual_seed(0)
    reals = np.bincount(labels[sampler.draw(40000, gen, group=4).numpy()], minlength=3) / 40000
    fakes = np.bincount(sampler.draw_classes(40000, gen, group=4).numpy(), minlength=3) / 40000
    assert np.allclose(reals, SHARE, atol=0.02) and np.allclose(fakes, SHARE, atol=0.02)
    balanced = ClassBalancedSampler(labels, balanced=True).draw_classes(40000, gen, group=4).numpy()
    assert np.allclose(np.bincount(balanced, minlength=3) / 40000, 1 / 3, atol=0.02)


# batch size → (D's minibatch-stddev group: the largest of 4, 3, 2, 1 that divides it; how many fakes repeat the
# first ones' classes: half the batch in whole groups, or one group of a class throughout)
LAYOUTS = {8: (4, 4), 12: (4, 4), 10: (2, 4), 9: (3, 3), 7: (1, 3), 4: (4, 2)}


@pytest.mark.parametrize("balanced,batch,r1_samples", [(True, 8, 16), (False, 8, 16), (True, 8, 6), (True, 12, 16),
                                                       (False, 10, 16), (True, 9, 16), (True, 7, 16), (True, 4, 16)])
def test_every_minibatch_stddev_group_d_sees_is_one_class(tmp_path, monkeypatch, balanced, batch, r1_samples):
    """D's minibatch-stddev feature is the spread of a group of consecutive images, laid out as runs of one class,
    all real or all fake. Without class balance the reals came in any order: their groups mixed classes (a larger
    spread) where the fakes' never did, a difference D could tell reals from fakes by. At a batch size that is not a
    multiple of 8 the fakes' runs, or the groups of 4 themselves, straddled two classes or reals and fakes (at 12,
    two of the fakes' three groups whenever their two classes differed); so did R1's pass on 6 reals."""
    from ganaug_core.training import networks

    cfg = TrainConfig(**{**TINY, "class_balanced": balanced, "batch_size": batch, "r1_samples": r1_samples,
                         "mode_seeking": 0.5}).validate()
    trainer = Trainer(cfg, tiny_data(), tmp_path)
    groups, plain = [], networks.minibatch_stddev

    def recording(x, group=4):
        g = min(group, x.shape[0])
        while x.shape[0] % g:  # as minibatch_stddev falls back where the group does not divide the batch
            g -= 1
        groups.append(g)
        return plain(x, group)

    monkeypatch.setattr(networks, "minibatch_stddev", recording)
    calls, fakes = count_forward_calls(trainer.D), count_forward_calls(trainer.G)
    for _ in range(6):
        trainer.train_step()
    assert len(calls) == len(groups) == 6 * 2 + 2  # the D and G steps, and R1 at steps 0 and 4
    for c, g in zip(calls, groups):
        assert g == LAYOUTS[batch][0] and batch % g == 0  # no group spans the reals and the fakes of the D step
        assert bool((c.view(-1, g) == c.view(-1, g)[:, :1]).all()), c.tolist()
    half = LAYOUTS[batch][1]
    assert all(torch.equal(c[:half], c[batch - half:]) for c in fakes)  # mode seeking's pairs share their class


def test_ada_p_stays_where_d_on_reals_meets_its_target():
    """StyleGAN2-ADA moves p by sign(r_t − target) · step: at the target it stays. It fell there; r_t is a multiple
    of 1/(batch · interval), which can equal the default target of 0.6 at a batch size that is a multiple of 5."""
    ada = AdaTuner(target=0.6, interval=1, kimg=1.0, batch_size=10, p=0.5)
    ada.observe(torch.tensor([1.0] * 8 + [-1.0] * 2))
    assert ada.last_rt == 0.6 and ada.p == 0.5
    ada.observe(torch.tensor([1.0] * 9 + [-1.0]))  # r_t = 0.8: D overfits, more augmentation
    assert ada.p == pytest.approx(0.51)
    ada.observe(torch.tensor([1.0] * 7 + [-1.0] * 3))  # r_t = 0.4: less
    assert ada.p == pytest.approx(0.5)


def test_without_class_balance_standing_statistics_hold_the_classes_as_training_did(tmp_path):
    """G's batch norms trained on batches of the data's class frequencies; the statistics it samples with must be
    measured on the same mix, each batch spanning every class."""
    trainer = Trainer(TrainConfig(**{**TINY, "class_balanced": False, "steps": 1}).validate(), tiny_data(), tmp_path)
    calls: list[torch.Tensor] = []  # the labels of G_ema's passes in training mode: the standing statistics'
    trainer.G_ema.register_forward_hook(lambda m, args, out: calls.append(args[1].clone()) if m.training else None)
    trainer.run()
    assert len(calls) == STANDING_STATS_BATCHES
    slots = sum(len(c) for c in calls)
    assert np.abs(np.bincount(torch.cat(calls).numpy(), minlength=3) - SHARE * slots).max() <= 1
    assert all(len(torch.unique(c)) == 3 for c in calls)


def test_diff_augment_transforms_have_the_reference_ranges():
    """DiffAugment's reference code: brightness + U[-0.5, 0.5), contrast × U[0.5, 1.5), translation by up to 1/8
    of the side with zeros shifted in, cutout of a square of half the side (clipped at the border)."""
    gen, n, side = torch.Generator().manual_seed(0), 2000, 16
    checker = (torch.arange(side).view(side, 1) + torch.arange(side)) % 2 * 2.0 - 1  # mean 0, ±1
    out = _color(checker.expand(n, 1, side, side).clone(), gen)
    brightness = out.mean(dim=(1, 2, 3))  # contrast keeps the mean, which is the brightness shift
    contrast = (out[:, 0, 0, 0] - brightness) / checker[0, 0]
    for value, low, high in ((brightness, -0.5, 0.5), (contrast, 0.5, 1.5)):
        assert value.min() >= low - 1e-6 and value.max() < high + 1e-6
        assert value.min() < low + 0.01 and value.max() > high - 0.01

    ones = torch.ones(n, 1, side, side)
    shifted = _translation(ones, gen)[:, 0]
    empty_rows = (shifted == 0).all(dim=2).sum(dim=1)  # rows shifted in, all zeros
    empty_cols = (shifted == 0).all(dim=1).sum(dim=1)
    assert int(empty_rows.max()) == int(empty_cols.max()) == side // 8
    kept = shifted.sum(dim=(1, 2))
    assert torch.equal(kept, ((side - empty_rows) * (side - empty_cols)).float())  # the rest is the image, whole

    cut = _cutout(ones, gen)[:, 0] == 0
    rows, cols = cut.any(dim=2).sum(dim=1), cut.any(dim=1).sum(dim=1)
    assert torch.equal(cut.sum(dim=(1, 2)), rows * cols)  # one rectangle of zeros per image
    assert int(rows.max()) == int(cols.max()) == side // 2 and int(rows.min()) == side // 4  # centred up to the border
