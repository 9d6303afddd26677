"""The base of every latent regulariser: weight schedules, the KL term and :class:`Regulariser`.

A regulariser is a weight schedule (how much of the term is applied at a point of training)
times a divergence between the posterior and the prior. The training objective per example is

    loss(x) = -E_q[log p(x|z)] + w(progress) * D(q(z|x), p(z))

where ``progress`` in [0, 1] is the fraction of training done. With D = KL and a linear
schedule this is KL annealing (Bowman et al. 2016; He et al. 2019 warm up over 10 of 100 epochs).
The implementations (:mod:`latentrepro.models.regularisers`) import this module; it imports
none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from latentrepro.density import log_normal_diag, mc_kl
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


@dataclass(frozen=True)
class CyclicalSchedule:
    """Cyclical annealing (Fu et al., "Cyclical Annealing Schedule: A Simple Approach to
    Mitigating KL Vanishing", NAACL 2019, Eq. 6): training is split into ``cycles`` equal
    cycles; within each, with tau the position in the cycle in [0, 1), the weight rises
    linearly over the first ``ratio`` of the cycle and then stays at ``max``:

        tau = (progress * cycles) mod 1,   w = max * min(1, tau / ratio).

    With ``zero`` > 0 every cycle first holds the weight at 0 for that fraction, then rises
    over ``ratio``: w = 0 for tau < zero, else max * min(1, (tau - zero) / ratio) (the SVEBM
    authors' ``frange_cycle_zero_linear`` with ratio_zero 0.5, ratio_increase 0.25; bpucla/ibebm
    @ 315b645 unconditional_gen.py:1108-1122).
    """

    cycles: int = 4
    ratio: float = 0.5
    max: float = 1.0
    zero: float = 0.0

    def __post_init__(self) -> None:
        if self.cycles < 1:
            raise ValueError(f"schedule.cycles: need at least one cycle, got {self.cycles}")
        if not 0 < self.ratio <= 1:
            raise ValueError(f"schedule.ratio: must lie in (0, 1], got {self.ratio}")
        if not 0 <= self.zero < 1 or self.zero + self.ratio > 1:
            raise ValueError(
                f"schedule.zero: need 0 <= zero < 1 and zero + ratio <= 1, got zero {self.zero}, "
                f"ratio {self.ratio}"
            )

    def __call__(self, progress: float) -> float:
        tau = (progress * self.cycles) % 1.0
        if tau < self.zero:
            return 0.0
        return self.max * min(1.0, (tau - self.zero) / self.ratio)


SCHEDULES: dict[str, Callable[..., Callable[[float], float]]] = {
    "constant": ConstantSchedule,
    "linear": LinearSchedule,
    "cyclical": CyclicalSchedule,
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


class Regulariser(nn.Module):
    """The latent term of the objective, and optionally a constraint on the posterior.

    Regularisers are modules so that ones with parameters (BN-VAE's batch norm) are saved
    with the model. :meth:`transform_posterior` maps the encoder's (mu, logvar) to the
    posterior actually used, in training and in evaluation (identity unless a method
    constrains the posterior family, as BN-VAE and delta-VAE do).
    """

    def __init__(self, schedule: Callable[[float], float]) -> None:
        super().__init__()
        self.schedule = schedule

    def transform_posterior(
        self, mu: torch.Tensor, logvar: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return mu, logvar

    def forward(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        prior: Prior,
        progress: float,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the weighted per-example term [B] (its batch mean is the loss term) and logs."""
        raise NotImplementedError


class KLRegulariser(Regulariser):
    """w(progress) * KL(q(z|x) || p(z)): the plain VAE, KL annealing and beta-VAE (constant w)."""

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
