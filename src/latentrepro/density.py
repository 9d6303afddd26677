"""Density primitives: Gaussian log densities, KL terms, log-mean-exp.

The bottom floor of the package's maths: priors, regularisers and metrics import these; this
module imports only torch. Every function is a pure tensor function (no module state, no
randomness, gradients kept, the dtype/device of the inputs).

Conventions: the last dimension of a latent tensor is the latent dimension ``D``; a leading
``k`` dimension (where present) indexes importance / Monte Carlo samples and ``B`` indexes
examples in the batch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "LOG_2PI",
    "gaussian_kl",
    "log_normal_diag",
    "log_standard_normal",
    "logmeanexp",
    "mc_kl",
]

LOG_2PI: float = math.log(2.0 * math.pi)
"""log(2π), the per-dimension normalising constant of a Gaussian density."""


def log_normal_diag(x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    r"""Log density of a diagonal Gaussian, summed over the last dimension.

    .. math::

        \log \mathcal{N}(x; \mu, \operatorname{diag}(\sigma^2))
          = -\tfrac12 \sum_{d=1}^{D} \Big[\log 2\pi + \log\sigma_d^2
            + \frac{(x_d - \mu_d)^2}{\sigma_d^2}\Big],
        \qquad \sigma_d^2 = \exp(\text{logvar}_d)

    (the multivariate normal density with diagonal covariance, as in the Gaussian encoder of
    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Appendix C.2).

    Args:
        x: points, ``[..., D]``.
        mu: means, broadcastable against ``x`` (e.g. ``x`` ``[k, B, D]`` with ``mu`` ``[B, D]``).
        logvar: log variances, broadcastable against ``x`` and ``mu``.

    Returns:
        The log density with the last (``D``) dimension summed out, shape
        ``broadcast(x, mu, logvar).shape[:-1]``.
    """
    sq = (x - mu).pow(2) * torch.exp(-logvar)
    return -0.5 * (LOG_2PI + logvar + sq).sum(dim=-1)


def log_standard_normal(x: Tensor) -> Tensor:
    r"""Log density of the standard normal, summed over the last dimension.

    .. math::

        \log \mathcal{N}(x; 0, I) = -\tfrac{D}{2}\log 2\pi - \tfrac12 \lVert x \rVert^2

    (the usual VAE prior p(z); Kingma & Welling, ICLR 2014).

    Args:
        x: points, ``[..., D]``.

    Returns:
        ``[...]``: the log density with the last dimension summed out.
    """
    return -0.5 * (LOG_2PI + x.pow(2)).sum(dim=-1)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""Analytic KL divergence from a diagonal Gaussian to the standard normal, per example.

    .. math::

        \mathrm{KL}\big(\mathcal{N}(\mu, \operatorname{diag}\sigma^2)\,\|\,
          \mathcal{N}(0, I)\big)
          = -\tfrac12 \sum_{d=1}^{D} \big(1 + \log\sigma_d^2 - \mu_d^2 - \sigma_d^2\big)

    (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Appendix B).

    Args:
        mu: posterior means, ``[B, D]`` (any ``[..., D]`` works).
        logvar: posterior log variances, same shape as ``mu``.

    Returns:
        ``[B]`` (``[...]``): the KL of each example, summed over latent dimensions.

    Raises:
        ValueError: if ``mu`` and ``logvar`` have different shapes.
    """
    if mu.shape != logvar.shape:
        raise ValueError(
            f"gaussian_kl: mu and logvar must have the same shape, got mu {tuple(mu.shape)} "
            f"and logvar {tuple(logvar.shape)}"
        )
    return -0.5 * (1.0 + logvar - mu.pow(2) - torch.exp(logvar)).sum(dim=-1)


def logmeanexp(x: Tensor, dim: int) -> Tensor:
    r"""Numerically stable ``log(mean(exp(x)))`` along ``dim``.

    .. math::

        \operatorname{logmeanexp}_k(x_k) = \operatorname{logsumexp}_k(x_k) - \log K

    where ``K = x.shape[dim]``; ``logsumexp`` subtracts the maximum before exponentiating, so
    large or very negative inputs neither overflow nor underflow (entries equal to ``-inf``
    are allowed and contribute zero mass).

    Args:
        x: input tensor.
        dim: dimension to reduce.

    Returns:
        ``x`` with ``dim`` reduced away.

    Raises:
        ValueError: if ``x.shape[dim] == 0`` (the mean of nothing is undefined).
    """
    k = x.shape[dim]
    if k == 0:
        raise ValueError(
            f"logmeanexp: cannot reduce an empty dimension {dim} of shape {tuple(x.shape)}"
        )
    return torch.logsumexp(x, dim=dim) - math.log(k)


def mc_kl(log_q: Tensor, log_p: Tensor) -> Tensor:
    r"""Monte Carlo estimate of KL(q(z|x) || p(z)) from samples ``z_i ~ q(z|x)``.

    .. math::

        \mathrm{KL}(q \,\|\, p) \approx \frac1k \sum_{i=1}^{k}
          \big[\log q(z_i \mid x) - \log p(z_i)\big], \qquad z_i \sim q(z \mid x)

    Unbiased for the KL when ``log p`` is the normalised prior density; used where the prior
    has no closed-form KL (e.g. the energy-based latent prior of Pang et al., "Learning
    Latent Space Energy-Based Prior Model", NeurIPS 2020). Follows from the definition
    KL(q||p) = E_q[log q - log p] (Kingma & Welling, ICLR 2014, Eq. 2).

    Args:
        log_q: ``[k, B]`` values of ``log q(z_i | x)``.
        log_p: ``[k, B]`` values of ``log p(z_i)`` at the same samples.

    Returns:
        ``[B]``: the estimate per example.

    Raises:
        ValueError: if the two shapes differ or are not 2-D, or ``k == 0``.
    """
    if log_q.shape != log_p.shape or log_q.dim() != 2:
        raise ValueError(
            f"mc_kl: log_q and log_p must both be [k, B] with the same shape, got "
            f"log_q {tuple(log_q.shape)} and log_p {tuple(log_p.shape)}"
        )
    if log_q.shape[0] == 0:
        raise ValueError(f"mc_kl: need at least one sample, got shape {tuple(log_q.shape)}")
    return (log_q - log_p).mean(dim=0)
