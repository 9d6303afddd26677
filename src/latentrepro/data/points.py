"""Minibatches over a 2-D point split (the ``{split}.pt`` files of :func:`prepare_arrays`)."""

from __future__ import annotations

from pathlib import Path

import torch

from latentrepro.data.batches import Batch, Minibatches


class PointSplit(Minibatches):
    """Points ``x`` ``[N, 2]`` and labels ``{name: [N]}``; batches are ``{"x": [B, 2]}``."""

    def __init__(self, x: torch.Tensor, labels: dict[str, torch.Tensor]) -> None:
        self.x, self.labels = x.float(), labels

    @classmethod
    def load(cls, path: str | Path) -> PointSplit:
        data = torch.load(path, weights_only=True)
        return cls(data["x"], data.get("labels", {}))

    def __len__(self) -> int:
        return self.x.size(0)

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> Batch:
        return {"x": self.x[index].to(device)}
