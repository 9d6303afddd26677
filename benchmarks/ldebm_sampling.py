"""Sampling cost of the latent EBM priors, and the training-step time of LDEBM vs SVEBM-IB.

Prints two tables:

1. Langevin steps per second (and chain-steps per second) of the SVEBM energy network
   (z 32 -> 200 -> 200 -> K=125, as in the paper) for several numbers of chains, on the CPU
   and, when torch sees one, on the GPU.
2. Seconds per training step of the symbol VAE with the SVEBM-IB prior and with the LDEBM prior
   (the ``svebm_ib`` and ``ldebm`` models of params.yaml, or ``ldebm_paper``), on random
   sentences shaped like DailyDialog (batch 32, 15 tokens, vocabulary 10,000, the
   ``archs.symbol_vae.dailydialog`` architecture).

Run from the repository root (pin the threads for comparable numbers):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ldebm_sampling.py
"""

from __future__ import annotations

import argparse
import time

import torch

from latentrepro.config import load_params
from latentrepro.data.batches import TokenSplit
from latentrepro.models.priors import build_prior
from latentrepro.models.text.symbol_vae import SymbolTextVAE
from latentrepro.train import Optimisers

VOCAB, LENGTH, BATCH = 10_000, 15, 32


def langevin_rate(device: torch.device, chains: int, steps: int) -> float:
    """Langevin steps per second of the SVEBM prior with ``chains`` parallel chains."""
    prior = build_prior(
        {"name": "svebm", "symbols": 125, "energy": {"hidden": 200}, "langevin": {"steps": steps}},
        32,
    ).to(device)
    prior.sample(chains, steps=2)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    prior.sample(chains)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def training_step_seconds(model_name: str, steps: int) -> float:
    params = load_params()
    model_cfg = {"name": model_name, **params["models"][model_name]}
    config = {"arch": params["archs"]["symbol_vae"]["dailydialog"], "model": model_cfg}
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config, VOCAB)
    optimisers = Optimisers.for_model(model, model_cfg)
    n = BATCH * (steps + 1)
    tokens = torch.randint(4, VOCAB, (n, LENGTH))
    tokens[:, 0], tokens[:, -1] = 1, 2
    split = TokenSplit(tokens, torch.full((n,), LENGTH), {})
    model.on_epoch_start(0, split)
    batches = split.batches(BATCH, torch.Generator().manual_seed(0))
    # At this point of training every KL schedule in params.yaml is at full weight (SVEBM-IB's
    # cyclical one is 0, an autoencoder step, in the first half of each of its 10 cycles).
    progress = 0.095
    loss, _ = model.training_step(next(batches), progress)  # warm-up
    optimisers.step(loss)
    started = time.perf_counter()
    for batch in batches:
        loss, _ = model.training_step(batch, progress)
        optimisers.step(loss)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="Langevin steps per measurement")
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--models", nargs="+", default=["svebm_ib", "ldebm"])
    args = parser.parse_args()
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    print("\n| device | chains | Langevin steps/s | chain-steps/s |")
    print("|---|---:|---:|---:|")
    for device in devices:
        for chains in (64, 256, 1024, 4096):
            rate = langevin_rate(device, chains, args.steps)
            print(f"| {device.type} | {chains} | {rate:,.1f} | {rate * chains:,.0f} |")
    print(f"\n| model (symbol VAE, batch {BATCH}) | seconds per training step |")
    print("|---|---:|")
    for name in args.models:
        print(f"| {name} | {training_step_seconds(name, args.train_steps):.3f} |")


if __name__ == "__main__":
    main()
