"""Convolutional networks of the image models: the energy network, the contrastive encoder and
the classifier whose features the offline FID uses.

Energy network (CLEL, Lee et al. ICLR 2023, as in the authors' code; papers.md P3): a
pre-activation ResNet with LeakyReLU(0.2), spectral normalisation on every convolution and
linear layer, average-pool downsampling and no normalisation layers; a head
``C -> hidden -> out_dim`` gives f(x). Stages (``widths``, ``blocks`` per stage) and the number
of downsamplings are configurable, so 8x8 digits take one downsampling and 32x32 CIFAR-10 three.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _sn_conv(c_in: int, c_out: int, kernel: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2))


class PreActBlock(nn.Module):
    """act -> conv -> act -> conv (+ shortcut), then optional 2x2 average pooling."""

    def __init__(self, c_in: int, c_out: int, downsample: bool) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(0.2)
        self.conv1, self.conv2 = _sn_conv(c_in, c_out, 3), _sn_conv(c_out, c_out, 3)
        self.shortcut = _sn_conv(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.pool = nn.AvgPool2d(2) if downsample else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.act(self.conv1(self.act(x))))
        return self.pool(h + self.shortcut(x))


def _check_stages(cfg: dict[str, Any], where: str) -> None:
    widths, downs = cfg["widths"], cfg.get("downsamplings", 0)
    if not widths or min(widths) < 1:
        raise ValueError(f"{where}.widths: need at least one positive width, got {widths}")
    if not 0 <= downs <= len(widths):
        raise ValueError(
            f"{where}.downsamplings: must be between 0 and the number of stages "
            f"({len(widths)}), got {downs}"
        )


class EnergyNet(nn.Module):
    """f(x) in R^out_dim; the sampling energy is 0.5 ||f(x)||^2 (CLEL's norm part).

    With ``projection_dim`` set, :meth:`project` maps f to CLEL's g(f) in R^projection_dim,
    whose direction is coupled to the encoder's latent.
    """

    def __init__(self, in_channels: int, cfg: dict[str, Any]) -> None:
        super().__init__()
        _check_stages(cfg, "energy")
        widths, blocks, downs = cfg["widths"], cfg.get("blocks", 1), cfg.get("downsamplings", 0)
        layers: list[nn.Module] = [_sn_conv(in_channels, widths[0], 3)]
        c = widths[0]
        for stage, width in enumerate(widths):
            for block in range(blocks):
                last = block == blocks - 1
                layers.append(PreActBlock(c, width, downsample=last and stage < downs))
                c = width
        self.body = nn.Sequential(*layers, nn.LeakyReLU(0.2))
        self.head = nn.Sequential(
            spectral_norm(nn.Linear(c, cfg["hidden"])),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(cfg["hidden"], cfg["out_dim"])),
        )
        dim = cfg.get("projection_dim")
        self.projection = (
            nn.Sequential(
                nn.Linear(cfg["out_dim"], cfg["out_dim"]), nn.ReLU(), nn.Linear(cfg["out_dim"], dim)
            )
            if dim
            else None
        )

    def project(self, f: torch.Tensor) -> torch.Tensor:
        """g(f), CLEL's projection of the energy features (needs ``projection_dim``)."""
        if self.projection is None:
            raise ValueError("energy.projection_dim: this energy network has no projection g")
        return self.projection(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    """ResNet basic block with batch normalisation (the encoder's building block)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNetTrunk(nn.Module):
    """3x3 stem without max-pool, ResNet stages, global average pooling -> ``out_channels``."""

    def __init__(self, in_channels: int, cfg: dict[str, Any], where: str) -> None:
        super().__init__()
        _check_stages(cfg, where)
        widths, blocks, downs = cfg["widths"], cfg.get("blocks", 1), cfg.get("downsamplings", 0)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        c = widths[0]
        for stage, width in enumerate(widths):
            for block in range(blocks):
                stride = 2 if block == 0 and 0 < stage <= downs else 1
                layers.append(BasicBlock(c, width, stride))
                c = width
        self.body = nn.Sequential(*layers)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))


class ContrastiveEncoder(nn.Module):
    """SimCLR encoder: ResNet trunk + MLP head ``C -> hidden -> latent_dim`` (Chen et al. 2020)."""

    def __init__(self, in_channels: int, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.trunk = ResNetTrunk(in_channels, cfg, "encoder")
        self.head = nn.Sequential(
            nn.Linear(self.trunk.out_channels, cfg["hidden"]),
            nn.BatchNorm1d(cfg["hidden"]),
            nn.ReLU(),
            nn.Linear(cfg["hidden"], cfg["latent_dim"]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class Classifier(nn.Module):
    """ResNet trunk -> ``feature_dim`` ReLU features -> class logits."""

    def __init__(self, in_channels: int, num_classes: int, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.trunk = ResNetTrunk(in_channels, cfg, "classifier")
        self.features = nn.Sequential(
            nn.Linear(self.trunk.out_channels, cfg["feature_dim"]), nn.ReLU()
        )
        self.logits = nn.Linear(cfg["feature_dim"], num_classes)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.penultimate(x))
