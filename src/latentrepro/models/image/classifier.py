"""The small classifier whose penultimate features give the workflow's own (offline) FID."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from latentrepro.models.image.networks import Classifier

Batch = dict[str, torch.Tensor]


class ImageClassifier(nn.Module):
    """Cross-entropy classifier of the label ``label`` (e.g. ``digit``), trained by ``fit``."""

    def __init__(
        self, shape: tuple[int, int, int], num_classes: int, label: str, arch: dict[str, Any]
    ) -> None:
        super().__init__()
        self.label, self.num_classes = label, num_classes
        self.net = Classifier(shape[0], num_classes, arch)

    @property
    def feature_dim(self) -> int:
        return self.net.logits.in_features

    def _targets(self, batch: Batch) -> torch.Tensor:
        key = f"label_{self.label}"
        if key not in batch:
            raise ValueError(f"classifier.label: the data has no label {self.label!r}")
        return batch[key]

    def training_step(self, batch: Batch, progress: float) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self.net(batch["x"])
        targets = self._targets(batch)
        loss = F.cross_entropy(logits, targets)
        error = (logits.argmax(1) != targets).float().mean()
        return loss, {"loss": loss.item(), "error": error.item()}

    @torch.no_grad()
    def validation_step(self, batch: Batch) -> dict[str, float]:
        logits = self.net(batch["x"])
        targets = self._targets(batch)
        return {
            "loss": F.cross_entropy(logits, targets, reduction="sum").item(),
            "error": (logits.argmax(1) != targets).sum().item(),
            "count": targets.size(0),
        }
