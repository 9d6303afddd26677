"""Evaluation of trained text VAEs on a whole split (He et al. 2019 protocol).

- NLL: importance-weighted log p(x) with k samples from q(z|x) (Burda et al. 2016), drawn in
  chunks of ``iw_chunk`` so memory stays bounded; reported per sentence.
- PPL = exp(sum NLL / sum tokens), tokens counting ``</s>`` but not ``<s>``.
- KL: E_x KL(q(z|x) || p(z)), analytic for the Gaussian prior, Monte Carlo otherwise.
- rec: -E_q log p(x|z) with one sample; neg_elbo = rec + KL.
- MI: He et al.'s estimator with q(z) aggregated over the whole split or over each batch.
- AU: dimensions with Var_x E_q[z_d] >= threshold over the split.
"""

from __future__ import annotations

from typing import Any

import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.metrics import (
    active_units,
    combine_iw_chunks,
    iw_log_likelihood,
    log_normal_diag,
    mutual_information,
    perplexity,
)
from latentrepro.models.regularisers import kl_divergence
from latentrepro.models.text import TextVAE


@torch.no_grad()
def evaluate_text_vae(
    model: TextVAE, split: TokenSplit, settings: dict[str, Any], seed: int, device: torch.device
) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """Return (metrics, latents) where latents holds the posterior means and labels of the split."""
    torch.manual_seed(seed)
    model.to(device).eval()
    k, chunk = settings["iw_samples"], settings.get("iw_chunk", settings["iw_samples"])
    aggregate = settings.get("mi_aggregate", "split")
    mi_generator = torch.Generator(device=device).manual_seed(seed)
    sums = {"nll": 0.0, "tokens": 0, "kl": 0.0, "rec": 0.0, "batch_mi": 0.0}
    mus, logvars = [], []
    for batch in split.batches(settings["batch_size"], device=device):
        mu, logvar = model.posterior(batch)
        estimates, sizes = [], []
        for start in range(0, k, chunk):
            z = model.reparameterise(mu, logvar, min(chunk, k - start))
            log_w = (
                model.log_likelihood(batch["tokens"], z)
                + model.prior.log_prob(z)
                - log_normal_diag(z, mu, logvar)
            )
            estimates.append(iw_log_likelihood(log_w))
            sizes.append(z.size(0))
        sums["nll"] -= combine_iw_chunks(estimates, sizes).sum().item()
        sums["tokens"] += int((batch["lengths"] - 1).sum())
        z = model.reparameterise(mu, logvar)
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
    latents = {"mu": mu_all, "labels": dict(split.labels)}
    return metrics, latents
