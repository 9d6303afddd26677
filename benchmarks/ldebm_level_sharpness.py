"""How sharp are a trained LDEBM prior's recovery densities, and what does that do to log p(z)?

For every recovery level t (the top stage is not a recovery) the recovery density is p(y | x_{t+1}) ∝ exp f(y, t) N(y; x_{t+1}, σ²) with
f = g / s_t² (Gao et al. 2021; Yu et al. 2022). Its normaliser
Z_t(x) = E_{y ~ N(x, σ²)} exp f(y, t) is what any estimate of log p(z) needs. For test points z
(diffused one forward path, :class:`~latentrepro.sampling.DiffusionSchedule`) the script prints,
per level, medians over the points of:

- ``std f``: the spread of f over draws of the Gaussian reference (nats). Importance sampling
  of Z_t from that reference needs about exp(var f) draws once this exceeds a few nats.
- ``logZ(M) - logZ(ref)``: the M-draw estimate (``log_partition_samples`` of the model) minus
  one from ``--reference`` draws (itself a lower bound in expectation).
- ``f(y_t) - logZ(ref)``: the level's term of log p(z) at the data's own forward path.

Run from the repository root on a trained ``point_ebm`` or ``symbol_vae`` checkpoint:

    .venv/bin/python benchmarks/ldebm_level_sharpness.py \
        results/checkpoints/grid16/ldebm_2d/seed0/model.pt data/processed/grid16
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from latentrepro.data.points import PointSplit
from latentrepro.density import logmeanexp
from latentrepro.models import build_model, get_family
from latentrepro.models.priors import DiffusionEBMPrior

#: Reference draws scored at once.
CHUNK = 10_000


def model_and_latents(
    checkpoint: dict, data: Path, points: int
) -> tuple[torch.nn.Module, torch.Tensor]:
    """The trained model and ``points`` latents of the test split: the points themselves
    (2-D models) or the posterior means of the first test sentences (text models)."""
    family = get_family(checkpoint["config"])
    model = build_model(checkpoint["config"], data, 0)
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    split = family.load_split(data / "test.pt")
    if isinstance(split, PointSplit):
        return model, split.x[:points]
    batch = next(iter(split.batches(points, device=torch.device("cpu"))))
    with torch.no_grad():
        return model, model.posterior(batch)[0]


@torch.no_grad()
def level_table(prior: DiffusionEBMPrior, z: torch.Tensor, reference: int) -> list[tuple]:
    """Per level: (t, σ, s_t², std f, M-draw log Z gap, data term), medians over ``z``."""
    rows, x = [], z
    m = prior.log_partition_samples
    for t in range(prior.schedule.top):
        a, sigma = prior.schedule.a[t].item(), prior.schedule.sigma[t].item()
        y = a * x
        x = y + sigma * torch.randn_like(y)
        f = torch.cat(
            [
                prior.f(x + sigma * torch.randn(min(CHUNK, reference - start), *x.shape), t)
                for start in range(0, reference, CHUNK)
            ]
        )
        log_z = logmeanexp(f, 0)
        rows.append(
            (
                t,
                sigma,
                prior.temperature[t].item(),
                f.std(0).median().item(),
                (logmeanexp(f[:m], 0) - log_z).median().item(),
                (prior.f(y, t) - log_z).median().item(),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("data", type=Path, help="the processed dataset directory")
    parser.add_argument("--points", type=int, default=20, help="test latents (default 20)")
    parser.add_argument("--reference", type=int, default=100_000, help="reference draws")
    args = parser.parse_args()
    torch.manual_seed(0)
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model, z = model_and_latents(checkpoint, args.data, args.points)
    if not isinstance(model.prior, DiffusionEBMPrior):
        raise SystemExit(f"{args.checkpoint}: the prior is not LDEBM's ({type(model.prior)})")
    m = model.prior.log_partition_samples
    print(f"| level | σ | s_t² | std f | logZ(M={m}) − logZ(ref) | f(y_t) − logZ(ref) |")
    print("|---|---|---|---|---|---|")
    for t, sigma, temp, std, gap, term in level_table(model.prior, z, args.reference):
        print(f"| {t} | {sigma:.3f} | {temp:.2e} | {std:.1f} | {gap:.1f} | {term:.1f} |")


if __name__ == "__main__":
    main()
