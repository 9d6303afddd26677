"""Models are compositions: a backbone (text LSTM VAE, image EBM) x a prior x a regulariser.

A model *family* (the ``arch`` of a model in params.yaml) tells the CLI how to build the model
from a resolved training config and a processed dataset and how to load a split for it. New
families register in :data:`FAMILIES`; the training loop is shared. How a family is evaluated
is registered under the same name one layer up, in :data:`latentrepro.evaluation.EVALUATORS`:
training imports nothing of the evaluation, so editing an evaluation reruns evaluations only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Family:
    """How the pipeline stages handle one model family."""

    build: Callable[[dict[str, Any], Path], nn.Module]
    load_split: Callable[[Path], Any]


def _build_text_vae(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.text import TextVAE

    vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))
    return TextVAE.from_config(config, len(vocab["itos"]))


def _load_token_split(path: Path) -> Any:
    from latentrepro.data.batches import TokenSplit

    return TokenSplit.load(path)


def _image_shape(data_dir: Path) -> tuple[int, int, int]:
    stats = json.loads((data_dir / "stats.json").read_text(encoding="utf-8"))
    c, h, w = stats["splits"]["train"]["shape"]
    return int(c), int(h), int(w)


def _build_image_ebm(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.image import CLEL, ImageEBM
    from latentrepro.models.image.settings import image_ebm_parts

    arch, model = image_ebm_parts(config)
    model_cls = CLEL if model["guidance"] else ImageEBM
    return model_cls(_image_shape(data_dir), arch, model)


def _num_classes(config: dict[str, Any], data_dir: Path) -> int:
    """1 + the largest value of the classifier's label (``arch.label``) in the training split
    (label values are 0 .. C-1)."""
    label, dataset = config["arch"]["label"], config["dataset"]["name"]
    stats = json.loads((data_dir / "stats.json").read_text(encoding="utf-8"))
    labels = stats["splits"]["train"]["label_counts"]
    if label not in labels:
        raise ValueError(
            f"archs.{config['model']['arch']}.{dataset}.label: {dataset} has no label "
            f"{label!r}; its labels: {sorted(labels)}"
        )
    return max(int(value) for value in labels[label]) + 1


def _build_image_classifier(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.image import ImageClassifier

    num_classes = _num_classes(config, data_dir)
    return ImageClassifier(
        _image_shape(data_dir), num_classes, config["arch"]["label"], config["arch"]
    )


def _build_text_classifier(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.text.classifier import TextClassifier

    vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))
    num_classes = _num_classes(config, data_dir)
    return TextClassifier.from_config(config, len(vocab["itos"]), num_classes)


def _load_image_split(path: Path) -> Any:
    """An image split; ``train+valid.pt`` names the union of two splits (e.g. the whole
    CIFAR-10 training set as FID reference, whose last 5,000 images form our valid split)."""
    from latentrepro.data.images import ImageSplit

    parts = [path.with_name(f"{name}{path.suffix}") for name in path.stem.split("+")]
    return ImageSplit.concatenate([ImageSplit.load(part) for part in parts])


def _build_symbol_vae(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.text.symbol_vae import SymbolTextVAE

    vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))
    return SymbolTextVAE.from_config(config, len(vocab["itos"]))


def _build_dialogue_vae(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.text.dialogue import DialogueVAE

    vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))
    return DialogueVAE.from_config(config, len(vocab["itos"]))


def _build_point_model(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.points import PointDensityModel

    return PointDensityModel.from_config(config)


def _load_point_split(path: Path) -> Any:
    from latentrepro.data.points import PointSplit

    return PointSplit.load(path)


FAMILIES: dict[str, Family] = {
    "lstm_vae": Family(_build_text_vae, _load_token_split),
    "image_ebm": Family(_build_image_ebm, _load_image_split),
    "image_classifier": Family(_build_image_classifier, _load_image_split),
    "symbol_vae": Family(_build_symbol_vae, _load_token_split),
    "dialogue_vae": Family(_build_dialogue_vae, _load_token_split),
    "text_classifier": Family(_build_text_classifier, _load_token_split),
    "point_ebm": Family(_build_point_model, _load_point_split),
}


def get_family(config: dict[str, Any]) -> Family:
    """The family of a resolved training config (``config["model"]["arch"]``)."""
    name = config["model"]["arch"]
    if name not in FAMILIES:
        raise ValueError(f"model.arch: unknown model family {name!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[name]


def build_model(config: dict[str, Any], data_dir: Path, seed: int) -> nn.Module:
    """The model of ``config`` with initial weights drawn from ``seed``."""
    torch.manual_seed(seed)
    return get_family(config).build(config, data_dir)
