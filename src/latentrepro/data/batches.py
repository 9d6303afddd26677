"""Minibatches over a numericalised split (the ``{split}.pt`` files written by tokenisation).

Batches are trimmed to their longest sentence, so padding costs nothing beyond it. Shuffling
uses an explicit generator whose state is saved with the training checkpoint, so a resumed run
sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

Batch = dict[str, torch.Tensor]


class Minibatches:
    """Index-based minibatching shared by every split type.

    A subclass holds its tensors and implements ``__len__`` and ``batch(index, device)``;
    ``drop_incomplete`` makes shuffled epochs use full batches only (contrastive and
    replay-buffer training want a fixed batch size), while ordered passes always cover the
    whole split.
    """

    drop_incomplete: bool = False

    def __len__(self) -> int:
        raise NotImplementedError

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> Batch:
        raise NotImplementedError

    def batches(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        limit: int | None = None,
        order: torch.Tensor | None = None,
    ) -> Iterator[Batch]:
        """Yield batches in order (``generator`` None), shuffled, or in a given ``order`` of
        indices (e.g. a model's cluster-balanced draw, which may repeat indices); at most
        ``limit`` of them."""
        n = len(self)
        if order is not None:
            stop = len(order)
        elif generator is None:
            order, stop = torch.arange(n), n
        else:
            order = torch.randperm(n, generator=generator)
            stop = n - n % batch_size if self.drop_incomplete and n >= batch_size else n
        starts = range(0, stop, batch_size)
        if limit is not None:
            starts = starts[:limit]
        for start in starts:
            yield self.batch(order[start : start + batch_size], device)

    def num_batches(self, batch_size: int, limit: int | None = None) -> int:
        """Batches in a shuffled epoch."""
        if self.drop_incomplete:
            count = max(len(self) // batch_size, 1)
        else:
            count = -(-len(self) // batch_size)
        return count if limit is None else min(count, limit)


class TokenSplit(Minibatches):
    """A numericalised split held in memory: tokens [N, L], lengths [N], labels {name: [N]}.

    A batch holds ``tokens``, ``lengths``, ``label_<name>`` and the rows' ``index`` in the split."""

    def __init__(
        self, tokens: torch.Tensor, lengths: torch.Tensor, labels: dict[str, torch.Tensor]
    ):
        if tokens.size(0) != lengths.size(0):
            raise ValueError(f"tokens has {tokens.size(0)} rows but lengths has {lengths.size(0)}")
        self.tokens, self.lengths, self.labels = tokens, lengths, labels

    @classmethod
    def load(cls, path: str | Path) -> TokenSplit:
        data = torch.load(path, weights_only=True)
        return cls(data["tokens"], data["lengths"], data.get("labels", {}))

    def __len__(self) -> int:
        return self.tokens.size(0)

    def word_ids(self) -> list[list[int]]:
        """Every sentence as its word ids, without ``<s>`` and ``</s>``."""
        rows = zip(self.tokens.tolist(), self.lengths.tolist(), strict=True)
        return [row[1 : int(length) - 1] for row, length in rows]

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> Batch:
        lengths = self.lengths[index]
        width = int(lengths.max())
        batch = {"tokens": self.tokens[index, :width], "lengths": lengths, "index": index}
        batch.update({f"label_{name}": values[index] for name, values in self.labels.items()})
        return {key: value.to(device) for key, value in batch.items()}
