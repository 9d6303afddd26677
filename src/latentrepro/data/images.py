"""Minibatches over an image split (the ``{split}.pt`` files written by ``prepare_arrays``).

:class:`ImageSplit` offers the batching interface of :class:`~latentrepro.data.batches.TokenSplit`
that the shared trainer expects: ``batches(batch_size, generator, device, limit)``,
``num_batches`` and ``len``. Batches are ``{"x": [B, C, H, W], "label_<name>": [B]}``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from latentrepro.data.batches import Batch, Minibatches


def check_unit_range(x: torch.Tensor, name: str = "x") -> None:
    """Raise ValueError naming ``name`` unless ``x`` is finite and inside [0, 1]."""
    if not torch.isfinite(x).all():
        raise ValueError(f"{name}: images contain NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name}: images must lie in [0, 1], found values in [{low:.4g}, {high:.4g}]"
        )


class ImageSplit(Minibatches):
    """An image split held in memory: x [N, C, H, W] in [0, 1], labels {name: [N]}.

    Shuffled epochs drop the incomplete last batch (see :class:`Minibatches`).
    """

    drop_incomplete = True

    def __init__(self, x: torch.Tensor, labels: dict[str, torch.Tensor] | None = None):
        if x.dim() != 4:
            raise ValueError(f"x: expected images [N, C, H, W], got shape {list(x.shape)}")
        check_unit_range(x)
        labels = labels or {}
        for name, values in labels.items():
            if values.size(0) != x.size(0):
                raise ValueError(f"labels.{name}: {values.size(0)} labels for {x.size(0)} images")
        self.x, self.labels = x.float(), labels

    @classmethod
    def load(cls, path: str | Path) -> ImageSplit:
        data = torch.load(path, weights_only=True)
        return cls(data["x"], data.get("labels", {}))

    @classmethod
    def concatenate(cls, splits: list[ImageSplit]) -> ImageSplit:
        """The images of ``splits`` in order, with the labels they all carry."""
        if len(splits) == 1:
            return splits[0]
        names = set.intersection(*(set(split.labels) for split in splits))
        return cls(
            torch.cat([split.x for split in splits]),
            {name: torch.cat([split.labels[name] for split in splits]) for name in sorted(names)},
        )

    def __len__(self) -> int:
        return self.x.size(0)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.x.shape[1:]
        return int(c), int(h), int(w)

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> Batch:
        batch = {"x": self.x[index]}
        batch.update({f"label_{name}": values[index] for name, values in self.labels.items()})
        return {key: value.to(device) for key, value in batch.items()}
