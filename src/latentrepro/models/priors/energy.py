"""Energy networks of the latent EBM priors.

- :class:`EnergyMLP` (LEBM, SVEBM): z -> hidden -> hidden -> one score (LEBM) or K symbol logits
  (SVEBM), an activation after each hidden layer. SVEBM (papers.md P1-baselines; bpucla/ibebm
  @ 315b645 unconditional_gen.py:489-495): z -> 200 -> 200 (GELU) -> K.
- :class:`DiffusionEnergyNet` (LDEBM): the time-conditioned symbol energy of yuPeiyu98/LDEBM
  @ 37ebc1f modules/ldebm.py:84-128 and :467-475, with LeakyReLU(0.2) and spectral norm on every
  linear layer::

      h_z = W_2 lrelu(W_1 z)                      (no activation after W_2)
      h_t = W_4 lrelu(W_3 PE(t))                  PE: sinusoidal table of the levels
      h   = W_5 lrelu([h_z, h_t])
      h   = h + W_b lrelu(h)                      (``blocks`` times, pre-activation residual)
      g   = W_o lrelu(h)                          K logits

  with PE(t)_{2i} = sin(t / 10000^{2i/d}), PE(t)_{2i+1} = cos(t / 10000^{2i/d}) (Vaswani et al.
  2017, Sec. 3.5; sine and cosine interleaved, as in the authors' table).

Both take an optional condition c ``[N, C]`` (``context_dim`` C > 0), which makes them the
energies of a conditional prior p(z | c) (LDEBM's response generation). The SVEBM MLP reads
``[z, c]`` in its first layer (bpucla/ibebm @ 315b645 conditional_gen.py:810-816); LDEBM's
network embeds c by its own branch h_c = W_7 lrelu(W_6 c) and joins ``[h_z, h_c, h_t]``
(yuPeiyu98/LDEBM @ 37ebc1f modules/ldebm_ctx.py:100-111, :123, :388-393). The condition is an
input, not a parameter: the prior never trains the network that computes it (both authors
detach it, ldebm_ctx.py:525).
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


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"energy.activation: unknown {name!r}; known: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _linear(d_in: int, d_out: int, normalise: bool) -> nn.Module:
    layer = nn.Linear(d_in, d_out)
    return spectral_norm(layer) if normalise else layer


def with_context(
    inputs: torch.Tensor, context: torch.Tensor | None, context_dim: int
) -> torch.Tensor | None:
    """The condition for the rows of ``inputs``, checked against the network's ``context_dim``:
    ``None`` for an unconditional network, else ``context`` ``[N, C]`` with one row per input."""
    if not context_dim:
        if context is not None:
            raise ValueError(
                "prior: this energy network is unconditional (context_dim 0) but was given a "
                "condition; build the prior with context_dim for a conditional model"
            )
        return None
    if context is None:
        raise ValueError(f"prior: a conditional energy (context_dim {context_dim}) needs c")
    if context.shape != (inputs.size(0), context_dim):
        raise ValueError(
            f"prior: condition of shape {tuple(context.shape)} for {inputs.size(0)} latents; "
            f"expected ({inputs.size(0)}, {context_dim})"
        )
    return context.to(inputs.dtype)


def sinusoidal_table(levels: int, dim: int) -> torch.Tensor:
    """``[levels, dim]``: row t is PE(t), sine at even and cosine at odd columns."""
    position = torch.arange(levels, dtype=torch.float64).unsqueeze(1)
    freqs = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * -(math.log(10_000.0) / dim))
    table = torch.zeros(levels, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * freqs)
    table[:, 1::2] = torch.cos(position * freqs)[:, : dim // 2]
    return table.float()


class PreActResidual(nn.Module):
    """h + W act(h): one linear layer after the activation (the LDEBM authors' block)."""

    def __init__(self, width: int, activation: str, normalise: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(_activation(activation), _linear(width, width, normalise))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class EnergyMLP(nn.Module):
    """``z [N, D] -> [N, out_dim]``: two hidden layers with an activation after each.

    Args:
        latent_dim: D.
        out_dim: 1 (a scalar score) or K (symbol logits).
        hidden: width of the hidden layers.
        activation: ``gelu``, ``leaky_relu`` (slope 0.2) or ``silu``.
        spectral: spectral normalisation of every linear layer (Miyato et al. 2018).
        context_dim: C of a condition read with z by the first layer (0: unconditional).
    """

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        hidden: int = 200,
        activation: str = "gelu",
        spectral: bool = False,
        context_dim: int = 0,
    ) -> None:
        super().__init__()
        self.context_dim = context_dim
        self.layers = nn.Sequential(
            _linear(latent_dim + context_dim, hidden, spectral),
            _activation(activation),
            _linear(hidden, hidden, spectral),
            _activation(activation),
            _linear(hidden, out_dim, spectral),
        )

    @classmethod
    def from_config(
        cls, cfg: dict[str, Any], latent_dim: int, out_dim: int, context_dim: int = 0
    ) -> EnergyMLP:
        """From a prior's ``energy`` section (hidden, activation, spectral_norm)."""
        if cfg.get("blocks"):
            raise ValueError(
                "energy.blocks: residual blocks belong to LDEBM's energy network (prior ldebm); "
                "the lebm/svebm energy is the two-layer MLP"
            )
        return cls(
            latent_dim,
            out_dim,
            hidden=cfg.get("hidden", 200),
            activation=cfg.get("activation", "gelu"),
            spectral=cfg.get("spectral_norm", False),
            context_dim=context_dim,
        )

    def forward(self, z: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, out_dim]`` for ``z`` ``[N, D]`` (and the condition ``[N, C]`` if conditional)."""
        c = with_context(z, context, self.context_dim)
        return self.layers(z if c is None else torch.cat([z, c], dim=-1))


class DiffusionEnergyNet(nn.Module):
    """``(y [N, D], t [N]) -> [N, out_dim]``: LDEBM's energy (see the module docstring).

    Args:
        latent_dim: D.
        out_dim: K.
        levels: number of levels t the network is conditioned on (rows of the PE table).
        hidden: width of every layer (the authors: 200, also the PE width).
        blocks: residual blocks (the authors: 12).
        activation: the authors use ``leaky_relu`` (slope 0.2).
        spectral: spectral normalisation of every linear layer (the authors: on).
        context_dim: C of a condition embedded by its own branch (0: unconditional).
    """

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        levels: int,
        hidden: int = 200,
        blocks: int = 12,
        activation: str = "leaky_relu",
        spectral: bool = True,
        context_dim: int = 0,
    ) -> None:
        super().__init__()
        self.context_dim = context_dim
        self.z_embed = nn.Sequential(
            _linear(latent_dim, hidden, spectral),
            _activation(activation),
            _linear(hidden, hidden, spectral),
        )
        self.register_buffer("time_table", sinusoidal_table(levels, hidden), persistent=False)
        self.t_embed = nn.Sequential(
            _linear(hidden, hidden, spectral),
            _activation(activation),
            _linear(hidden, hidden, spectral),
        )
        if context_dim:
            self.c_embed = nn.Sequential(
                _linear(context_dim, hidden, spectral),
                _activation(activation),
                _linear(hidden, hidden, spectral),
            )
        branches = 3 if context_dim else 2
        self.join = nn.Sequential(
            _activation(activation), _linear(branches * hidden, hidden, spectral)
        )
        self.blocks = nn.Sequential(
            *(PreActResidual(hidden, activation, spectral) for _ in range(blocks))
        )
        self.out = nn.Sequential(_activation(activation), _linear(hidden, out_dim, spectral))

    @classmethod
    def from_config(
        cls, cfg: dict[str, Any], latent_dim: int, out_dim: int, levels: int, context_dim: int = 0
    ) -> DiffusionEnergyNet:
        """From a prior's ``energy`` section (hidden, blocks, activation, spectral_norm)."""
        return cls(
            latent_dim,
            out_dim,
            levels,
            hidden=cfg.get("hidden", 200),
            blocks=cfg.get("blocks", 12),
            activation=cfg.get("activation", "leaky_relu"),
            spectral=cfg.get("spectral_norm", True),
            context_dim=context_dim,
        )

    def time_features(self, t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """h_t ``[N, hidden]``: it depends on the levels alone, so a Langevin stage (fixed t)
        computes it once instead of at every step."""
        return self.t_embed(self.time_table[t].to(dtype))

    def forward(
        self,
        y: torch.Tensor,
        t: torch.Tensor,
        time_features: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The K logits; ``time_features`` is :meth:`time_features` of ``t`` when precomputed,
        ``context`` the condition ``[N, C]`` of a conditional network."""
        h_t = self.time_features(t, y.dtype) if time_features is None else time_features
        c = with_context(y, context, self.context_dim)
        parts = [self.z_embed(y), h_t] if c is None else [self.z_embed(y), self.c_embed(c), h_t]
        h = torch.cat(parts, dim=-1)
        return self.out(self.blocks(self.join(h)))
