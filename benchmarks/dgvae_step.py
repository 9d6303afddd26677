"""Cost of DG-VAE's density-gap term: training-step time and memory against the plain VAE.

Target (issue 3): a DG-VAE step at batch 32, M = 32 samples, z = 32 (|b| = 32) takes at most
1.2x the plain VAE's step. Both models are the PTB architecture of He et al. (2019) (embedding
256, LSTM 256/256, vocabulary 10,000) on random sentences of PTB's mean length (21 tokens), and
take the same SGD step; only the latent term differs. Memory is the size of the tensors autograd
saves for the backward pass (what grows with the DG term's [B, M, |b|, D] table), counted with
saved-tensor hooks, so it is exact and device-independent. Run from the repository root:

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


def step_times(model: TextVAE, data: dict[str, torch.Tensor], steps: int) -> list[float]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    times = []
    for i in range(steps + 3):  # three warm-up steps
        started = time.perf_counter()
        loss, _ = model.training_step(data, 1.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 3:
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = batch(args.batch_size, torch.Generator().manual_seed(0))
    rows = []
    for label, regulariser in REGULARISERS.items():
        torch.manual_seed(0)
        config = {
            "arch": ARCH,
            "model": {"prior": {"name": "gaussian"}, "regulariser": regulariser},
        }
        model = TextVAE.from_config(config, VOCAB).train()
        memory = saved_bytes(model, data)
        times = step_times(model, data, args.steps)
        rows.append((label, statistics.median(times), min(times), memory))
    base_time, base_memory = rows[0][1], rows[0][3]
    print(
        f"batch {args.batch_size}, z 32, {args.steps} timed steps, {args.threads} thread(s), "
        f"torch {torch.__version__}"
    )
    print("| model | median step (ms) | fastest (ms) | x VAE | saved for backward (MiB) | x VAE |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, median, fastest, memory in rows:
        print(
            f"| {label} | {1e3 * median:.1f} | {1e3 * fastest:.1f} | {median / base_time:.2f} "
            f"| {memory / 2**20:.1f} | {memory / base_memory:.2f} |"
        )


if __name__ == "__main__":
    main()
