r"""Hole measures: how much of the prior the aggregated posterior leaves uncovered (DG-VAE).

Zhang et al., "Improving Variational Autoencoders with Density Gap-based Regularization",
NeurIPS 2022, measure the *hole problem* with

- ``KL(p || qbar)``: the KL from the prior to the aggregated posterior of a whole split,
  estimated with ``S`` samples of the prior,

  .. math::

      \mathrm{KL}(p \,\|\, \bar q) \approx \frac1S \sum_{s=1}^{S}
          \big[\log p(z_s) - \log \bar q(z_s)\big], \qquad z_s \sim p(z);

- CU, "continuous units": the number of dimensions whose marginal ``KL(p_d || qbar_d)``
  (the same estimate on dimension d's marginals) is below a threshold (0.03 in the paper).

A large KL(p || qbar) means regions of high prior density that no posterior covers, which
decode to poor samples. The prior here is the standard normal N(0, I).

CU measures holes only: a collapsed dimension, whose posteriors all equal the prior, has
qbar_d = p_d and counts as continuous. A fully collapsed VAE therefore scores CU = D; read CU
next to AU. The authors estimate both divergences from 1000 x 128 = 128,000 prior draws
(``test_kl_hole``, DG-VAEs @ 6ad9e59, load_and_test_models.py:179-231).
"""

from __future__ import annotations

import torch
from torch import Tensor

from latentrepro.density import LOG_2PI
from latentrepro.metrics.latent import aggregate_posterior_log_densities

__all__ = ["continuous_units", "prior_to_aggregate_kl", "prior_to_aggregate_kl_with_error"]


def prior_to_aggregate_kl(
    z: Tensor, mu: Tensor, logvar: Tensor, *, chunk_size: int = 256
) -> tuple[float, Tensor]:
    """Monte Carlo KL(p || qbar) jointly and per dimension, for p = N(0, I).

    Args:
        z: samples of the prior, ``[S, D]``.
        mu, logvar: the posteriors ``[N, D]`` whose uniform mixture is qbar.
        chunk_size: prior samples whose ``[chunk, N, D]`` log densities are held at once.

    Returns:
        ``(kl, kl_per_dim)``: the joint estimate (nats) and the ``[D]`` marginal estimates.
        Both are unbiased for the divergences; the marginal ones can be slightly negative for
        a dimension where qbar_d equals p_d.
    """
    kl, kl_dims, _ = prior_to_aggregate_kl_with_error(z, mu, logvar, chunk_size=chunk_size)
    return kl, kl_dims


def prior_to_aggregate_kl_with_error(
    z: Tensor, mu: Tensor, logvar: Tensor, *, chunk_size: int = 256
) -> tuple[float, Tensor, float]:
    """:func:`prior_to_aggregate_kl` and the standard error of the joint estimate,
    ``std_s(log p(z_s) - log qbar(z_s)) / sqrt(S)``."""
    if z.dim() != 2 or z.shape[0] == 0:
        raise ValueError(f"prior_to_aggregate_kl: z must be [S >= 1, D], got {tuple(z.shape)}")
    with torch.no_grad():
        log_p_dims = -0.5 * (LOG_2PI + z.pow(2))  # [S, D]
        log_q, log_q_dims = aggregate_posterior_log_densities(
            z, mu, logvar, chunk_size=chunk_size, fn="prior_to_aggregate_kl"
        )
        gaps = log_p_dims.sum(dim=-1) - log_q
        kl_dims = (log_p_dims - log_q_dims).mean(dim=0)
        error = gaps.std().item() / z.shape[0] ** 0.5 if z.shape[0] > 1 else float("nan")
    return float(gaps.mean()), kl_dims, error


def continuous_units(kl_per_dim: Tensor, threshold: float = 0.03) -> int:
    """CU: the number of dimensions d with KL(p_d || qbar_d) < ``threshold``."""
    if threshold <= 0:
        raise ValueError(f"continuous_units: threshold must be > 0, got {threshold}")
    return int((kl_per_dim < threshold).sum().item())
