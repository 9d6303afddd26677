"""Evaluation of trained text VAEs on a whole split (He et al. 2019 protocol).

- NLL: importance-weighted log p(x) with k samples from q(z|x) (Burda et al. 2016), drawn in
  chunks of ``iw_chunk`` so memory stays bounded; reported per sentence.
- PPL = exp(sum NLL / sum tokens), tokens counting ``</s>`` but not ``<s>``.
- KL: E_x KL(q(z|x) || p(z)), analytic for the Gaussian prior, Monte Carlo otherwise.
- rec: -E_q log p(x|z) with one sample; neg_elbo = rec + KL.
- MI: He et al.'s estimator, ``mi_aggregate`` choosing the set q(z) is aggregated over:
  ``split`` pools the whole evaluated split (DG-VAEs' ``calc_mi``); ``he_batches`` is what He
  et al. report, the size-weighted mean over batches of ``mi_batch_size`` equal-length
  sentences (:func:`~latentrepro.metrics.latent.length_grouped_batches`). They differ by a lot
  (the pooled estimate can reach log N, a batch's only log 32), so the choice is named in the
  metrics JSON and in every table header.
- AU: dimensions with Var_x E_q[z_d] >= threshold over the split.
- ``max_sentences`` (optional) restricts everything to the split's first sentences.
- A prior whose ``log_prob`` is not trustworthy (``reports_likelihood`` False) gets NaN for
  NLL, PPL, KL and neg_elbo rather than a misleading number, with the reason in
  ``null_reasons`` (the metrics JSON holds null).
- Hole measures (Zhang et al. 2022, DG-VAE), for the standard normal prior: KL(p || qbar) from
  ``hole_samples`` prior draws (the authors': 1000 x 128) with qbar aggregated over the whole
  split, its standard error, and CU, the number of dimensions whose marginal KL(p_d || qbar_d)
  is below ``cu_threshold``. CU counts collapsed dimensions as continuous.

:func:`protocol_names` names these choices for table headers and captions.
"""

from __future__ import annotations

from typing import Any

import torch

from latentrepro.data.batches import DEFAULT_BATCHING, TokenSplit
from latentrepro.metrics import (
    active_units,
    batched_mutual_information,
    combine_iw_chunks,
    continuous_units,
    iw_log_likelihood,
    length_grouped_batches,
    log_normal_diag,
    mutual_information,
    perplexity,
)
from latentrepro.metrics.holes import prior_to_aggregate_kl_with_error
from latentrepro.models.regularisers import kl_divergence
from latentrepro.models.text import TextVAE
from latentrepro.progress import track

#: Defaults of the hole measures: the authors' 1000 x 128 prior draws (DG-VAEs @ 6ad9e59,
#: load_and_test_models.py:179) and the paper's CU threshold (load_and_test_models.py:34).
HOLE_SAMPLES = 128_000
CU_THRESHOLD = 0.03
#: He et al.'s evaluation batch size (vae-lagging-encoder @ cdc4eb9, config/config_yahoo.py:11).
MI_BATCH_SIZE = 32
#: Metrics left undefined under a prior without a trustworthy normalised log p(z).
LIKELIHOOD_METRICS = ("nll", "ppl", "kl", "neg_elbo")


def protocol_names(settings: dict[str, Any], gaussian_prior: bool = True) -> dict[str, str]:
    """Human-readable names of the estimator choices behind the numbers, by metric: ``mi``
    heads the MI column; the others go into the caption of every table of these metrics."""
    names = {
        "nll": f"NLL importance-weighted with k = {settings['iw_samples']}",
        "mi": mi_name(settings),
    }
    if gaussian_prior:
        samples = settings.get("hole_samples", HOLE_SAMPLES)
        threshold = settings.get("cu_threshold", CU_THRESHOLD)
        names["holes"] = (
            f"KL(p||qbar) and CU from {samples:,} prior draws; CU = dims with "
            f"KL(p_d||qbar_d) < {threshold:g}, collapsed dims counting as continuous"
        )
    if settings.get("max_sentences") is not None:
        names["subset"] = f"first {settings['max_sentences']:,} sentences of the split"
    return names


def mi_name(settings: dict[str, Any]) -> str:
    """The MI column's header: which set q(z) is aggregated over."""
    aggregate = settings.get("mi_aggregate", "split")
    if aggregate == "split":
        return "MI (pooled over split)"
    if aggregate == "he_batches":
        return f"MI (He et al. batches of {settings.get('mi_batch_size', MI_BATCH_SIZE)})"
    raise ValueError(f"evaluate.mi_aggregate: unknown {aggregate!r}; known: split, he_batches")


