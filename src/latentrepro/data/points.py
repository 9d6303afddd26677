"""Minibatches over a 2-D point split (the ``{split}.pt`` files of :func:`prepare_arrays`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch


class PointSplit:
    """Points ``x`` ``[N, 2]`` and labels ``{name: [N]}``; same batching API as TokenSplit."""

    def __init__(self, x: torch.Tensor, labels: dict[str, torch.Tensor]) -> None:
        self.x, self.labels = x.float(), labels

    @classmethod
    def load(cls, path: str | Path) -> PointSplit:
        data = torch.load(path, weights_only=True)
        return cls(data["x"], data.get("labels", {}))

    def __len__(self) -> int:
        return self.x.size(0)

    def batches(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        limit: int | None = None,
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Yield ``{"x": [B, 2]}`` in order (``generator`` None) or shuffled; at most ``limit``."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        starts = range(0, n, batch_size)
        if limit is not None:
            starts = starts[:limit]
        for start in starts:
            yield {"x": self.x[order[start : start + batch_size]].to(device)}

    def num_batches(self, batch_size: int, limit: int | None = None) -> int:
        count = -(-len(self) // batch_size)
        return count if limit is None else min(count, limit)
