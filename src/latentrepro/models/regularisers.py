"""Latent regularisers of a VAE objective: the term that replaces or reweights KL(q(z|x) || p(z)).

A regulariser is a weight schedule (how much of the term is applied at a point of training)
times a divergence between the posterior and the prior. The training objective per example is

    loss(x) = -E_q[log p(x|z)] + w(progress) * D(q(z|x), p(z))

where ``progress`` in [0, 1] is the fraction of training done. With D = KL and a linear
schedule this is KL annealing (Bowman et al. 2016; He et al. 2019 warm up over 10 of 100 epochs).
New regularisers from papers (cyclical annealing, free bits, BN-VAE, density gap) register here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from latentrepro.metrics.likelihood import log_normal_diag, mc_kl
from latentrepro.models.priors.base import Prior


@dataclass(frozen=True)
class ConstantSchedule:
    """w(progress) = max."""

    max: float = 1.0

    def __call__(self, progress: float) -> float:
        return self.max


@dataclass(frozen=True)
class LinearSchedule:
    """w(progress) = max * min(1, progress / warmup): linear warm-up, then constant."""

    warmup: float = 0.1
    max: float = 1.0

    def __call__(self, progress: float) -> float:
        if self.warmup <= 0:
            return self.max
        return self.max * min(1.0, progress / self.warmup)


SCHEDULES: dict[str, Callable[..., Callable[[float], float]]] = {
    "constant": ConstantSchedule,
    "linear": LinearSchedule,
}


def build_schedule(cfg: dict[str, Any] | None) -> Callable[[float], float]:
    cfg = dict(cfg or {"name": "constant"})
    name = cfg.pop("name")
    if name not in SCHEDULES:
        raise ValueError(f"schedule.name: unknown schedule {name!r}; known: {sorted(SCHEDULES)}")
    return SCHEDULES[name](**cfg)


def kl_divergence(
    mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor, prior: Prior
) -> torch.Tensor:
    """KL(q(z|x) || p(z)) per example: analytic where the prior has a closed form, else the
    one-sample Monte Carlo estimate log q(z|x) - log p(z) at the reparameterised ``z``."""
    analytic = prior.analytic_kl(mu, logvar)
    if analytic is not None:
        return analytic
    return mc_kl(log_normal_diag(z, mu, logvar).unsqueeze(0), prior.log_prob(z).unsqueeze(0))


class KLRegulariser(nn.Module):
    """w(progress) * KL(q(z|x) || p(z)): the plain VAE, KL annealing and beta-VAE (constant w).

    Regularisers are modules so that ones with parameters (BN-VAE's batch norm) are saved
    with the model.
    """

    def __init__(self, schedule: Callable[[float], float]) -> None:
        super().__init__()
        self.schedule = schedule

    def forward(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        prior: Prior,
        progress: float,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the weighted per-example term [B] and logs (the weight and the raw KL)."""
        kl = kl_divergence(mu, logvar, z, prior)
        weight = self.schedule(progress)
        return weight * kl, {"kl": kl.mean().item(), "kl_weight": weight}


REGULARISERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "kl": lambda cfg: KLRegulariser(build_schedule(cfg.get("schedule"))),
    "ebm": lambda cfg: _ebm_regulariser(cfg),
}


def _ebm_regulariser(cfg: dict[str, Any]) -> nn.Module:
    from latentrepro.models.ebm_regulariser import EBMRegulariser

    return EBMRegulariser(build_schedule(cfg.get("schedule")), cfg.get("mi_weight", 0.0))


def build_regulariser(cfg: dict[str, Any]) -> nn.Module:
    """Build the regulariser named ``cfg["name"]``."""
    name = cfg["name"]
    if name not in REGULARISERS:
        raise ValueError(
            f"regulariser.name: unknown regulariser {name!r}; known: {sorted(REGULARISERS)}"
        )
    return REGULARISERS[name](cfg)
