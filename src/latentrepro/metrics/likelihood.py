"""Likelihood-side metrics: Gaussian log densities, KL terms, importance-weighted log p(x), PPL.

Every function here is a pure tensor function: no module state, no randomness, no gradients
are stopped, and the result has the dtype/device of the inputs.

Conventions: the last dimension of a latent tensor is the latent dimension ``D``; a leading
``k`` dimension (where present) indexes importance / Monte Carlo samples and ``B`` indexes
examples in the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "LOG_2PI",
    "combine_iw_chunks",
    "gaussian_kl",
    "iw_log_likelihood",
    "log_normal_diag",
    "log_standard_normal",
    "logmeanexp",
    "mc_kl",
    "perplexity",
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


def iw_log_likelihood(log_weights: Tensor) -> Tensor:
    r"""Importance-weighted estimate of log p(x) from ``k`` log importance weights per example.

    .. math::

        \log p(x) \approx \mathcal{L}_k
          = \log \frac{1}{k} \sum_{i=1}^{k} w_i
          = \operatorname{logsumexp}_i(\log w_i) - \log k,
        \qquad \log w_i = \log p(x \mid z_i) + \log p(z_i) - \log q(z_i \mid x),
        \quad z_i \sim q(z \mid x)

    This is the importance-weighted bound of Burda, Grosse & Salakhutdinov, "Importance
    Weighted Autoencoders", ICLR 2016: ``E[L_k] <= log p(x)``, ``E[L_k]`` is non-decreasing in
    ``k`` and ``L_k -> log p(x)`` as ``k -> inf``. The evaluation protocol of He et al.,
    "Lagging Inference Networks and Posterior Collapse in Variational Autoencoders",
    ICLR 2019, reports it with ``k = 500``. For non-Gaussian (e.g. energy-based) priors,
    ``log p(z)`` is whatever (normalised or estimated) prior log density the caller uses.

    Args:
        log_weights: ``[k, B]`` log importance weights, samples along dim 0.

    Returns:
        ``[B]``: the estimate for each example.

    Raises:
        ValueError: if ``log_weights`` is not 2-D or has ``k == 0``.
    """
    if log_weights.dim() != 2:
        raise ValueError(
            "iw_log_likelihood: log_weights must be 2-D [k, B], got shape "
            f"{tuple(log_weights.shape)}"
        )
    return logmeanexp(log_weights, dim=0)


def combine_iw_chunks(chunk_estimates: Sequence[Tensor], chunk_sizes: Sequence[int]) -> Tensor:
    r"""Exactly combine per-chunk importance-weighted estimates into the estimate over all samples.

    If the ``k = sum_c k_c`` importance samples of each example were split into chunks and
    chunk ``c`` produced ``L_c = logsumexp_{i in c}(log w_i) - log k_c`` (the output of
    :func:`iw_log_likelihood` on that chunk), then

    .. math::

        \mathcal{L}_k = \operatorname{logsumexp}_c\big(\mathcal{L}_c + \log k_c\big) - \log k

    equals :func:`iw_log_likelihood` applied to all ``k`` weights at once (up to floating
    point rounding), so callers never need to hold ``[k, B]`` weights in memory. (The bound
    itself is Burda et al., ICLR 2016; this is only the associativity of logsumexp.)

    Args:
        chunk_estimates: one ``[B]`` tensor per chunk.
        chunk_sizes: the number of samples ``k_c`` behind each chunk's estimate.

    Returns:
        ``[B]``: the estimate over all ``sum(chunk_sizes)`` samples.

    Raises:
        ValueError: if there are no chunks, the two sequences differ in length, a chunk size is
            not a positive integer, or the chunk estimates differ in shape.
    """
    if len(chunk_estimates) == 0:
        raise ValueError("combine_iw_chunks: need at least one chunk, got none")
    if len(chunk_estimates) != len(chunk_sizes):
        raise ValueError(
            f"combine_iw_chunks: got {len(chunk_estimates)} chunk estimates but "
            f"{len(chunk_sizes)} chunk sizes"
        )
    sizes = [int(s) for s in chunk_sizes]
    bad = [s for s in sizes if s <= 0]
    if bad:
        raise ValueError(
            f"combine_iw_chunks: chunk sizes must be positive, got {list(chunk_sizes)}"
        )
    shapes = {tuple(t.shape) for t in chunk_estimates}
    if len(shapes) != 1:
        raise ValueError(f"combine_iw_chunks: chunk estimates differ in shape: {sorted(shapes)}")
    stacked = torch.stack(list(chunk_estimates), dim=0)
    log_sizes = torch.tensor(
        [math.log(s) for s in sizes], dtype=stacked.dtype, device=stacked.device
    ).reshape((-1,) + (1,) * (stacked.dim() - 1))
    return torch.logsumexp(stacked + log_sizes, dim=0) - math.log(sum(sizes))


def perplexity(total_nll: float, total_tokens: int) -> float:
    r"""Corpus perplexity from a summed negative log-likelihood (in nats).

    .. math::

        \mathrm{PPL} = \exp\Big(\frac{\sum_x -\log p(x)}{\sum_x |x|}\Big)

    where ``|x|`` counts the tokens of each sentence *including the end-of-sentence token*
    (but not the start-of-sentence token, which is conditioned on, never predicted). This is
    the convention of the text-VAE evaluation of He et al., "Lagging Inference Networks and
    Posterior Collapse in Variational Autoencoders", ICLR 2019, whose reported PPL uses the
    importance-weighted NLL (:func:`iw_log_likelihood`). The caller must count tokens that way.

    Args:
        total_nll: sum of ``-log p(x)`` over the corpus, in nats.
        total_tokens: total number of tokens, end-of-sentence tokens included.

    Returns:
        The perplexity, ``inf`` if ``total_nll / total_tokens`` overflows ``exp``.

    Raises:
        ValueError: if ``total_tokens <= 0``.
    """
    if total_tokens <= 0:
        raise ValueError(f"perplexity: total_tokens must be positive, got {total_tokens}")
    try:
        return math.exp(float(total_nll) / total_tokens)
    except OverflowError:
        return math.inf


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
