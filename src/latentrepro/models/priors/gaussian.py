"""The standard normal prior p(z) = N(0, I)."""

from __future__ import annotations

import torch

from latentrepro.density import gaussian_kl, log_standard_normal
from latentrepro.models.priors.base import Prior


class GaussianPrior(Prior):
    standard_normal = True

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # A buffer, so that .to(device) moves the prior with the model.
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return log_standard_normal(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator, device=self._anchor.device)

    def analytic_kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return gaussian_kl(mu, logvar)
