"""Latent regularisers of a VAE objective: the term that replaces or reweights KL(q(z|x) || p(z)).

Each is a :class:`~latentrepro.models.regularisers.base.Regulariser` (an ``nn.Module``, see
:mod:`.base` for the objective), built from its ``regulariser`` section of params.yaml by the
builder registered in :data:`REGULARISERS`:

- ``kl``: annealed KL (linear, cyclical) and beta-VAE (constant schedule with ``max = beta``);
- ``free_bits``: max(lambda, KL) per dimension or for the whole vector (:mod:`.free_bits`);
- ``bn_vae`` and ``delta_vae``: KL with a constrained posterior (:mod:`.posterior_constraints`);
- ``density_gap``: DG-VAE's density gap in place of the KL (:mod:`.density_gap`);
- ``ebm``: the symbol-vector information term of the latent-EBM priors (:mod:`.ebm`).

Layering: this package's modules import :mod:`.base`, never this ``__init__``; only the
``__init__`` imports the implementations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentrepro.models.regularisers.base import (
    SCHEDULES,
    ConstantSchedule,
    CyclicalSchedule,
    KLRegulariser,
    LinearSchedule,
    Regulariser,
    build_schedule,
    kl_divergence,
)
from latentrepro.models.regularisers.density_gap import DensityGapRegulariser
from latentrepro.models.regularisers.ebm import EBMRegulariser
from latentrepro.models.regularisers.free_bits import FreeBitsRegulariser
from latentrepro.models.regularisers.posterior_constraints import (
    BatchNormKLRegulariser,
    DeltaKLRegulariser,
)

__all__ = [
    "REGULARISERS",
    "SCHEDULES",
    "BatchNormKLRegulariser",
    "ConstantSchedule",
    "CyclicalSchedule",
    "DeltaKLRegulariser",
    "DensityGapRegulariser",
    "EBMRegulariser",
    "FreeBitsRegulariser",
    "KLRegulariser",
    "LinearSchedule",
    "Regulariser",
    "build_regulariser",
    "build_schedule",
    "kl_divergence",
]


def _free_bits(cfg: dict[str, Any], latent_dim: int) -> Regulariser:
    return FreeBitsRegulariser(build_schedule(cfg.get("schedule")), cfg["lambda"], cfg["mode"])


def _bn_vae(cfg: dict[str, Any], latent_dim: int) -> Regulariser:
    return BatchNormKLRegulariser(build_schedule(cfg.get("schedule")), cfg["gamma"], latent_dim)


def _delta_vae(cfg: dict[str, Any], latent_dim: int) -> Regulariser:
    return DeltaKLRegulariser(build_schedule(cfg.get("schedule")), cfg["delta"])


def _density_gap(cfg: dict[str, Any], latent_dim: int) -> Regulariser:
    return DensityGapRegulariser(
        build_schedule(cfg.get("schedule")), cfg["batch_chunk"], cfg["samples"]
    )


REGULARISERS: dict[str, Callable[[dict[str, Any], int], Regulariser]] = {
    "kl": lambda cfg, latent_dim: KLRegulariser(build_schedule(cfg.get("schedule"))),
    "free_bits": _free_bits,
    "bn_vae": _bn_vae,
    "delta_vae": _delta_vae,
    "density_gap": _density_gap,
    "ebm": lambda cfg, latent_dim: EBMRegulariser.from_config(cfg),
}


def build_regulariser(cfg: dict[str, Any], latent_dim: int) -> Regulariser:
    """Build the regulariser named ``cfg["name"]`` for a ``latent_dim``-dimensional latent."""
    name = cfg["name"]
    if name not in REGULARISERS:
        raise ValueError(
            f"regulariser.name: unknown regulariser {name!r}; known: {sorted(REGULARISERS)}"
        )
    return REGULARISERS[name](cfg, latent_dim)
