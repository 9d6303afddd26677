"""Priors p(z) over the latent vector. Each prior implements :class:`Prior`.

New priors (EBM priors for LDEBM) register a builder in :data:`PRIORS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from latentrepro.models.priors.base import Prior
from latentrepro.models.priors.ebm import EBMPrior, LatentEBMPrior
from latentrepro.models.priors.gaussian import GaussianPrior
from latentrepro.models.priors.ldebm import DiffusionEBMPrior

PRIORS: dict[str, Callable[[dict[str, Any], int], Prior]] = {
    "gaussian": lambda cfg, latent_dim: GaussianPrior(latent_dim),
    "lebm": lambda cfg, latent_dim: LatentEBMPrior.from_config(cfg, latent_dim, coupled=False),
    "svebm": lambda cfg, latent_dim: LatentEBMPrior.from_config(cfg, latent_dim, coupled=True),
    "ldebm": DiffusionEBMPrior.from_config,
}


def build_prior(cfg: dict[str, Any], latent_dim: int) -> Prior:
    """Build the prior named ``cfg["name"]`` for a ``latent_dim``-dimensional latent."""
    try:
        builder = PRIORS[cfg["name"]]
    except KeyError:
        raise ValueError(
            f"prior.name: unknown prior {cfg['name']!r}; known: {sorted(PRIORS)}"
        ) from None
    prior = builder(cfg, latent_dim)
    assert isinstance(prior, nn.Module)
    return prior


__all__ = [
    "PRIORS",
    "DiffusionEBMPrior",
    "EBMPrior",
    "GaussianPrior",
    "LatentEBMPrior",
    "Prior",
    "build_prior",
]
