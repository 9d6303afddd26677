"""Minibatches over a numericalised split (the ``{split}.pt`` files written by tokenisation).

Batches are trimmed to their longest sentence, so padding costs nothing beyond it. Shuffling
uses an explicit generator whose state is saved with the training checkpoint, so a resumed run
sees exactly the batches an uninterrupted one would.

Two batchings (``train.batching``, ``evaluate.batching``; :data:`BATCHINGS`):

- ``shuffled``: a random permutation cut into consecutive batches, so a batch mixes lengths and
  the decoder runs over padding up to the batch's longest sentence (on PTB train, batch 32: 1.85
  decoder steps per target token, ``benchmarks/padding.py``).
- ``bucketed`` (the default): the epoch's indices are sorted by length, ties in a random order,
  cut into consecutive batches of ``batch_size``, and the batches are visited in a random order
  (both draws from the epoch's generator). Every sentence is seen once per epoch, every batch is
  full except the longest one, and a batch holds neighbouring lengths only, so padding nearly
  vanishes (PTB: 1.00x). He et al. (vae-lagging-encoder @ cdc4eb9 ``data/text_data.py:219-255``)
  batch sentences of one length, which leaves a short batch per length; filling batches across
  a length boundary keeps the batch size (and the DG term's chunks) fixed instead. Ordered passes
  (no generator) visit the same length-sorted batches in order.

Splits without ``lengths`` (images, points) hold equal-sized examples, so both batchings are
the same shuffle for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from latentrepro.data.tokenize import Vocab

Batch = dict[str, torch.Tensor]
#: The batchings of ``train.batching`` / ``evaluate.batching``.
BATCHINGS = ("bucketed", "shuffled")
DEFAULT_BATCHING = "bucketed"


class Minibatches:
    """Index-based minibatching shared by every split type.

    A subclass holds its tensors and implements ``__len__`` and ``batch(index, device)``;
    ``drop_incomplete`` makes shuffled epochs use full batches only (contrastive and
    replay-buffer training want a fixed batch size), while ordered passes always cover the
    whole split.
    """

    drop_incomplete: bool = False
    #: Example lengths for ``bucketed`` batching; None where all examples have one size.
    lengths: torch.Tensor | None = None

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
        batching: str = "shuffled",
    ) -> Iterator[Batch]:
        """Yield batches in order (``generator`` None), shuffled, or in a given ``order`` of
        indices (e.g. a model's cluster-balanced draw, which may repeat indices); at most
        ``limit`` of them. ``batching="bucketed"`` regroups those indices by length (see the
        module docstring): the indices visited (those of the first ``limit`` shuffled batches)
        are the same for both batchings, only their grouping into batches differs."""
        for index in self.batch_indices(batch_size, generator, limit, order, batching):
            yield self.batch(index, device)

    def batch_indices(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        limit: int | None = None,
        order: torch.Tensor | None = None,
        batching: str = "shuffled",
    ) -> list[torch.Tensor]:
        """The index tensors of the batches :meth:`batches` yields, in order."""
        if batching not in BATCHINGS:
            raise ValueError(f"batching: unknown {batching!r}; known: {', '.join(BATCHINGS)}")
        n = len(self)
        if order is not None:
            stop = len(order)
        elif generator is None:
            order, stop = torch.arange(n), n
        else:
            order = torch.randperm(n, generator=generator)
            stop = n - n % batch_size if self.drop_incomplete and n >= batch_size else n
        if limit is not None:
            stop = min(stop, limit * batch_size)
        order = order[:stop]
        if batching == "bucketed" and self.lengths is not None:
            return _bucketed(order, self.lengths, batch_size, generator)
        return list(order.split(batch_size))

    def num_batches(self, batch_size: int, limit: int | None = None) -> int:
        """Batches in a shuffled epoch."""
        if self.drop_incomplete:
            count = max(len(self) // batch_size, 1)
        else:
            count = -(-len(self) // batch_size)
        return count if limit is None else min(count, limit)


class TokenSplit(Minibatches):
    """A numericalised split held in memory: tokens [N, L], lengths [N], labels {name: [N]}.

    A batch holds ``tokens``, ``lengths``, ``label_<name>`` and the rows' ``index`` in the split.
    A response split (:func:`~latentrepro.data.tokenize.numericalise_contexts`) also holds
    ``contexts`` [N, C, W] and ``context_turns`` [N]; its batches add ``context`` [B, C_b, W_b],
    trimmed to the batch's most turns and longest turn, and ``context_turns`` [B]. Batching
    still buckets by the response's length.
    """

    def __init__(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        labels: dict[str, torch.Tensor],
        contexts: torch.Tensor | None = None,
        context_turns: torch.Tensor | None = None,
    ):
        if tokens.size(0) != lengths.size(0):
            raise ValueError(f"tokens has {tokens.size(0)} rows but lengths has {lengths.size(0)}")
        if (contexts is None) != (context_turns is None):
            raise ValueError("contexts and context_turns come together")
        self.tokens, self.lengths, self.labels = tokens, lengths, labels
        self.contexts, self.context_turns = contexts, context_turns
        #: Per response the ids of its longest context turn (a turn is non-PAD up to ``</s>``).
        self.context_widths: torch.Tensor | None = None
        if contexts is not None and context_turns is not None:
            if not contexts.size(0) == context_turns.size(0) == tokens.size(0):
                raise ValueError(
                    f"{tokens.size(0)} responses but {contexts.size(0)} contexts and "
                    f"{context_turns.size(0)} context_turns"
                )
            self.context_widths = (contexts != Vocab.PAD_ID).sum(-1).amax(-1)

    @classmethod
    def load(cls, path: str | Path) -> TokenSplit:
        data = torch.load(path, weights_only=True)
        return cls(
            data["tokens"],
            data["lengths"],
            data.get("labels", {}),
            data.get("contexts"),
            data.get("context_turns"),
        )

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
        if self.contexts is not None and self.context_turns is not None:
            assert self.context_widths is not None
            turns = self.context_turns[index]
            widest = int(self.context_widths[index].max())
            batch["context"] = self.contexts[index, : int(turns.max()), :widest]
            batch["context_turns"] = turns
        return {key: value.to(device) for key, value in batch.items()}


def _bucketed(
    order: torch.Tensor,
    lengths: torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None,
) -> list[torch.Tensor]:
    """``order`` sorted by length (stable, so ties keep ``order``'s random order), cut into
    batches of ``batch_size``, the batches permuted with ``generator`` (kept in length order
    when it is None)."""
    ranked = order[torch.sort(lengths[order], stable=True).indices]
    chunks = list(ranked.split(batch_size))
    if generator is not None:
        chunks = [chunks[i] for i in torch.randperm(len(chunks), generator=generator).tolist()]
    return chunks
