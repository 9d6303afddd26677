"""SimCLR's strong augmentation on image tensors in [0, 1], in plain torch (no torchvision).

CLEL (Lee et al. ICLR 2023; papers.md P3) uses random resized crop (scale 0.08-1), colour jitter
(brightness 0.4, contrast 0.4, saturation 0.4, hue 0.1) with probability 0.8, grayscale with
probability 0.2 and a horizontal flip, applied to data and replay-buffer samples alike. Every
transform here is per-sample random, keeps the shape, and maps [0, 1] into [0, 1]. The jitter
operations run in a fixed order (torchvision draws a random order). Saturation, hue and
grayscale act on colour images only; single-channel images get crop, brightness, contrast and
flip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# RGB -> YIQ (NTSC); hue is a rotation of the (I, Q) chroma plane.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _uniform(n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(n, device=like.device, dtype=like.dtype).uniform_(low, high)


def _coin(n: int, p: float, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, device=like.device) < p


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


def random_resized_crop(
    x: torch.Tensor,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (0.75, 4 / 3),
) -> torch.Tensor:
    """Crop a random box (area fraction in ``scale``, aspect ratio in ``ratio``) of each image and
    resize it back to the full size with bilinear interpolation."""
    n = x.size(0)
    area = _uniform(n, *scale, x)
    log_ratio = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), x)
    width = (area * log_ratio.exp()).sqrt().clamp(max=1.0)
    height = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    cx = (torch.rand_like(width) * 2 - 1) * (1 - width)
    cy = (torch.rand_like(height) * 2 - 1) * (1 - height)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = width, cx, height, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def horizontal_flip(x: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    return torch.where(_per_sample(_coin(x.size(0), p, x)), x.flip(-1), x)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma (ITU-R 601) of RGB images, repeated over the three channels."""
    weights = _RGB_TO_YIQ[0].to(x).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True).expand_as(x)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return (other + _per_sample(factor) * (x - other)).clamp(0.0, 1.0)


def _rotate_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    yiq_matrix = _RGB_TO_YIQ.to(x)
    yiq = torch.einsum("ij,njhw->nihw", yiq_matrix, x)
    angle = shift * 2 * math.pi
    cos, sin = _per_sample(angle.cos()).squeeze(1), _per_sample(angle.sin()).squeeze(1)
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
    rgb = torch.einsum("ij,njhw->nihw", torch.linalg.inv(yiq_matrix), yiq)
    return rgb.clamp(0.0, 1.0)


@dataclass(frozen=True)
class StrongAugment:
    """SimCLR augmentation with CLEL's settings (see the module docstring)."""

    crop_scale: tuple[float, float] = (0.08, 1.0)
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    flip_p: float = 0.5

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, colour = x.size(0), x.size(1) == 3
        out = random_resized_crop(x, self.crop_scale)
        jittered = _blend(
            out, torch.zeros_like(out), _uniform(n, 1 - self.brightness, 1 + self.brightness, x)
        )
        luma = grayscale(jittered) if colour else jittered
        mean = luma.mean(dim=(1, 2, 3), keepdim=True).expand_as(jittered)
        jittered = _blend(jittered, mean, _uniform(n, 1 - self.contrast, 1 + self.contrast, x))
        if colour:
            factor = _uniform(n, 1 - self.saturation, 1 + self.saturation, x)
            jittered = _blend(jittered, grayscale(jittered), factor)
            jittered = _rotate_hue(jittered, _uniform(n, -self.hue, self.hue, x))
        out = torch.where(_per_sample(_coin(n, self.jitter_p, x)), jittered, out)
        if colour:
            out = torch.where(_per_sample(_coin(n, self.grayscale_p, x)), grayscale(out), out)
        return horizontal_flip(out, self.flip_p)
