"""Class-conditional generator and discriminator, `G(z, c)` and `D(x, c)`, in a DCGAN-like and a residual form.

G injects the label twice: a learned class embedding is concatenated to z, and every batch norm is class-
conditional (per-class gain and bias), so rare classes share all convolution weights with common ones and
differ only by a few vectors — the reason a class with 4 images can be learned at all.
D uses spectral norm on every layer, a minibatch standard-deviation channel before its head (StyleGAN) and a
projection head for the label (Miyato & Koyama, 2018). The head's conv on the 4×4 map is 1×1 by default: the fc
after it already mixes all 16 positions, and StyleGAN's 3×3 there cost a fifth of D's FLOPs at 32² for no
measurable gain in the rare classes (BENCHMARKS.md). With `ac_weight > 0` (the default) D also has an auxiliary
class head (AC-GAN), a cosine classifier on the same features, trained on real images only; G pays when it does not
name a fake as the class it was conditioned on. The projection tells D whether an image fits its label; the head
gives G a direct gradient toward class identity, which is what the rarest classes lacked (BENCHMARKS.md).
The DCGAN family has, by default, a 3×3 conv at full resolution at each edge (G's features → image, image → D's
features). Without them (`edge_convs=False`, DCGAN's own layout) G's last transposed conv writes the image and
D's first strided conv reads it: ≈ 30 % fewer FLOPs per training step at 32², and no 1–3-channel conv (those run
at a tenth of the matmul rate). In 8 two-minute digits runs each, the rare classes were learned as well either way
(within the runs' noise); with the auxiliary class head at 0.5, one of 6 runs without them collapsed to one image
per class, which none of 13 runs with them did. The default keeps them (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganaug_core.training.config import TrainConfig


AC_TEMPERATURE = 0.1  # the cosine classifier's logits span ±1 / this


def stage_channels(cfg: TrainConfig, res: int) -> int:
    """Channels of the feature map at side `res`: `width` at full resolution, doubling per halving, capped."""
    return int(min(cfg.width * 8, cfg.width * cfg.resolution // res))


def stage_resolutions(cfg: TrainConfig) -> list[int]:
    """4, 8, ..., resolution."""
    return [4 * 2**k for k in range(int(math.log2(cfg.resolution // 4)) + 1)]


def channel_affine(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """x * scale + shift with one scale and shift per (sample, channel): x (N, C, H, W), scale and shift (N, C).

    On a channels-last map the plain broadcast runs an inner loop of only C elements, which in bf16 costs 5–8× a
    contiguous pass (5 ms against 0.6–0.9 ms for 256×16×32×32 on 2 cores). Viewing each row of k pixels as one
    vector of k·C values, with scale and shift repeated k times, gives the same arithmetic in long runs: the same
    bytes, and 1.13× the images/s of sampling at 32². Its backward through the row view measured slower, so
    training keeps the plain broadcast.
    """
    n, c, h, w = x.shape
    scale, shift = scale.to(x.dtype), shift.to(x.dtype)
    k = 1
    while k * c < 128 and (h * w) % (2 * k) == 0:
        k *= 2
    if k == 1 or x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
        return torch.addcmul(shift[:, :, None, None], x, scale[:, :, None, None])
    rows = x.permute(0, 2, 3, 1).reshape(n, h * w // k, k * c)  # a view: channels-last memory is (N, H, W, C)
    out = torch.addcmul(shift.repeat(1, k)[:, None, :], rows, scale.repeat(1, k)[:, None, :])
    return out.view(n, h, w, c).permute(0, 3, 1, 2)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain and bias are looked up per class (initialised to the identity)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if not self.training:
            # Sampling: normalisation and the class affine folded into one per-sample scale and shift (one pass).
            scale = self.gain(c) * torch.rsqrt(self.bn.running_var + self.bn.eps)
            return channel_affine(x, scale, self.bias(c) - self.bn.running_mean * scale)
        # Gain and bias in the activations' dtype: under bf16 autocast the whole map stays bf16 (no fp32 round trip).
        h = self.bn(x)
        return torch.addcmul(self.bias(c)[:, :, None, None].to(h.dtype), h, self.gain(c)[:, :, None, None].to(h.dtype))


# Output phase of a 4×4, stride-2, padding-1 transposed conv → (its kernel tap at the same input row, its tap at
# the neighbouring input row, which neighbour): output row 2r takes taps 1 (input row r) and 3 (row r − 1), row
# 2r + 1 takes taps 2 (row r) and 0 (row r + 1); likewise for columns.
_PHASE_TAPS = ((1, 3, -1), (2, 0, +1))


def _shifted(direction: int) -> tuple[slice, slice]:
    """(destination, source) slices that add an input's neighbour in `direction` (−1 or +1) along one axis."""
    return (slice(1, None), slice(None, -1)) if direction < 0 else (slice(None, -1), slice(1, None))


