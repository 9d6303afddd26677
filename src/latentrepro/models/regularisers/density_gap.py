r"""The density-gap regulariser of DG-VAE (Zhang, Bai, Lin, Wang, Rong, "Improving Variational
Autoencoders with Density Gap-based Regularization", NeurIPS 2022).

DG-VAE replaces the KL term of the ELBO by the gap between the aggregated posterior and the prior,
estimated per latent dimension. A minibatch is split into chunks of ``|b|`` posteriors; within a
chunk the aggregated posterior of dimension d is the mixture

.. math::

    \bar q_d(z_d) = \frac{1}{|b|} \sum_{j \in b} \mathcal N(z_d; \mu_{jd}, \sigma_{jd}^2),

each posterior of the chunk contributes ``M`` reparameterised samples, and the chunk's term is

.. math::

    L_{DG}(b) = \sum_{d=1}^{D} \frac{1}{|b| M} \sum_{i \in b} \sum_{m=1}^{M}
        \big[\log \bar q_d(z^{(m)}_{id}) - \log p(z^{(m)}_{id})\big],
    \qquad z^{(m)}_{i} = \mu_i + \sigma_i \odot \epsilon^{(m)}_i

(the paper's density-gap objective, its Eq. for L_DG with the sample-based estimate of Sec. 3; the
chunking and the per-dimension marginals follow the authors' public code, see ../shared/papers.md).
``log qbar_d`` is a log-sum-exp over the chunk's components, never an average of raw densities,
so far-apart posteriors with small variances do not underflow. With ``|b| = 1`` the mixture is the
posterior itself and, because q and p factorise over dimensions, the term is the Monte Carlo KL
``mean_m [log q(z^(m)|x) - log p(z^(m))]`` of the plain VAE.

A batch whose size is not a multiple of ``|b|`` (the last, short batch of an epoch) gets one final
shorter chunk. The prior must be the standard normal, whose per-dimension marginals are known.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from latentrepro.density import LOG_2PI, gaussian_kl
from latentrepro.models.priors.base import Prior
from latentrepro.models.regularisers.base import Regulariser


def _chunk_gaps(eps: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-posterior density gaps [C, b] for C chunks of b posteriors (mu, logvar [C, b, D];
    eps [M, C, b, D]), each the mean over its M samples of sum_d log qbar_d - log p_d."""
    m, c, b, d = eps.shape
    std = (0.5 * logvar).exp()
    z = mu + std * eps  # [M, C, b, D]
    queries = z.permute(1, 0, 2, 3).reshape(c, m * b, 1, d)  # [C, M*b, 1, D]
    comp = -0.5 * (
        LOG_2PI + logvar.unsqueeze(1) + ((queries - mu.unsqueeze(1)) / std.unsqueeze(1)).pow(2)
    )  # [C, M*b, b, D]: log N(z_qd; mu_jd, sigma_jd^2) for every query q and component j
    log_qbar = torch.logsumexp(comp, dim=2) - math.log(b)  # [C, M*b, D]
    log_p = -0.5 * (LOG_2PI + queries.squeeze(2).pow(2))  # [C, M*b, D]
    gaps = (log_qbar - log_p).sum(dim=-1)  # [C, M*b]
    return gaps.view(c, m, b).mean(dim=1)


def density_gap(
    mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor, chunk: int
) -> torch.Tensor:
    """Per-example density-gap terms [B] whose mean over a chunk is that chunk's L_DG.

    Args:
        mu, logvar: posterior parameters, ``[B, D]``.
        eps: standard-normal noise ``[M, B, D]`` for the ``M`` samples of each posterior.
        chunk: ``|b|``, the number of posteriors aggregated together.

    Example i's value is the mean over its own samples of ``sum_d log qbar_d - log p_d``, with
    qbar the mixture over i's chunk, so averaging the values of a batch gives the mean of L_DG
    over its chunks (weighted by chunk size when the last chunk is short).
    """
    if chunk < 1:
        raise ValueError(f"regulariser.batch_chunk: must be >= 1, got {chunk}")
    if eps.dim() != 3 or eps.shape[1:] != mu.shape or eps.shape[0] < 1:
        raise ValueError(
            f"density_gap: eps must be [M >= 1, B, D] matching mu {tuple(mu.shape)}, "
            f"got {tuple(eps.shape)}"
        )
    n, d = mu.shape
    full = (n // chunk) * chunk
    parts = []
    for start, stop, size in ((0, full, chunk), (full, n, n - full)):
        if stop > start:
            c = (stop - start) // size
            parts.append(
                _chunk_gaps(
                    eps[:, start:stop].reshape(-1, c, size, d),
                    mu[start:stop].reshape(c, size, d),
                    logvar[start:stop].reshape(c, size, d),
                ).reshape(-1)
            )
    return torch.cat(parts)


class DensityGapRegulariser(Regulariser):
    """w(progress) * L_DG with chunks of ``batch_chunk`` posteriors and ``samples`` draws each."""

    def __init__(self, schedule: Callable[[float], float], batch_chunk: int, samples: int) -> None:
        super().__init__(schedule)
        if batch_chunk < 1:
            raise ValueError(f"regulariser.batch_chunk: must be >= 1, got {batch_chunk}")
        if samples < 1:
            raise ValueError(f"regulariser.samples: need M >= 1 samples, got {samples}")
        self.batch_chunk, self.samples = batch_chunk, samples

    def forward(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        prior: Prior,
        progress: float,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        if not prior.standard_normal:
            raise ValueError("regulariser.name: 'density_gap' needs the gaussian prior")
        eps = torch.randn((self.samples, *mu.shape), dtype=mu.dtype, device=mu.device)
        gap = density_gap(mu, logvar, eps, self.batch_chunk)
        weight = self.schedule(progress)
        logs = {
            "dg": gap.mean().item(),
            "kl": gaussian_kl(mu, logvar).mean().item(),
            "kl_weight": weight,
        }
        return weight * gap, logs
