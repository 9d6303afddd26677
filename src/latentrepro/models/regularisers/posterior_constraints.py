"""KL regularisers whose posterior family is constrained so that the KL cannot vanish.

- BN-VAE (Zhu et al., "A Batch Normalized Inference Network Keeps the KL Vanishing Away",
  ACL 2020, Sec. 3): the posterior means pass through batch normalisation with a *fixed* scale
  gamma and a learnt shift beta, mu'_d = gamma * BN(mu_d) + beta_d. Over a batch
  E[mu'_d^2] = gamma^2 + beta_d^2, so the expected KL (Eq. 7) is at least D * gamma^2 / 2.
- delta-VAE (Razavi et al., "Preventing Posterior Collapse with delta-VAEs", ICLR 2019,
  Sec. 2.1): choose a posterior family whose KL to the prior is at least a committed rate.
  With the N(0, I) prior the per-dimension KL is (sigma^2 - log sigma^2 - 1 + mu^2) / 2, which
  is >= delta as soon as sigma^2 <= s_delta, the root below 1 of s - log s - 1 = 2 delta.
  We take the simplest form of that constraint: a per-dimension rate delta, with the variance
  mapped smoothly below the bound, log sigma^2 = log s_delta - softplus(-raw logvar), so every
  example's KL is at least D * delta. (Razavi et al. also bound the variance from above with
  correlated AR(1) priors; with the independent prior used here the upper branch is not needed.)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from latentrepro.models.regularisers.base import KLRegulariser


class BatchNormKLRegulariser(KLRegulariser):
    """KL term with BN-VAE's batch-normalised posterior means (fixed gamma, learnt beta)."""

    def __init__(self, schedule: Callable[[float], float], gamma: float, latent_dim: int) -> None:
        super().__init__(schedule)
        if gamma <= 0:
            raise ValueError(f"regulariser.gamma: must be > 0, got {gamma}")
        self.gamma = float(gamma)
        self.norm = nn.BatchNorm1d(latent_dim, affine=False)
        self.shift = nn.Parameter(torch.zeros(latent_dim))

    def transform_posterior(
        self, mu: torch.Tensor, logvar: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.gamma * self.norm(mu) + self.shift, logvar


def delta_variance_bound(delta: float) -> float:
    """s in (0, 1) with s - log s - 1 = 2 delta (bisection; the left side falls on (0, 1))."""
    if delta <= 0:
        raise ValueError(f"regulariser.delta: the committed rate must be > 0, got {delta}")
    low, high = math.exp(-2 * delta - 1), 1.0  # g(low) = low + 2 delta >= 2 delta, g(1) = 0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid - math.log(mid) - 1 > 2 * delta:
            low = mid
        else:
            high = mid
    return low


class DeltaKLRegulariser(KLRegulariser):
    """KL term with delta-VAE's variance constraint: every dimension's KL is at least delta."""

    def __init__(self, schedule: Callable[[float], float], delta: float) -> None:
        super().__init__(schedule)
        self.delta = float(delta)
        self.log_bound = math.log(delta_variance_bound(self.delta))

    def transform_posterior(
        self, mu: torch.Tensor, logvar: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return mu, self.log_bound - F.softplus(-logvar)
