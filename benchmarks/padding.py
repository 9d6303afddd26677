"""Padded decoder steps per real target token under each batching, on a numericalised split.

A batch of sentences ``<s> w_1 .. w_n </s>`` trimmed to its longest runs the decoder for
``B x (width - 1)`` steps, of which ``sum(length - 1)`` predict a real token; the ratio of the
two totals over an epoch is what padding costs (1.00 = none). He et al. (vae-lagging-encoder @
cdc4eb9 ``data/text_data.py:219-255``) batch sentences of one length: 1.00. Run from the
repository root on a tokenised split (``latentrepro tokenize ptb ...``):

    .venv/bin/python benchmarks/padding.py data/processed/ptb [--batch-sizes 20 32 100]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from latentrepro.data.batches import BATCHINGS, TokenSplit


def steps_per_token(split: TokenSplit, batch_size: int, batching: str, seed: int) -> float:
    """Decoder steps per target token over one shuffled epoch (``seed``) or an ordered pass
    (``seed`` None)."""
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    steps = tokens = 0
    for index in split.batch_indices(batch_size, generator, batching=batching):
        lengths = split.lengths[index]
        steps += len(index) * (int(lengths.max()) - 1)
        tokens += int((lengths - 1).sum())
    return steps / tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="directory with train.pt, valid.pt, test.pt")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[20, 32, 100])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| split | pass | batch | " + " | ".join(BATCHINGS) + " |")
    print("|---|---|---|" + "---|" * len(BATCHINGS))
    for name, seed in (("train", args.seed), ("valid", None), ("test", None)):
        split = TokenSplit.load(args.data / f"{name}.pt")
        kind = "shuffled epoch" if seed is not None else "ordered pass"
        for size in args.batch_sizes:
            ratios = [steps_per_token(split, size, b, seed) for b in BATCHINGS]
            print(f"| {name} | {kind} | {size} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")


if __name__ == "__main__":
    main()
