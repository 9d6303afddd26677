"""Feature extractors for FID, pluggable behind one interface: ``name``, ``dim``, ``__call__``.

- :class:`InceptionFeatures`: the standard TF-ported Inception-v3 pool features (2048-d) of
  torch-fidelity, from the weights file the workflow fetches (registry entry ``inception_fid``,
  sha256-checked; a file with another sha256 is refused). Used where torch-fidelity and the
  weights are present; otherwise construction fails with a message saying what is missing.
  torch-fidelity is not a dependency of the project (its package imports torchvision, which
  does not load next to the CPU torch here), so it is imported only when asked for: the offline
  workflow (classifier features) never imports it.
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
        check_inception_weights(weights)
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


def check_inception_weights(weights: Path) -> None:
    """Refuse a missing weights file, or remove one whose sha256 is not the registry's and
    raise :class:`~latentrepro.data.download.ChecksumError` naming it and the expected hash."""
    from latentrepro.data.download import ChecksumError, sha256_file
    from latentrepro.data.registry import get_dataset

    (expected,) = get_dataset("inception_fid").files
    if not weights.is_file():
        raise FileNotFoundError(
            f"extractor.weights: Inception weights file {weights} not found (fetch it with "
            f"`latentrepro download inception_fid`, from {expected.url})"
        )
    actual = sha256_file(weights)
    if actual != expected.sha256:
        weights.unlink()  # as a bad download is: a wrong file must not be picked up again
        raise ChecksumError(str(weights), str(expected.sha256), actual, "extractor.weights")


def gaussian_fit(extractor: FeatureExtractor, batches: Iterable[torch.Tensor]) -> GaussianFit:
    """Mean and covariance of the extractor's features over image batches (fresh statistics)."""
    stats = FeatureStatistics(extractor.dim)
    for images in track(batches, f"FID features ({extractor.name})", unit="batches"):
        stats.update(extractor(images))
    return stats.compute()