def conv_transpose_4x4s2_phases(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """`conv_transpose2d(x, weight, bias, stride=2, padding=1)` for 4×4 kernels, as one GEMM and 16 shifted adds.

    Every input pixel's contribution to its 4×4 output patch is one row of a (16·C_out × C_in) by (C_in × N·H·W)
    product; each of the four output phases (even/odd row × even/odd column) then sums four of those taps at
    shifted positions. oneDNN's kernel writes 1–3 output channels at a tenth of its usual rate (7.5 ms for 256
    images, 32 → 1 channels, 16² → 32², on 2 Zen 3 cores); this takes 2.4–2.7 ms. It is used for sampling only:
    its backward would be slower than oneDNN's.
    """
    n, cin, h, w = x.shape
    cout = weight.shape[1]
    rows = x.permute(0, 2, 3, 1).reshape(n * h * w, cin)  # a view when x is channels-last
    taps = torch.mm(weight.permute(2, 3, 1, 0).reshape(16 * cout, cin).to(rows.dtype), rows.t())
    taps = taps.view(4, 4, cout, n, h, w)
    out = torch.empty(cout, n, h, 2, w, 2, dtype=taps.dtype, device=taps.device)
    b = bias.to(taps.dtype).view(cout, 1, 1, 1)
    for a, (ky, ky_next, dy) in enumerate(_PHASE_TAPS):
        y_dst, y_src = _shifted(dy)
        for e, (kx, kx_next, dx) in enumerate(_PHASE_TAPS):
            x_dst, x_src = _shifted(dx)
            dst = out[:, :, :, a, :, e]
            torch.add(taps[ky, kx], b, out=dst)
            dst[:, :, y_dst].add_(taps[ky_next, kx][:, :, y_src])
            dst[:, :, :, x_dst].add_(taps[ky, kx_next][:, :, :, x_src])
            dst[:, :, y_dst, x_dst].add_(taps[ky_next, kx_next][:, :, y_src, x_src])
    return out.view(cout, n, 2 * h, 2 * w).transpose(0, 1)


# The phase path's limit, as C_out × the input's side²: 64² × 1 and 32² × 3 outputs measured faster than oneDNN,
# 64² × 3 slower (BENCHMARKS.md).
PHASE_PATH_MAX = 1024


class ImageConvTranspose(nn.ConvTranspose2d):
    """The 4×4 stride-2 transposed conv that writes the image (1–3 channels). Sampling up to 64² × 1 channel or
    32² × 3 channels runs it as `conv_transpose_4x4s2_phases`; at 64² × 3 oneDNN's kernel measured faster.
    Same parameters as `nn.ConvTranspose2d`, so checkpoints do not see the difference."""

    def __init__(self, cin: int, cout: int):
        super().__init__(cin, cout, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if self.training or torch.is_grad_enabled() or self.out_channels * x.shape[-1] * x.shape[-2] > PHASE_PATH_MAX:
            return super().forward(x, output_size)
        return conv_transpose_4x4s2_phases(x, self.weight, self.bias)


class UpBlock(nn.Module):
    """DCGAN stage: CBN → ReLU → 4×4 transposed conv, stride 2 (2.25× fewer FLOPs than upsample + 3×3 conv)."""

    def __init__(self, cin: int, cout: int, num_classes: int, writes_image: bool = False):
        super().__init__()
        self.norm = ConditionalBatchNorm(cin, num_classes)
        self.conv = ImageConvTranspose(cin, cout) if writes_image else nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)

    def forward(self, x, c):
        return self.conv(F.relu(self.norm(x, c), inplace=True))


class ResUpBlock(nn.Module):
    """BigGAN-style residual up block with class-conditional norms."""

    def __init__(self, cin: int, cout: int, num_classes: int):
        super().__init__()
        self.norm1 = ConditionalBatchNorm(cin, num_classes)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = ConditionalBatchNorm(cout, num_classes)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x, c):
        h = F.interpolate(F.relu(self.norm1(x, c)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), c)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Generator(nn.Module):
    def __init__(self, cfg: TrainConfig):
        super().__init__()
        self.z_dim, self.num_classes = cfg.z_dim, cfg.num_classes
        self.resolution, self.channels = cfg.resolution, cfg.channels
        res = stage_resolutions(cfg)
        self.c0 = stage_channels(cfg, 4)
        self.embed = nn.Embedding(cfg.num_classes, cfg.z_dim)
        self.fc = nn.Linear(2 * cfg.z_dim, self.c0 * 16)
        block = ResUpBlock if cfg.arch == "resnet" else UpBlock
        self.blocks = nn.ModuleList(block(stage_channels(cfg, r), stage_channels(cfg, 2 * r), cfg.num_classes)
                                    for r in res[:-2])
        last, cl = stage_channels(cfg, res[-2]), stage_channels(cfg, cfg.resolution)
        self.norm_out: Optional[ConditionalBatchNorm] = None
        self.to_img: Optional[nn.Conv2d] = None
        if cfg.edge_convs:
            self.blocks.append(block(last, cl, cfg.num_classes))
            self.norm_out = ConditionalBatchNorm(cl, cfg.num_classes)
            self.to_img = nn.Conv2d(cl, cfg.channels, 3, padding=1)
        else:  # dcgan only (validated): the last transposed conv writes the image itself, as in DCGAN's paper
            self.blocks.append(UpBlock(last, cfg.channels, cfg.num_classes, writes_image=True))

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """z: (N, z_dim) float, c: (N,) long → images in [-1, 1], (N, C, R, R)."""
        h = self.fc(torch.cat([z, self.embed(c)], dim=1)).view(-1, self.c0, 4, 4)
        for blk in self.blocks:
            h = blk(h, c)
        if self.to_img is not None:
            h = self.to_img(F.relu(self.norm_out(h, c), inplace=True))
        return torch.tanh(h)


