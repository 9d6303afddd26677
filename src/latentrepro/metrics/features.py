"""Feature extractors for FID, pluggable behind one interface: ``name``, ``dim``, ``__call__``.

- :class:`InceptionFeatures`: the standard TF-ported Inception-v3 pool features (2048-d) of
  torch-fidelity, from a local weights file. Used where torch-fidelity and the weights are
  present; otherwise construction fails with a message saying what is missing. torch-fidelity
  is not a dependency of the project (it pulls torchvision, which does not load next to the CPU
  torch here), so it is imported only when asked for.
- :class:`ClassifierFeatures`: penultimate features of a small classifier the workflow trains on
  the dataset itself. Usable offline; its FID is *not* comparable to Inception FID and is always
  labelled with the extractor's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import torch

from latentrepro.data.images import check_unit_range
from latentrepro.metrics.fid import FeatureStatistics, GaussianFit
from latentrepro.progress import track


class FeatureExtractor(Protocol):
    name: str
    dim: int

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Features ``[B, dim]`` of images ``[B, C, H, W]`` in [0, 1]."""
        ...


class ClassifierFeatures:
    """Penultimate ReLU features of a trained :class:`~latentrepro.models.image.networks.Classifier`."""

    def __init__(self, classifier: torch.nn.Module, description: str) -> None:
        self.net = classifier.eval()
        self.dim = int(classifier.logits.in_features)
        self.name = f"own classifier, {self.dim}-d penultimate features ({description})"

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        check_unit_range(images, "images")
        return self.net.penultimate(images)


class InceptionFeatures:
    """torch-fidelity's ``inception-v3-compat`` 2048-d pool features from ``weights_path``."""

    dim = 2048

    def __init__(self, weights_path: str | Path, device: torch.device) -> None:
        weights = Path(weights_path)
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import (
                FeatureExtractorInceptionV3,
            )
        except ImportError as err:
            raise RuntimeError(
                "Inception FID needs the torch-fidelity package (pip install torch-fidelity, "
                "on a machine where torchvision loads); use extractor kind 'classifier' "
                f"offline ({err})"
            ) from None
        if not weights.is_file():
            raise FileNotFoundError(
                f"extractor.weights: Inception weights file {weights} not found (the "
                "pt_inception-2015-12-05 file used by torch-fidelity / pytorch-fid)"
            )
        self.net = (
            FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights)
            )
            .to(device)
            .eval()
        )
        self.name = f"Inception-v3 (TF-ported, torch-fidelity, 2048-d pool, {weights.name})"

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        check_unit_range(images, "images")
        if images.size(1) == 1:
            images = images.expand(-1, 3, -1, -1)
        as_bytes = (images * 255).round().to(torch.uint8)
        (features,) = self.net(as_bytes)
        return features.reshape(images.size(0), -1)


def gaussian_fit(extractor: FeatureExtractor, batches: Iterable[torch.Tensor]) -> GaussianFit:
    """Mean and covariance of the extractor's features over image batches (fresh statistics)."""
    stats = FeatureStatistics(extractor.dim)
    for images in track(batches, f"FID features ({extractor.name})", unit="batches"):
        stats.update(extractor(images))
    return stats.compute()
