"""Evaluation of the ``point_ebm`` family: 2-D density models (sample scores and density
grids)."""

from __future__ import annotations

from typing import Any

import torch

from latentrepro.data.points import PointSplit
from latentrepro.evaluation.symbol_vae import frozen_log_partition
from latentrepro.metrics.samples import mmd_squared, mode_coverage
from latentrepro.models.points import PointDensityModel

#: Side of the square grid on which 2-D log densities are evaluated for the figures.
GRID_SIDE = 50


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
    nll, density = float("nan"), torch.full((len(grid),), float("nan"))
    if prior.reports_likelihood:
        with frozen_log_partition(prior, seed):
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
    if not prior.reports_likelihood:
        metrics["null_reasons"] = {
            "nll": f"the {type(prior).__name__} prior has no trustworthy normalised log p(x)"
        }
    latents = {
        "mu": samples,
        "labels": {},
        "log_density": density.view(GRID_SIDE, GRID_SIDE),
        "extent": torch.stack([lo, hi]),
    }
    return metrics, latents