MBSTD_GROUP = 4  # D's minibatch-stddev group at most (StyleGAN's)


def mbstd_group(batch_size: int) -> int:
    """D's minibatch-stddev group at this batch size: the largest size up to MBSTD_GROUP that divides it.

    The loop draws reals and fakes in runs of this many images of one class; a group that did not divide the batch
    would span reals and fakes, or two classes, and D could tell reals from fakes by the feature alone. A prime batch
    size above 3 gets groups of one image: the feature is then a constant, off rather than misleading."""
    return next(g for g in range(min(MBSTD_GROUP, batch_size), 0, -1) if batch_size % g == 0)


def minibatch_stddev(x: torch.Tensor, group: int = MBSTD_GROUP) -> torch.Tensor:
    """Append one channel: the std of features across a group of samples, averaged (StyleGAN's mbstd).

    Groups are runs of `group` consecutive samples (fewer where `group` does not divide the batch). The training
    loop lays batches out so that each run is one class, either all real or all fake: the feature then measures
    within-class diversity, which is exactly what a conditionally collapsed generator lacks.
    """
    n, ch, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    y = x.float().contiguous().view(n // g, g, ch, h, w)
    y = (y - y.mean(dim=1, keepdim=True)).square().mean(dim=1)  # variance within each group, written out
    y = (y + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n/g,)
    y = y.repeat_interleave(g).reshape(n, 1, 1, 1).expand(n, 1, h, w).to(x.dtype)
    if x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
        return torch.cat([x, y], dim=1)
    # Channels-last in, channels-last out (a plain cat would return NCHW, and the conv after it would reorder).
    return torch.cat([x.permute(0, 2, 3, 1), y.permute(0, 2, 3, 1)], dim=3).permute(0, 3, 1, 2)


class DownBlock(nn.Module):
    """DCGAN stage: 4×4 conv, stride 2, leaky ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1))

    def forward(self, x):
        return F.leaky_relu(self.conv(x), 0.2, inplace=True)


class ResDownBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(cin, cin, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(cin, cout, 3, padding=1))
        self.skip = spectral_norm(nn.Conv2d(cin, cout, 1))

    def forward(self, x):
        h = self.conv2(F.leaky_relu(self.conv1(F.leaky_relu(x, 0.2)), 0.2))
        return F.avg_pool2d(h, 2) + self.skip(F.avg_pool2d(x, 2))


class Discriminator(nn.Module):
    def __init__(self, cfg: TrainConfig):
        super().__init__()
        res = stage_resolutions(cfg)[::-1]  # resolution, ..., 4
        ins = [stage_channels(cfg, r) for r in res[:-1]]
        self.from_img: Optional[nn.Conv2d] = None
        if cfg.edge_convs:
            self.from_img = spectral_norm(nn.Conv2d(cfg.channels, ins[0], 3, padding=1))
        else:  # dcgan without edge convs: the first strided conv reads the image (DCGAN's paper)
            ins[0] = cfg.channels
        block = ResDownBlock if cfg.arch == "resnet" else DownBlock
        self.blocks = nn.ModuleList(block(cin, stage_channels(cfg, r // 2)) for cin, r in zip(ins, res[:-1]))
        c4 = stage_channels(cfg, 4)
        self.mbstd_group = mbstd_group(cfg.batch_size)  # not a weight: a checkpoint's config rebuilds it
        k = cfg.d_head_kernel
        self.conv_out = spectral_norm(nn.Conv2d(c4 + 1, c4, k, padding=k // 2))
        self.fc = spectral_norm(nn.Linear(c4 * 16, c4))
        self.out = spectral_norm(nn.Linear(c4, 1))
        # No spectral norm here: a bounded class embedding lets the rare classes' conditioning drift between shapes.
        self.embed = nn.Embedding(cfg.num_classes, c4)
        # Auxiliary classifier (AC-GAN) on the same features, trained on reals only; absent when its weight is 0.
        self.classify: Optional[nn.Linear] = nn.Linear(c4, cfg.num_classes) if cfg.ac_weight > 0 else None

    def class_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Cosine classifier: D's spectrally normalised features are small, and a plain linear head on them stayed
        at chance (cross-entropy ≈ ln K) for most of a 1,562-step run; normalising both sides makes its rate
        independent of their scale (ReACGAN's remedy for AC-GAN's head)."""
        w = F.normalize(self.classify.weight.float(), dim=1)
        return F.normalize(h.float(), dim=1) @ w.t() / AC_TEMPERATURE + self.classify.bias.float()

    def forward(self, x: torch.Tensor, c: torch.Tensor, with_classes: bool = False):
        """x: (N, C, R, R) in [-1, 1], c: (N,) long → logits (N,); with `with_classes`, also the auxiliary
        classifier's class logits (N, num_classes)."""
        h = x if self.from_img is None else F.leaky_relu(self.from_img(x), 0.2, inplace=True)
        for blk in self.blocks:
            h = blk(h)
        # NCHW before the activation: the fc reads the map in that order, and an activation's backward on a
        # channels-last map with an NCHW gradient takes a slow strided path.
        h = F.leaky_relu(self.conv_out(minibatch_stddev(h, self.mbstd_group)).contiguous(), 0.2)
        h = F.leaky_relu(self.fc(h.flatten(1)), 0.2)
        # Projection: the class enters as an inner product with the features, not as an input channel.
        logits = self.out(h).squeeze(1) + (self.embed(c) * h).sum(dim=1)
        if with_classes:
            if self.classify is None:
                raise ValueError("this discriminator has no auxiliary classifier (ac_weight is 0)")
            return logits, self.class_logits(h)
        return logits


def build_networks(cfg: TrainConfig) -> tuple[Generator, Discriminator]:
    """Fresh G and D, initialised from the global torch seed the caller set."""
    return Generator(cfg), Discriminator(cfg)
