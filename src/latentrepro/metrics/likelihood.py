"""Likelihood-side metrics: importance-weighted log p(x) and perplexity.

The Gaussian log densities and KL terms they build on are :mod:`latentrepro.density`.

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

from latentrepro.density import logmeanexp

__all__ = ["combine_iw_chunks", "iw_log_likelihood", "perplexity"]


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
