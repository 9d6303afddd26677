"""Evaluation of EBM-prior models: symbol-coupled text VAEs (He et al. protocol plus symbol
agreement and reconstruction BLEU) and 2-D density models (sample scores and density grids)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.data.points import PointSplit
from latentrepro.evaluate import evaluate_text_vae, first_sentences
from latentrepro.metrics.clustering import symbol_agreement
from latentrepro.metrics.generation import corpus_bleu
from latentrepro.metrics.samples import mmd_squared, mode_coverage
from latentrepro.models.points import PointDensityModel
from latentrepro.models.priors import LatentEBMPrior
from latentrepro.models.text.symbol_vae import SymbolTextVAE

#: Side of the square grid on which 2-D log densities are evaluated for the figures.
GRID_SIDE = 50


def _log_partition_context(prior: Any, seed: int) -> contextlib.AbstractContextManager:
    """One log Z estimate for a whole evaluation where the prior has a global normaliser."""
    if isinstance(prior, LatentEBMPrior):
        return prior.frozen_partition(torch.Generator(prior._anchor.device).manual_seed(seed))
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate_symbol_vae(
    model: SymbolTextVAE,
    split: TokenSplit,
    settings: dict[str, Any],
    seed: int,
    device: torch.device,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """He et al.'s metrics with the prior's normalised ``log_prob``, NMI and homogeneity of the
    inferred symbol argmax_y p(y | z = E_q z) against every label of the split (each label
    kept apart), and corpus BLEU of greedy reconstructions from E_q z."""
    with _log_partition_context(model.prior, seed) as log_z:
        metrics, latents = evaluate_text_vae(model, split, settings, seed, device)
    split = first_sentences(split, settings.get("max_sentences"))
    mu = latents["mu"]
    symbols = torch.cat(
        [model.prior.symbol_logits(chunk.to(device)).argmax(-1).cpu() for chunk in mu.split(1024)]
    )
    for name, labels in sorted(split.labels.items()):
        for key, value in symbol_agreement(labels, symbols).items():
            metrics[f"{name}_{key}"] = value
    metrics["symbols_used"] = int(symbols.unique().numel())
    hypotheses, references = [], []
    max_length = split.tokens.size(1) - 2
    for index in torch.arange(len(split)).split(settings["batch_size"]):
        decoded = model.decoder.generate(mu[index].to(device), max_length)
        hypotheses += [[str(i) for i in row] for row in decoded]
        for row, length in zip(split.tokens[index], split.lengths[index], strict=True):
            references.append([str(i) for i in row[1 : int(length) - 1].tolist()])
    metrics["bleu"] = corpus_bleu(hypotheses, references)
    if log_z is not None:
        metrics["log_z"] = log_z
    metrics["estimators"] = {
        "log_partition": model.prior.estimator,
        "symbol": "argmax_y p(y | z = E_q[z]) over the whole split",
        "bleu": "sacrebleu corpus BLEU of greedy reconstructions from E_q[z], tokenize=none",
    }
    latents["symbol"] = symbols
    return metrics, latents


@torch.no_grad()
def evaluate_points(
    model: PointDensityModel,
    split: PointSplit,
    settings: dict[str, Any],
    seed: int,
    device: torch.device,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw as many prior samples as the split has points (the model's full Langevin budget)
    and score them: MMD^2 to the split, modes covered, fraction on the data; log densities on
    a grid and the estimated NLL of the split."""
    torch.manual_seed(seed)
    model.to(device).eval()
    prior = model.prior
    generator = torch.Generator(device).manual_seed(seed)
    data, (name, labels) = split.x.to(device), next(iter(sorted(split.labels.items())))
    samples = prior.sample(len(split), generator=generator).cpu()
    covered, on_data = mode_coverage(samples, split.x, labels)
    lo, hi = split.x.min(0).values - 0.5, split.x.max(0).values + 0.5
    axes = [torch.linspace(lo[i].item(), hi[i].item(), GRID_SIDE) for i in range(2)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="xy"), dim=-1).reshape(-1, 2)
    with _log_partition_context(prior, seed):
        nll = -torch.cat([prior.log_prob(c) for c in data.split(1000)]).mean().item()
        density = torch.cat([prior.log_prob(c.to(device)).cpu() for c in grid.split(1000)])
    metrics = {
        "mmd2": mmd_squared(samples, split.x),
        "modes_covered": covered,
        "on_data": on_data,
        "nll": nll,
        "samples": len(split),
        "estimators": {
            "log_partition": prior.estimator,
            "modes": f"components by the {name!r} label of the split",
        },
    }
    latents = {
        "mu": samples,
        "labels": {},
        "log_density": density.view(GRID_SIDE, GRID_SIDE),
        "extent": torch.stack([lo, hi]),
    }
    return metrics, latents
