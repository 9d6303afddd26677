"""Convolutional networks of the image models: the energy network, the contrastive encoder and
the classifier whose features the offline FID uses and which scores guided samples.

Energy network (CLEL, Lee et al. ICLR 2023; hankook/CLEL@ccccf50 ``architectures.py``
``ResNet`` ~65-110 and ``get_ebm`` ~193-214): a ``Normalize(mean, std)`` stem and a 3x3
convolution; stages of pre-activation residual blocks (LeakyReLU 0.2, no normalisation layers),
each stage after the first opening with 2x2 average pooling; LeakyReLU, global average pooling,
the head ``C -> hidden -> out_dim`` (LeakyReLU, with bias) gives f(x), and the projection
``out_dim -> projection_hidden -> projection_dim`` (LeakyReLU, no bias) gives g(f(x)). Spectral
normalisation is on every convolution and on no linear layer; linear weights start N(0, 0.01)
with zero bias, convolutions Kaiming-normal for a linear gain (std 1/sqrt(fan_in)) with zero
bias. The base layout (widths 128, 128, 256, 256, two blocks each, three poolings, hidden 2048,
out 128, projection 2048 -> 128) has the authors' 6.96M parameters on CIFAR-10.

Encoder (``get_encoder`` ~217-228): torchvision's ResNet-18 with a 3x3 stride-1 stem, no max
pool, zero-initialised last batch norm of every residual branch, and the head
``512 -> 2048 (no bias) -> BN -> ReLU -> 128``, behind the same ``Normalize`` stem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class Normalize(nn.Module):
    """(x - mean) / std per channel; identity without statistics."""

    def __init__(self, channels: int, mean: Sequence[float] | None, std: Sequence[float] | None):
        super().__init__()
        mean = [0.0] * channels if mean is None else list(mean)
        std = [1.0] * channels if std is None else list(std)
        if len(mean) != channels or len(std) != channels or min(std) <= 0:
            raise ValueError(
                f"normalize: need {channels} means and {channels} positive stds, got "
                f"mean {mean}, std {std}"
            )
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _normalize(in_channels: int, cfg: dict[str, Any]) -> Normalize:
    stats = cfg.get("normalize") or {}
    return Normalize(in_channels, stats.get("mean"), stats.get("std"))


def _check_stages(cfg: dict[str, Any], where: str) -> None:
    widths, downs = cfg["widths"], cfg.get("downsamplings", 0)
    if not widths or min(widths) < 1:
        raise ValueError(f"{where}.widths: need at least one positive width, got {widths}")
    if not 0 <= downs < len(widths):
        raise ValueError(
            f"{where}.downsamplings: must be between 0 and the number of stages minus one "
            f"({len(widths) - 1}), got {downs}"
        )


def _energy_init(module: nn.Module) -> None:
    """The authors' initialisation (architectures.py ~94-102), before spectral norm."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="linear")
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class PreActBlock(nn.Module):
    """x + conv2(act(conv1(act(x)))), with a 1x1 convolution (no bias) when widths differ."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(0.2)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act(self.conv1(self.act(x)))) + self.shortcut(x)


class EnergyNet(nn.Module):
    """f(x) in R^out_dim; the sampling energy is 0.5 ||f(x)||^2 (CLEL's norm part).

    With ``projection_dim`` set, :meth:`project` maps f to CLEL's g(f) in R^projection_dim,
    whose direction is coupled to the encoder's latent.
    """

    def __init__(self, in_channels: int, cfg: dict[str, Any]) -> None:
        super().__init__()
        _check_stages(cfg, "energy")
        widths, blocks, downs = cfg["widths"], cfg.get("blocks", 1), cfg.get("downsamplings", 0)
        self.stem = nn.Sequential(
            _normalize(in_channels, cfg), nn.Conv2d(in_channels, widths[0], 3, padding=1)
        )
        stages, c = [], widths[0]
        for i, width in enumerate(widths):
            stage: list[nn.Module] = [nn.AvgPool2d(2)] if 0 < i <= downs else []
            for _ in range(blocks):
                stage.append(PreActBlock(c, width))
                c = width
            stages.append(nn.Sequential(*stage))
        self.stages = nn.Sequential(*stages)
        self.act = nn.LeakyReLU(0.2)
        self.head = nn.Sequential(
            nn.Linear(c, cfg["hidden"]), nn.LeakyReLU(0.2), nn.Linear(cfg["hidden"], cfg["out_dim"])
        )
        dim = cfg.get("projection_dim")
        hidden = cfg.get("projection_hidden", cfg["hidden"])
        self.projection = (
            nn.Sequential(
                nn.Linear(cfg["out_dim"], hidden, bias=False),
                nn.LeakyReLU(0.2),
                nn.Linear(hidden, dim, bias=False),
            )
            if dim
            else None
        )
        _energy_init(self)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                spectral_norm(m)

    def project(self, f: torch.Tensor) -> torch.Tensor:
        """g(f), CLEL's projection of the energy features (needs ``projection_dim``)."""
        if self.projection is None:
            raise ValueError("energy.projection_dim: this energy network has no projection g")
        return self.projection(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.stages(self.stem(x)))
        return self.head(h.mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut x)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNetTrunk(nn.Module):
    """Normalize, 3x3 stem (BN, ReLU, no max pool), ResNet stages, global average pooling.

    Stage ``i`` (1 <= i <= downsamplings) opens with a stride-2 block. Initialisation as in
    torchvision (Kaiming-normal fan-out convolutions, unit batch norms) with
    ``zero_init_residual``: the last batch norm of every residual branch starts at zero.
    """

    def __init__(self, in_channels: int, cfg: dict[str, Any], where: str) -> None:
        super().__init__()
        _check_stages(cfg, where)
        widths, blocks, downs = cfg["widths"], cfg.get("blocks", 1), cfg.get("downsamplings", 0)
        layers: list[nn.Module] = [
            _normalize(in_channels, cfg),
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
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))


class ContrastiveEncoder(nn.Module):
    """SimCLR encoder: ResNet trunk + head ``C -> hidden (no bias) -> BN -> ReLU -> latent``."""

    def __init__(self, in_channels: int, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.trunk = ResNetTrunk(in_channels, cfg, "encoder")
        self.head = nn.Sequential(
            nn.Linear(self.trunk.out_channels, cfg["hidden"], bias=False),
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
