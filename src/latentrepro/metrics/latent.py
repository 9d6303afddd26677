r"""Latent-space diagnostics: aggregated-posterior density, mutual information, active units.

All inputs are the parameters of diagonal-Gaussian posteriors ``q(z|x_j) = N(mu_j,
diag(exp(logvar_j)))`` for ``N`` examples ``x_1..x_N`` (``mu``, ``logvar``: ``[N, D]``). The
*aggregated posterior* is the uniform mixture over exactly those rows,

.. math::

    \bar q(z) = \frac1N \sum_{j=1}^{N} q(z \mid x_j),

so the caller decides what it aggregates over (a mini-batch, as in He et al.'s training-time
diagnostics, or a whole split). :func:`length_grouped_batches` and
:func:`batched_mutual_information` give He et al.'s reported MI: the size-weighted mean of the
estimate over test batches of equal-length sentences.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from latentrepro.density import LOG_2PI
from latentrepro.progress import track

__all__ = [
    "active_units",
    "aggregate_posterior_log_densities",
    "aggregate_posterior_log_density",
    "batched_mutual_information",
    "length_grouped_batches",
    "mutual_information",
]


def _check_posterior(fn: str, mu: Tensor, logvar: Tensor) -> None:
    if mu.dim() != 2 or logvar.dim() != 2 or mu.shape != logvar.shape:
        raise ValueError(
            f"{fn}: mu and logvar must be 2-D [N, D] tensors of the same shape, got "
            f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)}"
        )
    if mu.shape[0] == 0:
        raise ValueError(f"{fn}: need at least one posterior row, got mu {tuple(mu.shape)}")


def _check_chunk_size(fn: str, chunk_size: int) -> None:
    if chunk_size < 1:
        raise ValueError(f"{fn}: chunk_size must be >= 1, got {chunk_size}")


def aggregate_posterior_log_density(
    z: Tensor,
    mu: Tensor,
    logvar: Tensor,
    *,
    per_dim: bool = False,
    chunk_size: int = 1024,
) -> Tensor:
    r"""Log density of the aggregated posterior (a uniform mixture of diagonal Gaussians).

    Joint (``per_dim=False``):

    .. math::

        \log \bar q(z_i) = \operatorname{logsumexp}_{j=1}^{N}
            \log \mathcal{N}(z_i; \mu_j, \operatorname{diag}\sigma_j^2) - \log N

    Per dimension (``per_dim=True``), each dimension's own marginal mixture:

    .. math::

        \log \bar q_d(z_{id}) = \operatorname{logsumexp}_{j=1}^{N}
            \log \mathcal{N}(z_{id}; \mu_{jd}, \sigma_{jd}^2) - \log N

    (the aggregated posterior / "average encoding distribution" q(z) of Hoffman & Johnson,
    "ELBO surgery", NIPS 2016 AABI workshop; the same minibatch estimator of log q(z) appears
    in He et al., "Lagging Inference Networks and Posterior Collapse in Variational
    Autoencoders", ICLR 2019). Note the per-dimension marginals do not sum to the joint
    unless ``N == 1`` (or the mixture factorises).

    The ``[M, N]`` (or ``[M, N, D]``) table of component log densities is built ``chunk_size``
    query rows at a time, so peak memory is ``O(chunk_size * N * D)``.

    Args:
        z: query points, ``[M, D]``.
        mu: component means, ``[N, D]``.
        logvar: component log variances, ``[N, D]``.
        per_dim: return per-dimension marginal log densities instead of the joint.
        chunk_size: number of query rows processed at once.

    Returns:
        ``[M]`` (joint) or ``[M, D]`` (``per_dim=True``).

    Raises:
        ValueError: on mismatched or non-2-D shapes, ``N == 0`` or ``chunk_size < 1``.
    """
    fn = "aggregate_posterior_log_density"
    joint, marginal = aggregate_posterior_log_densities(
        z, mu, logvar, joint=not per_dim, marginal=per_dim, chunk_size=chunk_size, fn=fn
    )
    return marginal if per_dim else joint


def aggregate_posterior_log_densities(
    z: Tensor,
    mu: Tensor,
    logvar: Tensor,
    *,
    joint: bool = True,
    marginal: bool = True,
    chunk_size: int = 1024,
    fn: str = "aggregate_posterior_log_densities",
) -> tuple[Tensor | None, Tensor | None]:
    """The joint ``[M]`` and per-dimension ``[M, D]`` log densities of
    :func:`aggregate_posterior_log_density` from one pass over the component table (the hole
    measures need both; None for one not asked for)."""
    _check_posterior(fn, mu, logvar)
    _check_chunk_size(fn, chunk_size)
    if z.dim() != 2 or z.shape[1] != mu.shape[1]:
        raise ValueError(
            f"{fn}: z must be 2-D [M, D] with D matching mu, got z {tuple(z.shape)} "
            f"and mu {tuple(mu.shape)}"
        )
    n, d = mu.shape
    log_n = math.log(n)
    inv_var = torch.exp(-logvar).unsqueeze(0)  # [1, N, D]
    mu_b = mu.unsqueeze(0)  # [1, N, D]
    const = (LOG_2PI + logvar).unsqueeze(0)  # [1, N, D]
    joints, marginals = [z.new_empty(0)], [z.new_empty(0, d)]
    starts = range(0, z.shape[0], chunk_size)
    for start in track(starts, f"qbar at {z.shape[0]:,} points ({fn})", unit="chunks"):
        zc = z[start : start + chunk_size].unsqueeze(1)  # [c, 1, D]
        comp = -0.5 * (const + (zc - mu_b).pow(2) * inv_var)  # [c, N, D]
        if marginal:
            marginals.append(torch.logsumexp(comp, dim=1) - log_n)  # [c, D]
        if joint:
            joints.append(torch.logsumexp(comp.sum(dim=-1), dim=1) - log_n)  # [c]
    return (
        torch.cat(joints) if joint else None,
        torch.cat(marginals) if marginal else None,
    )


def mutual_information(
    mu: Tensor,
    logvar: Tensor,
    *,
    generator: torch.Generator | None = None,
    chunk_size: int = 1024,
) -> float:
    r"""Monte Carlo estimate of the mutual information I(x; z) under the aggregated posterior.

    The estimator of He et al., "Lagging Inference Networks and Posterior Collapse in
    Variational Autoencoders", ICLR 2019 (their ``calc_mi`` diagnostic):

    .. math::

        I(x; z) = \mathbb{E}_{x}\mathbb{E}_{q(z|x)}[\log q(z \mid x)]
                 - \mathbb{E}_{\bar q(z)}[\log \bar q(z)]

    with ``x`` uniform over the ``N`` given rows and ``\bar q`` their aggregated posterior
    (see :func:`aggregate_posterior_log_density`). The first term is the analytic negative
    entropy of each diagonal Gaussian averaged over rows,

    .. math::

        \frac1N \sum_i \Big[-\tfrac{D}{2}\log 2\pi
            - \tfrac12 \sum_d (1 + \log\sigma_{id}^2)\Big],

    and the second uses one reparameterised sample per row, ``z_i = mu_i + sigma_i * eps_i``,
    ``eps_i ~ N(0, I)``, with ``log qbar(z_i) = logsumexp_j log q(z_i|x_j) - log N``. The
    estimate is unbiased for the mutual information between the row index and ``z``, lies in
    ``[0, log N]`` in expectation, and is noisy (it can stray slightly outside that range for
    a single draw; with identical posteriors it equals ``(mean_i ||eps_i||^2 - D) / 2``, zero
    only in expectation).

    Args:
        mu: posterior means, ``[N, D]``.
        logvar: posterior log variances, ``[N, D]``.
        generator: source of the reparameterisation noise; the result is deterministic for a
            given generator state. ``eps`` is drawn on the generator's device and moved to
            ``mu``'s device.
        chunk_size: rows of ``z`` whose ``[chunk, N, D]`` log densities are held at once.

    Returns:
        The estimate, in nats, as a Python float. No gradient is tracked.

    Raises:
        ValueError: on mismatched or non-2-D shapes, ``N == 0`` or ``chunk_size < 1``.
    """
    fn = "mutual_information"
    _check_posterior(fn, mu, logvar)
    _check_chunk_size(fn, chunk_size)
    n, d = mu.shape
    with torch.no_grad():
        neg_entropy = (-0.5 * d * LOG_2PI - 0.5 * (1.0 + logvar).sum(dim=-1)).mean()
        noise_device = generator.device if generator is not None else mu.device
        eps = torch.randn((n, d), generator=generator, dtype=mu.dtype, device=noise_device)
        z = mu + torch.exp(0.5 * logvar) * eps.to(mu.device)
        log_qz = aggregate_posterior_log_density(z, mu, logvar, chunk_size=chunk_size)
        return float(neg_entropy - log_qz.mean())


def length_grouped_batches(lengths: Tensor, batch_size: int) -> list[Tensor]:
    """Row indices of the evaluation batches of He et al. (2019): rows sorted by length, each
    run of equal lengths cut into consecutive batches of at most ``batch_size``, so the last
    batch of a length may hold fewer rows, down to one.

    As ``MonoTextData.create_data_batch`` builds its test batches (jxhe/vae-lagging-encoder
    @ cdc4eb9, data/text_data.py:219-255; the batch size is the configs' 32,
    config/config_yahoo.py:11). Rows of equal length keep their order here (a stable sort;
    the authors' ``np.argsort`` does not promise one).
    """
    if lengths.dim() != 1 or lengths.numel() == 0:
        raise ValueError(
            f"length_grouped_batches: lengths must be 1-D and non-empty, got {tuple(lengths.shape)}"
        )
    if batch_size < 1:
        raise ValueError(f"length_grouped_batches: batch_size must be >= 1, got {batch_size}")
    order = torch.sort(lengths, stable=True).indices
    counts = torch.unique_consecutive(lengths[order], return_counts=True)[1]
    return [batch for group in order.split(counts.tolist()) for batch in group.split(batch_size)]


def batched_mutual_information(
    mu: Tensor,
    logvar: Tensor,
    batches: list[Tensor],
    *,
    generator: torch.Generator | None = None,
) -> float:
    r"""He et al.'s reported MI: :func:`mutual_information` within each batch (q̄ over the
    batch), averaged with the batch sizes as weights,

    .. math::

        I = \frac{\sum_b |b|\, I_b}{\sum_b |b|}

    (``calc_mi``, jxhe/vae-lagging-encoder @ cdc4eb9, text.py:189-197, called at text.py:148
    on the test batches of text.py:348). Every batch counts,
    one of a single row too (its estimate is 0 in expectation), and the weights are the sizes
    of the batches used, so the result is a mean over exactly the rows in ``batches``.
    """
    if not batches:
        raise ValueError("batched_mutual_information: no batches given")
    total = sum(len(b) * mutual_information(mu[b], logvar[b], generator=generator) for b in batches)
    return total / sum(len(b) for b in batches)


def active_units(mu: Tensor, threshold: float = 0.01) -> tuple[int, Tensor]:
    r"""Count active latent units from the posterior means of ``N`` examples.

    .. math::

        A_d = \operatorname{Var}_{x}\big(\mathbb{E}_{q(z|x)}[z_d]\big)
            = \frac{1}{N-1} \sum_{i=1}^{N} (\mu_{id} - \bar\mu_d)^2,
        \qquad \mathrm{AU} = \#\{d : A_d \ge \delta\}

    (activity statistic of Burda, Grosse & Salakhutdinov, "Importance Weighted
    Autoencoders", ICLR 2016, with ``delta = 0.01``; the ``>=`` comparison and
    the unbiased variance follow the evaluation of He et al., ICLR 2019).

    Args:
        mu: posterior means ``E_q[z | x_i]``, ``[N, D]``.
        threshold: the activity threshold ``delta``.

    Returns:
        ``(count, variances)``: the number of active units and the ``[D]`` per-dimension
        variances ``A_d``.

    Raises:
        ValueError: if ``mu`` is not 2-D or ``N < 2`` (the unbiased variance is undefined).
    """
    if mu.dim() != 2:
        raise ValueError(f"active_units: mu must be 2-D [N, D], got shape {tuple(mu.shape)}")
    if mu.shape[0] < 2:
        raise ValueError(
            f"active_units: need N >= 2 posterior means for an unbiased variance, got mu "
            f"{tuple(mu.shape)}"
        )
    with torch.no_grad():
        variances = mu.var(dim=0, correction=1)
    return int((variances >= threshold).sum().item()), variances
