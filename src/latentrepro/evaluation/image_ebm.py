"""Evaluation of image EBMs: FID of generated samples against a reference split.

The feature extractor is named by the settings (``extractor.kind``: ``classifier`` for the
workflow's own offline classifier, ``inception`` for torch-fidelity's Inception-v3); its name,
the sample counts, the sampling protocol and the reference split are written next to the FID.
Both Gaussian fits are computed with fresh statistics on every call (CLEL's script let them
pile up, papers.md P3).

Sampling protocols (``fid.protocol``):

- ``authors``: hankook/CLEL@ccccf50 ``test_fid.py`` ~46-57: a fresh buffer of ``fid.samples``
  uniform images, ``fid.rounds`` passes of reinitialisation, strong augmentation and
  ``fid.sgld_steps`` SGLD steps under the EMA network (:meth:`ImageEBM.generate_fresh`);
- ``replay``: distinct chains of the training replay buffer continued ``fid.sgld_steps`` steps
  (:meth:`ImageEBM.generate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from latentrepro.data.images import ImageSplit
from latentrepro.metrics.features import (
    ClassifierFeatures,
    FeatureExtractor,
    InceptionFeatures,
    gaussian_fit,
)
from latentrepro.metrics.fid import fid_from_fits
from latentrepro.models.image.ebm import ImageEBM

#: Generated images kept with the metrics (for the sample grids).
KEPT_SAMPLES = 100


def load_classifier(checkpoint: str | Path, data_dir: str | Path) -> torch.nn.Module:
    """The trained :class:`~latentrepro.models.image.classifier.ImageClassifier` of a checkpoint."""
    from latentrepro.models import build_model

    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = build_model(saved["config"], Path(data_dir), saved["seed"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()


def load_extractor(spec: dict[str, Any], device: torch.device) -> FeatureExtractor:
    """The extractor of an ``extractor`` settings section."""
    kind = spec.get("kind")
    if kind == "classifier":
        classifier = load_classifier(spec["checkpoint"], spec["data"]).to(device)
        trained_on = f"trained on {Path(spec['data']).name} train"
        return ClassifierFeatures(classifier.net, trained_on)
    if kind == "inception":
        return InceptionFeatures(spec["weights"], device)
    raise ValueError(f"extractor.kind: unknown extractor {kind!r}; known: classifier, inception")


def generate_samples(model: ImageEBM, fid: dict[str, Any]) -> torch.Tensor:
    """The evaluation samples of a ``fid`` settings section (see the module docstring)."""
    protocol = fid.get("protocol", "replay")
    if protocol == "authors":
        return model.generate_fresh(
            fid["samples"], fid["rounds"], fid["sgld_steps"], fid["batch_size"]
        )
    if protocol == "replay":
        return model.generate(fid["samples"], fid["sgld_steps"], fid["batch_size"])
    raise ValueError(f"fid.protocol: unknown protocol {protocol!r}; known: authors, replay")


def _chunks(x: torch.Tensor, size: int, device: torch.device) -> list[torch.Tensor]:
    return [x[i : i + size].to(device) for i in range(0, x.size(0), size)]


@torch.no_grad()
def evaluate_image_ebm(
    model: ImageEBM, split: ImageSplit, settings: dict[str, Any], seed: int, device: torch.device
) -> tuple[dict[str, Any], dict[str, Any]]:
    """FID of ``settings.fid.samples`` generated images against the whole ``split``.

    Returns (metrics, kept) where kept holds the first generated images for sample grids.
    """
    torch.manual_seed(seed)
    model.to(device).eval()
    fid = settings["fid"]
    extractor = load_extractor(settings["extractor"], device)
    if fid["samples"] <= extractor.dim:
        raise ValueError(
            f"evaluate.fid.samples ({fid['samples']}) must exceed the feature dimension "
            f"({extractor.dim}), or the covariance of the generated features is singular"
        )
    reference = gaussian_fit(extractor, _chunks(split.x, fid["batch_size"], device))
    samples = generate_samples(model, fid).cpu()
    generated = gaussian_fit(extractor, _chunks(samples, fid["batch_size"], device))
    metrics = {
        "fid": fid_from_fits(generated, reference),
        "fid_extractor": extractor.name,
        "fid_protocol": fid.get("protocol", "replay"),
        "sample_rounds": fid.get("rounds", 1),
        "feature_dim": extractor.dim,
        "generated_samples": generated.count,
        "reference_samples": reference.count,
        "sample_sgld_steps": fid["sgld_steps"],
        "train_sgld_steps": model.sgld.steps,
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "protocol_names": {
            "fid": f"FID: {extractor.name}; {fid.get('protocol', 'replay')} protocol"
        },
    }
    return metrics, {"samples": samples[:KEPT_SAMPLES], "labels": {}}