@torch.no_grad()
def evaluate_text_vae(
    model: TextVAE, split: TokenSplit, settings: dict[str, Any], seed: int, device: torch.device
) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """Return (metrics, latents) where latents holds the posterior means and labels of the split."""
    torch.manual_seed(seed)
    model.to(device).eval()
    split = first_sentences(split, settings.get("max_sentences"))
    k, chunk = settings["iw_samples"], settings.get("iw_chunk", settings["iw_samples"])
    reports_likelihood = model.prior.reports_likelihood
    mi_name(settings)  # an unknown aggregation fails before the long pass
    sums = {"nll": 0.0, "tokens": 0, "kl": 0.0, "rec": 0.0}
    mus, logvars, indices = [], [], []
    batching = settings.get("batching", DEFAULT_BATCHING)
    batches = split.batches(settings["batch_size"], device=device, batching=batching)
    total = -(-len(split) // settings["batch_size"])
    desc = f"evaluate ({'IW-NLL k = ' + str(k) if reports_likelihood else 'no NLL'})"
    for batch in track(batches, desc, total, "batches"):
        mu, logvar = model.posterior(batch)
        if reports_likelihood:
            sums["nll"] -= iw_log_likelihood_sum(model, batch["tokens"], mu, logvar, k, chunk)
        sums["tokens"] += int((batch["lengths"] - 1).sum())
        z = model.reparameterise(mu, logvar)
        if reports_likelihood:
            sums["kl"] += kl_divergence(mu, logvar, z, model.prior).sum().item()
        sums["rec"] -= model.log_likelihood(batch["tokens"], z).sum().item()
        mus.append(mu.cpu())
        logvars.append(logvar.cpu())
        indices.append(batch["index"].cpu())
    n = len(split)
    # Back in split order (bucketed batches visit it by length): rows line up with lengths
    # and labels.
    order = torch.cat(indices).argsort()
    mu_all, logvar_all = torch.cat(mus)[order], torch.cat(logvars)[order]
    au, _ = active_units(mu_all, settings.get("au_threshold", 0.01))
    metrics: dict[str, Any] = {
        "nll": sums["nll"] / n,
        "ppl": perplexity(sums["nll"], sums["tokens"]),
        "kl": sums["kl"] / n,
        "rec": sums["rec"] / n,
        "neg_elbo": (sums["rec"] + sums["kl"]) / n,
        "mi": split_mutual_information(mu_all, logvar_all, split.lengths, settings, seed),
        "au": au,
        "sentences": n,
        "tokens": sums["tokens"],
    }
    if not reports_likelihood:
        metrics.update(dict.fromkeys(LIKELIHOOD_METRICS, float("nan")))
        reason = (
            f"the {type(model.prior).__name__} prior has no trustworthy normalised log p(z) "
            "(reports_likelihood is False), so this is not estimated"
        )
        metrics["null_reasons"] = dict.fromkeys(LIKELIHOOD_METRICS, reason)
    gaussian = model.prior.standard_normal  # the hole measures draw from N(0, I)
    if gaussian:
        metrics.update(hole_measures(mu_all, logvar_all, settings, seed))
    metrics["protocol_names"] = protocol_names(settings, gaussian)
    latents = {"mu": mu_all, "logvar": logvar_all, "labels": dict(split.labels)}
    return metrics, latents


def split_mutual_information(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    lengths: torch.Tensor,
    settings: dict[str, Any],
    seed: int,
) -> float:
    """MI of the split's posteriors with q(z) aggregated as ``settings["mi_aggregate"]`` says
    (see the module docstring); one noise draw per posterior from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    if settings.get("mi_aggregate", "split") == "split":
        return mutual_information(mu, logvar, generator=generator)
    batches = length_grouped_batches(lengths, settings.get("mi_batch_size", MI_BATCH_SIZE))
    return batched_mutual_information(mu, logvar, batches, generator=generator)


def iw_log_likelihood_sum(
    model: TextVAE,
    tokens: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    chunk: int,
) -> float:
    """Sum over the batch of the importance-weighted estimate of log p(x) with k samples of
    q(z|x), drawn ``chunk`` at a time (Burda et al. 2016)."""
    estimates, sizes = [], []
    for start in range(0, k, chunk):
        z = model.reparameterise(mu, logvar, min(chunk, k - start))
        log_w = (
            model.log_likelihood(tokens, z)
            + model.prior.log_prob(z)
            - log_normal_diag(z, mu, logvar)
        )
        estimates.append(iw_log_likelihood(log_w))
        sizes.append(z.size(0))
    return combine_iw_chunks(estimates, sizes).sum().item()


def first_sentences(split: TokenSplit, limit: int | None) -> TokenSplit:
    """The first ``limit`` sentences of ``split`` (all of it for ``None``)."""
    if limit is None or limit >= len(split):
        return split
    labels = {name: values[:limit] for name, values in split.labels.items()}
    return TokenSplit(split.tokens[:limit], split.lengths[:limit], labels)


def hole_measures(
    mu: torch.Tensor, logvar: torch.Tensor, settings: dict[str, Any], seed: int
) -> dict[str, float]:
    """KL(N(0, I) || qbar) with its standard error, CU and the number of prior samples behind
    them (qbar over all rows of ``mu``, ``logvar``, held on the CPU)."""
    samples = settings.get("hole_samples", HOLE_SAMPLES)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, mu.size(1), generator=generator, dtype=mu.dtype)
    kl, kl_dims, error = prior_to_aggregate_kl_with_error(z, mu, logvar)
    return {
        "cu": continuous_units(kl_dims, settings.get("cu_threshold", CU_THRESHOLD)),
        "kl_p_qbar": kl,
        "kl_p_qbar_se": error,
        "hole_samples": samples,
    }
