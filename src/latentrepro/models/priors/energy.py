"""Energy networks of the latent EBM priors: MLPs from z (and optionally a diffusion level t)
to one score (LEBM) or K symbol logits (SVEBM, LDEBM).

Architectures (papers.md): SVEBM z -> 200 -> 200 (GELU) -> K; LDEBM spectral-normalised
z -> 200 -> 200 (LeakyReLU 0.2), sinusoidal time embedding -> 2-layer MLP 200, concatenated
-> 200 -> residual blocks of width 200 -> K logits.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

ACTIVATIONS = {
    "gelu": nn.GELU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "silu": nn.SiLU,
}


def _linear(d_in: int, d_out: int, normalise: bool) -> nn.Module:
    layer = nn.Linear(d_in, d_out)
    return spectral_norm(layer) if normalise else layer


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style embedding of integer levels ``t`` ``[N]`` -> ``[N, dim]``
    (Vaswani et al. 2017, Sec. 3.5, as used for diffusion steps by Ho et al. 2020)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / max(half, 1))
    angles = t.float().unsqueeze(-1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class ResidualBlock(nn.Module):
    def __init__(self, width: int, activation: str, normalise: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _linear(width, width, normalise),
            ACTIVATIONS[activation](),
            _linear(width, width, normalise),
        )
        self.act = ACTIVATIONS[activation]()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.act(h + self.body(h))


class EnergyMLP(nn.Module):
    """``(z [N, D], t [N] or None) -> [N, out_dim]``.

    Args:
        latent_dim: D.
        out_dim: 1 (a scalar score) or K (symbol logits).
        hidden: width of every hidden layer.
        blocks: residual blocks after the input layers.
        activation: ``gelu``, ``leaky_relu`` (slope 0.2) or ``silu``.
        spectral: spectral normalisation of every linear layer (Miyato et al. 2018).
        time_levels: number of diffusion levels to condition on, or None for no time input.
    """

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        hidden: int = 200,
        blocks: int = 0,
        activation: str = "gelu",
        spectral: bool = False,
        time_levels: int | None = None,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"energy.activation: unknown {activation!r}; known: {sorted(ACTIVATIONS)}"
            )
        act = ACTIVATIONS[activation]
        self.hidden = hidden
        self.z_embed = nn.Sequential(
            _linear(latent_dim, hidden, spectral), act(), _linear(hidden, hidden, spectral), act()
        )
        self.time_levels = time_levels
        layers: list[nn.Module] = []
        if time_levels is not None:
            self.t_embed = nn.Sequential(
                _linear(hidden, hidden, spectral), act(), _linear(hidden, hidden, spectral), act()
            )
            layers += [_linear(2 * hidden, hidden, spectral), act()]
        layers += [ResidualBlock(hidden, activation, spectral) for _ in range(blocks)]
        layers.append(_linear(hidden, out_dim, spectral))
        self.head = nn.Sequential(*layers)

    @classmethod
    def from_config(
        cls, cfg: dict[str, Any], latent_dim: int, out_dim: int, time_levels: int | None = None
    ) -> EnergyMLP:
        """From a prior's ``energy`` section (hidden, blocks, activation, spectral_norm)."""
        return cls(
            latent_dim,
            out_dim,
            hidden=cfg.get("hidden", 200),
            blocks=cfg.get("blocks", 0),
            activation=cfg.get("activation", "gelu"),
            spectral=cfg.get("spectral_norm", False),
            time_levels=time_levels,
        )

    def forward(self, z: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        h = self.z_embed(z)
        if self.time_levels is not None:
            if t is None:
                raise ValueError("EnergyMLP: this network is time-conditioned; pass t")
            h = torch.cat([h, self.t_embed(sinusoidal_embedding(t, self.hidden))], dim=-1)
        return self.head(h)
