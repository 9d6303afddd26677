"""Cost of DG-VAE's density-gap term: training-step time and memory against the plain VAE.

Target (issue 3): a DG-VAE step at batch 32, M = 32 samples, z = 32 (|b| = 32) takes at most
1.2x the plain VAE's step. Both models are the PTB architecture of He et al. (2019) (embedding
256, LSTM 256/256, vocabulary 10,000) on random sentences of PTB's mean length (21 tokens), and
take the same SGD step; only the latent term differs. Memory is the size of the tensors autograd
saves for the backward pass (what grows with the DG term's [B, M, |b|, D] table), counted with
saved-tensor hooks, so it is exact and device-independent. The models are timed interleaved
(each round steps every model once, in a rotating order) and each model's cost is the median
of its per-round ratios to the VAE's step, in CPU time. Run from the repository root:

    .venv/bin/python benchmarks/dgvae_step.py [--steps 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from latentrepro.models.text import TextVAE

VOCAB, LENGTH = 10_000, 21
ARCH = {"embed_dim": 256, "hidden_dim": 256, "latent_dim": 32, "dropout": 0.5}
REGULARISERS = {
    "vae (KL)": {"name": "kl", "schedule": {"name": "constant"}},
    "dg_vae |b|=32 M=32": {"name": "density_gap", "batch_chunk": 32, "samples": 32},
    "dg_vae |b|=8 M=32": {"name": "density_gap", "batch_chunk": 8, "samples": 32},
    "dg_vae |b|=1 M=32": {"name": "density_gap", "batch_chunk": 1, "samples": 32},
}


def batch(size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    tokens = torch.randint(3, VOCAB, (size, LENGTH + 2), generator=generator)
    tokens[:, 0], tokens[:, -1] = 1, 2
    return {"tokens": tokens, "lengths": torch.full((size,), LENGTH + 2)}


def saved_bytes(model: TextVAE, data: dict[str, torch.Tensor]) -> int:
    """Bytes of the tensors saved for backward by one training step's forward pass."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss, _ = model.training_step(data, 1.0)
    loss.backward()
    return total


class Stepper:
    """One model and its optimiser; :meth:`step` times one SGD step in CPU seconds."""

    def __init__(self, model: TextVAE, data: dict[str, torch.Tensor]) -> None:
        self.model, self.data = model, data
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

    def step(self) -> float:
        started = time.process_time()
        loss, _ = self.model.training_step(self.data, 1.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return time.process_time() - started


def interleaved_times(steppers: list[Stepper], rounds: int) -> list[list[float]]:
    """Per model, its step time in each round; every round steps each model once, the order
    rotating between rounds, so a change of load lands on all models alike (three warm-up
    rounds are dropped)."""
    times: list[list[float]] = [[] for _ in steppers]
    for r in range(rounds + 3):
        shift = r % len(steppers)
        for i in [*range(shift, len(steppers)), *range(shift)]:
            seconds = steppers[i].step()
            if r >= 3:
                times[i].append(seconds)
    return times


def paired(times: list[float], base: list[float]) -> tuple[float, float, float]:
    """Median and 25-75 % range of the per-round ratios ``times / base``."""
    ratios = [t / b for t, b in zip(times, base, strict=True)]
    low, _, high = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = batch(args.batch_size, torch.Generator().manual_seed(0))
    steppers, memories = [], []
    for regulariser in REGULARISERS.values():
        torch.manual_seed(0)
        config = {
            "arch": ARCH,
            "model": {"prior": {"name": "gaussian"}, "regulariser": regulariser},
        }
        model = TextVAE.from_config(config, VOCAB).train()
        memories.append(saved_bytes(model, data))
        steppers.append(Stepper(model, data))
    times = interleaved_times(steppers, args.steps)
    print(
        f"batch {args.batch_size}, z 32, {args.steps} interleaved rounds, {args.threads} "
        f"thread(s), CPU time, torch {torch.__version__}"
    )
    print(
        "| model | median step (ms) | x VAE (median of paired ratios) | 25-75 % "
        "| saved for backward (MiB) | x VAE |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, own, memory in zip(REGULARISERS, times, memories, strict=True):
        ratio, low, high = paired(own, times[0])
        print(
            f"| {label} | {1e3 * statistics.median(own):.1f} | {ratio:.2f} | {low:.2f}-{high:.2f} "
            f"| {memory / 2**20:.1f} | {memory / memories[0]:.2f} |"
        )


if __name__ == "__main__":
    main()
