"""Scale of LDEBM prior samples at initialisation, for the models of params.yaml.

Builds each named model exactly as training does (``SymbolTextVAE.from_config``, so with its
``uniform_init`` U(-0.1, 0.1) draw), samples ``--chains`` latents from x_L ~ N(0, I) through
the top stage and every recovery, and prints the per-dimension standard deviation of the final
x_0 and the number of Langevin steps each sample took (counted as calls of the level score).

With the paper's levels (5 recoveries and the energy-tilted top, Yu et al. 2022; the authors'
``modules/ldebm.py``:140-144, 445-465) and 50 steps a stage, a sample takes 6 x 50 = 300 steps;
with a flat energy and exact recoveries the std is about 4.97 (the recursion of
``flat_marginal_variance`` in ``tests/unit/test_ebm_priors.py``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ldebm_prior_init.py --models ldebm_paper:dailydialog ldebm_ptb:ptb
"""

from __future__ import annotations

import argparse

import torch

from latentrepro.config import load_params, train_config
from latentrepro.models.text.symbol_vae import SymbolTextVAE

VOCAB = 10_000


def prior_at_init(name: str, dataset: str, seed: int) -> SymbolTextVAE:
    """The symbol VAE of model ``name`` on ``dataset`` at initialisation, from the training
    job's own configuration slice (:func:`latentrepro.config.train_config`)."""
    config = train_config(load_params(), dataset, name)
    torch.manual_seed(seed)
    return SymbolTextVAE.from_config(config, VOCAB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["ldebm_paper:dailydialog", "ldebm_ptb:ptb"],
        help="MODEL:DATASET pairs",
    )
    parser.add_argument("--chains", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        "| model | stages (recoveries + top) | Langevin steps a sample | std min | std median | std max |"
    )
    print("|---|---|---|---|---|---|")
    for pair in args.models:
        name, dataset = pair.split(":")
        prior = prior_at_init(name, dataset, args.seed).prior
        calls = [0]
        score = prior.f

        def counted(y: torch.Tensor, t: torch.Tensor, score=score, calls=calls) -> torch.Tensor:
            calls[0] += 1
            return score(y, t)

        prior.f = counted
        with torch.no_grad():
            x = prior.sample(args.chains, generator=torch.Generator().manual_seed(args.seed))
        std = x.std(0)
        stages = prior.schedule.pairs
        print(
            f"| {name} | {stages} ({stages - 1} + 1) | {calls[0]} | {std.min():.3f} | {std.median():.3f} "
            f"| {std.max():.3f} |"
        )


if __name__ == "__main__":
    main()
