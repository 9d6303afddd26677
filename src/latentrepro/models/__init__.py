"""Models are compositions: a backbone (text LSTM VAE, image EBM) x a prior x a regulariser.

A model *family* (the ``arch`` of a model in params.yaml) tells the CLI how to build the model
from a resolved training config and a processed dataset, how to load a split for it, and how
to evaluate it. New families register in :data:`FAMILIES`; the training loop is shared.
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
    evaluate: Callable[..., tuple[dict[str, Any], dict[str, Any]]]
    #: How the metrics are estimated, written into every metrics JSON beside the settings.
    protocol: str
    #: Whether ``evaluate`` also takes the training split (keyword ``train``).
    uses_train_split: bool = False


def _build_text_vae(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.text import TextVAE

    vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))
    return TextVAE.from_config(config, len(vocab["itos"]))


def _load_token_split(path: Path) -> Any:
    from latentrepro.data.batches import TokenSplit

    return TokenSplit.load(path)


def _evaluate_text_vae(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from latentrepro.evaluate import evaluate_text_vae

    return evaluate_text_vae(*args, **kwargs)


def _image_shape(data_dir: Path) -> tuple[int, int, int]:
    stats = json.loads((data_dir / "stats.json").read_text(encoding="utf-8"))
    c, h, w = stats["splits"]["train"]["shape"]
    return int(c), int(h), int(w)


def _build_image_ebm(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.image import CLEL, ImageEBM

    model_cls = CLEL if config["model"]["guidance"] else ImageEBM
    return model_cls(_image_shape(data_dir), config["arch"], config["model"])


def _build_image_classifier(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.image import ImageClassifier

    label = config["arch"]["label"]
    stats = json.loads((data_dir / "stats.json").read_text(encoding="utf-8"))
    counts = stats["splits"]["train"]["label_counts"].get(label)
    if counts is None:
        raise ValueError(f"classifier.label: {data_dir.name} has no label {label!r}")
    num_classes = max(int(value) for value in counts) + 1
    return ImageClassifier(_image_shape(data_dir), num_classes, label, config["arch"])


def _load_image_split(path: Path) -> Any:
    """An image split; ``train+valid.pt`` names the union of two splits (e.g. the whole
    CIFAR-10 training set as FID reference, whose last 5,000 images form our valid split)."""
    from latentrepro.data.images import ImageSplit

    parts = [path.with_name(f"{name}{path.suffix}") for name in path.stem.split("+")]
    return ImageSplit.concatenate([ImageSplit.load(part) for part in parts])


def _evaluate_image_ebm(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from latentrepro.models.image.evaluation import evaluate_image_ebm

    return evaluate_image_ebm(*args, **kwargs)


def _evaluate_image_classifier(
    model: nn.Module, split: Any, settings: dict[str, Any], seed: int, device: torch.device
) -> tuple[dict[str, Any], dict[str, Any]]:
    from latentrepro.train import evaluate_loss

    model.to(device)
    return evaluate_loss(model, split, settings["batch_size"], device), {}


def _build_symbol_vae(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.text.symbol_vae import SymbolTextVAE

    vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))
    return SymbolTextVAE.from_config(config, len(vocab["itos"]))


def _evaluate_symbol_vae(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from latentrepro.evaluate_ebm import evaluate_symbol_vae

    return evaluate_symbol_vae(*args, **kwargs)


def _build_point_model(config: dict[str, Any], data_dir: Path) -> nn.Module:
    from latentrepro.models.points import PointDensityModel

    return PointDensityModel.from_config(config)


def _load_point_split(path: Path) -> Any:
    from latentrepro.data.points import PointSplit

    return PointSplit.load(path)


def _evaluate_points(*args: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from latentrepro.evaluate_ebm import evaluate_points

    return evaluate_points(*args, **kwargs)


FAMILIES: dict[str, Family] = {
    "lstm_vae": Family(
        _build_text_vae,
        _load_token_split,
        _evaluate_text_vae,
        protocol=(
            "He et al. 2019: nll = -log p(x) per sentence by importance sampling with iw_samples "
            "draws of q(z|x); ppl = exp(sum nll / sum tokens incl. </s>); kl = E_x KL(q(z|x)||p(z)); "
            "mi = He et al. estimator with q(z) aggregated over each mi_aggregate; "
            "au = #dims with Var_x E_q[z_d] >= au_threshold over the split"
        ),
    ),
    "image_ebm": Family(
        _build_image_ebm,
        _load_image_split,
        _evaluate_image_ebm,
        protocol=(
            "FID = Frechet distance (float64, eigh-based matrix square root) between Gaussian "
            "fits of extractor features of fid.samples generated images and of the whole "
            "reference split; samples by metrics.fid_protocol: 'authors' = a fresh uniform "
            "buffer, fid.rounds passes of augmentation + fid.sgld_steps SGLD steps under the EMA "
            "energy (CLEL's test_fid.py), 'replay' = distinct training-buffer chains continued "
            "fid.sgld_steps steps; extractor named in metrics.fid_extractor, statistics fresh "
            "per call"
        ),
    ),
    "image_classifier": Family(
        _build_image_classifier,
        _load_image_split,
        _evaluate_image_classifier,
        protocol="mean cross-entropy (loss) and error rate (error) over the whole split",
    ),
    "symbol_vae": Family(
        _build_symbol_vae,
        _load_token_split,
        _evaluate_symbol_vae,
        protocol=(
            "He et al. 2019 as for lstm_vae, with log p(z) of the EBM prior normalised by an "
            "estimated log-partition term (estimators.log_partition); <label>_nmi and "
            "<label>_homogeneity: sklearn scores of each ground-truth label against the symbol "
            "argmax_y p(y|E_q z) over the whole split; bleu: reconstruction BLEU; with "
            "evaluate.generation: wkl and rppl of sentences generated from the prior "
            "(DGM-VAE protocol, estimators.generation/wkl/rppl)"
        ),
        uses_train_split=True,
    ),
    "point_ebm": Family(
        _build_point_model,
        _load_point_split,
        _evaluate_points,
        protocol=(
            "as many prior samples as test points, full Langevin budget; mmd2: unbiased MMD^2 "
            "to the test points, Gaussian kernel averaged over bandwidths 0.1, 0.5, 1.0; "
            "modes_covered: fraction of components receiving >= 25% of their uniform share of "
            "samples whose nearest test point (within 0.1) belongs to them; on_data: fraction "
            "of samples within 0.1 of a test point; nll: -log p(x) per test point with the "
            "estimated normaliser"
        ),
    ),
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
