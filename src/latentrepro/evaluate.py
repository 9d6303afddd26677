"""Evaluation of trained text VAEs on a whole split (He et al. 2019 protocol).

- NLL: importance-weighted log p(x) with k samples from q(z|x) (Burda et al. 2016), drawn in
  chunks of ``iw_chunk`` so memory stays bounded; reported per sentence.
- PPL = exp(sum NLL / sum tokens), tokens counting ``</s>`` but not ``<s>``.
- KL: E_x KL(q(z|x) || p(z)), analytic for the Gaussian prior, Monte Carlo otherwise.
- rec: -E_q log p(x|z) with one sample; neg_elbo = rec + KL.
- MI: He et al.'s estimator with q(z) aggregated over the whole split or over each batch.
- AU: dimensions with Var_x E_q[z_d] >= threshold over the split.
- ``max_sentences`` (optional) restricts everything to the split's first sentences.
- A prior whose ``log_prob`` is not trustworthy (``reports_likelihood`` False) gets NaN for
  NLL, PPL, KL and neg_elbo rather than a misleading number.
- Hole measures (Zhang et al. 2022, DG-VAE), for the standard normal prior: KL(p || qbar) from
  ``hole_samples`` prior draws with qbar aggregated over the whole split, and CU, the number of
  dimensions whose marginal KL(p_d || qbar_d) is below ``cu_threshold``. The sample count is
  written into the metrics as ``hole_samples``.
"""

from __future__ import annotations

from typing import Any

import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.metrics import (
    active_units,
    combine_iw_chunks,
    continuous_units,
    iw_log_likelihood,
    log_normal_diag,
    mutual_information,
    perplexity,
    prior_to_aggregate_kl,
)
from latentrepro.models.priors import GaussianPrior
from latentrepro.models.regularisers import kl_divergence
from latentrepro.models.text import TextVAE

#: Defaults of the hole measures (the DG-VAE paper's CU threshold is 0.03).
HOLE_SAMPLES = 1000
CU_THRESHOLD = 0.03


@torch.no_grad()
def evaluate_text_vae(
    model: TextVAE, split: TokenSplit, settings: dict[str, Any], seed: int, device: torch.device
) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """Return (metrics, latents) where latents holds the posterior means and labels of the split."""
    torch.manual_seed(seed)
    model.to(device).eval()
    split = first_sentences(split, settings.get("max_sentences"))
    k, chunk = settings["iw_samples"], settings.get("iw_chunk", settings["iw_samples"])
    aggregate = settings.get("mi_aggregate", "split")
    mi_generator = torch.Generator(device=device).manual_seed(seed)
    sums = {"nll": 0.0, "tokens": 0, "kl": 0.0, "rec": 0.0, "batch_mi": 0.0}
    mus, logvars = [], []
    for batch in split.batches(settings["batch_size"], device=device):
        mu, logvar = model.posterior(batch)
        if model.prior.reports_likelihood:
            sums["nll"] -= iw_log_likelihood_sum(model, batch["tokens"], mu, logvar, k, chunk)
        sums["tokens"] += int((batch["lengths"] - 1).sum())
        z = model.reparameterise(mu, logvar)
        if model.prior.reports_likelihood:
            sums["kl"] += kl_divergence(mu, logvar, z, model.prior).sum().item()
        sums["rec"] -= model.log_likelihood(batch["tokens"], z).sum().item()
        if aggregate == "batch" and mu.size(0) > 1:
            sums["batch_mi"] += mutual_information(mu, logvar, generator=mi_generator) * mu.size(0)
        mus.append(mu.cpu())
        logvars.append(logvar.cpu())
    n = len(split)
    mu_all, logvar_all = torch.cat(mus), torch.cat(logvars)
    if aggregate == "split":
        mi = mutual_information(mu_all, logvar_all, generator=torch.Generator().manual_seed(seed))
    else:
        mi = sums["batch_mi"] / n
    au, _ = active_units(mu_all, settings.get("au_threshold", 0.01))
    metrics = {
        "nll": sums["nll"] / n,
        "ppl": perplexity(sums["nll"], sums["tokens"]),
        "kl": sums["kl"] / n,
        "rec": sums["rec"] / n,
        "neg_elbo": (sums["rec"] + sums["kl"]) / n,
        "mi": mi,
        "au": au,
        "sentences": n,
        "tokens": sums["tokens"],
    }
    if not model.prior.reports_likelihood:
        metrics.update(dict.fromkeys(("nll", "ppl", "kl", "neg_elbo"), float("nan")))
    if isinstance(model.prior, GaussianPrior):
        metrics.update(hole_measures(mu_all, logvar_all, settings, seed))
    latents = {"mu": mu_all, "logvar": logvar_all, "labels": dict(split.labels)}
    return metrics, latents


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
    """KL(N(0, I) || qbar), CU and the number of prior samples behind them (qbar over all rows
    of ``mu``, ``logvar``, held on the CPU)."""
    samples = settings.get("hole_samples", HOLE_SAMPLES)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, mu.size(1), generator=generator, dtype=mu.dtype)
    kl, kl_dims = prior_to_aggregate_kl(z, mu, logvar)
    return {
        "cu": continuous_units(kl_dims, settings.get("cu_threshold", CU_THRESHOLD)),
        "kl_p_qbar": kl,
        "hole_samples": samples,
    }
