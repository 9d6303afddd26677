"""Samples drawn from a trained run beyond its evaluation, one module per kind, registered by
the kind's name (params.yaml ``samples.<kind>``).

Each :class:`Sampler` takes ``(model, config, data_dir, settings, tool, seed)``: the trained
model, its resolved training config, its processed dataset, the kind's settings
(:func:`latentrepro.config.sample_config`) and, for the kinds that use another run as a tool
(:data:`latentrepro.config.SAMPLE_TOOLS`), that run's checkpoint. It returns a JSON record
(scores, examples, the settings) and a dict of tensors (the samples themselves; ``{}`` for
kinds that keep none). The workflow's rule ``sample`` writes both, under
``results/samples/<kind>/<dataset>/<model>/seed<seed>.{json,pt}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

Drawn = tuple[dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class Sampler:
    """How the sample stage draws one kind of samples."""

    draw: Callable[[nn.Module, dict[str, Any], Path, dict[str, Any], Path | None, int], Drawn]
    #: Whether it needs the checkpoint of another run (``--tool``).
    uses_tool: bool = False


def _interpolation(
    model: nn.Module,
    config: dict[str, Any],
    data: Path,
    settings: dict[str, Any],
    tool: Path | None,
    seed: int,
) -> Drawn:
    """DG-VAE: decoded paths between consecutive test sentences (evaluation/interpolation.py)."""
    import json

    from latentrepro.evaluation.interpolation import interpolate
    from latentrepro.models import get_family

    itos = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["itos"]
    split = get_family(config).load_split(data / "test.pt")
    max_length = config["dataset"]["max_length"]
    record = interpolate(model, split, itos, settings["pairs"], settings["points"], max_length)
    record.update(dataset=config["dataset"]["name"], model=config["model"]["name"], seed=seed)
    return record, {}


def _conditional(
    model: nn.Module,
    config: dict[str, Any],
    data: Path,
    settings: dict[str, Any],
    tool: Path | None,
    seed: int,
) -> Drawn:
    """CLEL: SGLD toward each class of the scorer's label, scored by that classifier
    (models/image/conditional.py)."""
    from latentrepro.data.images import ImageSplit
    from latentrepro.evaluation.image_ebm import load_classifier
    from latentrepro.models.image.conditional import class_medians, guided_samples, score_guided

    if not callable(getattr(model, "guided_energy", None)):  # a model that can be guided
        raise ValueError(
            f"samples.conditional: {config['model']['name']!r} is not a guided image model"
        )
    assert tool is not None
    classifier = load_classifier(tool, data)
    label = classifier.label
    torch.manual_seed(seed)
    train = ImageSplit.load(data / "train.pt")
    samples = guided_samples(model, train, label, settings)
    scores = score_guided(samples, classifier.net, class_medians(train, label))
    record = {
        "model": config["model"]["name"],
        "seed": seed,
        "scorer": f"own classifier of {label!r} ({tool}), not the CLEL encoder",
        "settings": {**settings, "label": label},
        "metrics": scores,
    }
    return record, samples


def _responses(
    model: nn.Module,
    config: dict[str, Any],
    data: Path,
    settings: dict[str, Any],
    tool: Path | None,
    seed: int,
) -> Drawn:
    """LDEBM's response generation: the first test contexts with their reference and the
    response generated from z ~ p(z | c) (evaluation/dialogue.py's decoding)."""
    import json

    from latentrepro.evaluation.dialogue import response_examples
    from latentrepro.models import get_family

    if not callable(getattr(model, "respond", None)):  # a model that answers a context
        raise ValueError(f"samples.responses: {config['model']['name']!r} is not a response model")
    itos = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["itos"]
    split = get_family(config).load_split(data / "test.pt")
    max_length = config["dataset"]["max_length"]
    examples = response_examples(model, split, itos, settings["examples"], max_length, seed)
    record = {
        "dataset": config["dataset"]["name"],
        "model": config["model"]["name"],
        "seed": seed,
        "settings": settings,
        "examples": examples,
    }
    return record, {}


def _controlled(
    model: nn.Module,
    config: dict[str, Any],
    data: Path,
    settings: dict[str, Any],
    tool: Path | None,
    seed: int,
) -> Drawn:
    """LDEBM's sentiment control: sentences from p(z | y) per requested label, scored by the
    scorer's classifier (evaluation/control.py)."""
    import json

    from latentrepro.data.batches import TokenSplit
    from latentrepro.evaluation.control import controlled_generation
    from latentrepro.evaluation.image_ebm import load_classifier

    label = getattr(model, "target_label", None)
    if not label:
        raise ValueError(
            f"samples.controlled: {config['model']['name']!r} has no symbols trained with a "
            "label (regulariser.cluster.label)"
        )
    assert tool is not None
    classifier = load_classifier(tool, data)
    if getattr(classifier, "label", label) != label:
        raise ValueError(
            f"samples.controlled.scorer: the scorer classifies {classifier.label!r}, the "
            f"generator's symbols are {label!r}"
        )
    itos = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["itos"]
    test = TokenSplit.load(data / "test.pt")
    scores = controlled_generation(model, classifier, test, label, itos, settings, seed)
    record = {
        "dataset": config["dataset"]["name"],
        "model": config["model"]["name"],
        "seed": seed,
        "scorer": f"own text_classifier of {label!r} ({tool}), trained apart from the generator",
        "settings": settings,
        "metrics": scores,
    }
    return record, {}


SAMPLERS: dict[str, Sampler] = {
    "interpolation": Sampler(_interpolation),
    "responses": Sampler(_responses),
    "controlled": Sampler(_controlled, uses_tool=True),
    "conditional": Sampler(_conditional, uses_tool=True),
}


def get_sampler(kind: str) -> Sampler:
    if kind not in SAMPLERS:
        raise ValueError(f"samples: unknown kind {kind!r}; known: {sorted(SAMPLERS)}")
    return SAMPLERS[kind]
