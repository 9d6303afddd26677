"""The interface every prior p(z) implements."""

from __future__ import annotations

import torch
from torch import nn


class Prior(nn.Module):
    """A prior over R^D.

    ``log_prob`` must be a normalised log density (an EBM prior adds its estimated
    log-partition term and records the estimator), because importance-weighted NLL uses it.
    """

    latent_dim: int
    #: Whether ``log_prob`` is trustworthy enough to report likelihoods (NLL, PPL, KL) from.
    reports_likelihood: bool = True

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z), summed over the last dimension."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples, shape [n, D]."""
        raise NotImplementedError

    def analytic_kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor | None:
        """KL(N(mu, diag exp(logvar)) || p) per example, or ``None`` where no closed form exists."""
        return None
