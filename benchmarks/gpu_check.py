"""Training steps per second, peak memory and bf16 against float32 at each paper's paper-profile
architecture, for a lent GPU (benchmarks/gpu_check.sh runs it in under 8 minutes).

Rows (params.yaml, profile ``paper``; shapes of the real data, tokens and images drawn at random,
so no dataset is needed on the GPU machine):

- ``dg_vae`` on PTB: He et al.'s LSTM VAE (embedding 512, LSTM 1024, z 32, vocabulary 10k,
  40 tokens) with the density-gap regulariser, batch 32;
- ``ldebm_paper`` on DailyDialog: the symbol-coupled LSTM VAE with the LDEBM prior
  (12 spectral-normalised blocks, 6 levels x 50 Langevin steps), batch 32, without the
  clustering cross-entropy (it needs the epoch's k-means);
- ``clel`` on CIFAR-10: the 6.96M-parameter energy network and the ResNet-18 encoder, 60 SGLD
  steps, batch 64.

For each, ``--steps`` optimiser steps (forward, backward, step; after ``--warmup`` untimed ones)
in float32 and in bf16 autocast (``train.precision``; images also with ``train.channels_last``),
alternated ``--repeats`` times; printed: median steps per second, the median of the paired
ratios bf16 / float32, peak allocated memory, and the relative difference of the first step's
loss from one starting state. On a CPU (``--device cpu``, tiny ``--steps``) it checks that the
script runs; its numbers mean nothing there.

    .venv/bin/python benchmarks/gpu_check.py --device cuda
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from latentrepro.config import load_params, train_config
from latentrepro.data.batches import TokenSplit
from latentrepro.train import Optimisers, autocast

ROOT = Path(__file__).resolve().parents[1]
#: (row, dataset, model) of the paper profile.
ROWS = [
    ("dg_vae", "ptb", "dg_vae"),
    ("ldebm", "dailydialog", "ldebm_paper"),
    ("clel", "cifar10", "clel"),
]


def text_case(config: dict, symbols: bool, device: torch.device) -> tuple[nn.Module, dict]:
    from latentrepro.models.text import TextVAE
    from latentrepro.models.text.symbol_vae import SymbolTextVAE

    vocab, length = config["dataset"]["vocab_size"], config["dataset"]["max_length"]
    model = (SymbolTextVAE if symbols else TextVAE).from_config(config, vocab)
    n = config["train"]["batch_size"]
    g = torch.Generator().manual_seed(0)
    lengths = torch.full((n,), length)
    tokens = torch.randint(4, vocab, (n, length), generator=g)
    tokens[:, 0], tokens[:, -1] = 1, 2
    return model, TokenSplit(tokens, lengths, {}).batch(torch.arange(n), device)


def image_case(config: dict, device: torch.device) -> tuple[nn.Module, dict]:
    from latentrepro.models.image import CLEL
    from latentrepro.models.image.settings import image_ebm_parts

    arch, model_cfg = image_ebm_parts(config)
    model = CLEL((3, 32, 32), arch, model_cfg)
    x = torch.rand(
        config["train"]["batch_size"], 3, 32, 32, generator=torch.Generator().manual_seed(0)
    )
    return model, {"x": x.to(device)}


def timed_steps(
    model: nn.Module,
    batch: dict,
    config: dict,
    precision: str,
    steps: int,
    warmup: int,
    device: torch.device,
) -> tuple[float, float, float]:
    """(steps per second, peak MB, first-step loss) of ``steps`` steps from a copy of ``model``."""
    model = copy.deepcopy(model).to(device).train()
    if precision == "bf16" and config["model"]["arch"] == "image_ebm":
        model.to(memory_format=torch.channels_last)
    optimisers = Optimisers.for_model(model, config["model"])
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    first = float("nan")
    for i in range(warmup + steps):
        if i == warmup:
            sync()
            started = time.perf_counter()
        torch.manual_seed(i)
        with autocast(device, precision):
            loss, _ = model.training_step(batch, 0.5)
        optimisers.step(loss)
        if i == 0:
            first = float(loss)
    sync()
    seconds = time.perf_counter() - started
    peak = (
        torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")
    )
    return steps / seconds, peak, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", nargs="*", default=[r[0] for r in ROWS])
    args = parser.parse_args()
    device = torch.device(args.device)
    params = load_params(ROOT / "params.yaml", {"profile": "paper"})
    builders: dict[str, Callable[[dict], tuple[nn.Module, dict]]] = {
        "dg_vae": lambda c: text_case(c, False, device),
        "ldebm": lambda c: text_case(c, True, device),
        "clel": lambda c: image_case(c, device),
    }
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else "CPU (numbers not meaningful)"
    )
    print(
        f"device: {name}; torch {torch.__version__}; {args.steps} timed steps x {args.repeats} repeats\n"
    )
    print(
        "| row | batch | float32 steps/s | bf16 steps/s | bf16 / float32 (median paired) | peak MB float32 | peak MB bf16 | first loss rel. diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row, dataset, model_name in ROWS:
        if row not in args.rows:
            continue
        config = train_config(params, dataset, model_name)
        torch.manual_seed(0)
        model, batch = builders[row](config)
        runs: dict[str, list[tuple[float, float, float]]] = {"float32": [], "bf16": []}
        for _ in range(args.repeats):  # alternated, so a change of load lands on both
            for precision in runs:
                runs[precision].append(
                    timed_steps(model, batch, config, precision, args.steps, args.warmup, device)
                )
        speed = {p: statistics.median(r[0] for r in rs) for p, rs in runs.items()}
        ratio = statistics.median(
            b[0] / f[0] for f, b in zip(runs["float32"], runs["bf16"], strict=True)
        )
        peak = {p: max(r[1] for r in rs) for p, rs in runs.items()}
        loss32, loss16 = runs["float32"][0][2], runs["bf16"][0][2]
        print(
            f"| {row} ({model_name} on {dataset}) | {config['train']['batch_size']} | {speed['float32']:.2f} | "
            f"{speed['bf16']:.2f} | {ratio:.2f} | {peak['float32']:.0f} | {peak['bf16']:.0f} | "
            f"{abs(loss16 - loss32) / max(abs(loss32), 1e-12):.2e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
