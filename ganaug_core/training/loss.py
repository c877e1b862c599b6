"""GAN losses on D's logits: hinge (default) and non-saturating, plus the optional R1 penalty on reals and the
mode-seeking term on G's same-class pairs."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if kind == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    fake_logits = fake_logits.float()
    if kind == "hinge":
        return -fake_logits.mean()
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """E‖∇ₓD(x)‖² on reals; `real_images` must have requires_grad set before D saw them."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def mode_seeking_loss(fake: torch.Tensor, z: torch.Tensor, half: int) -> torch.Tensor:
    """MSGAN (Mao et al., 2019): the inverse of image distance per latent distance over same-class pairs."""
    n = fake.shape[0] - half  # sample i < half and sample n + i share a class
    d_img = (fake[:half].float() - fake[n:].float()).abs().mean()
    d_z = (z[:half] - z[n:]).abs().mean()
    return 1.0 / (d_img / d_z + 1e-5)
