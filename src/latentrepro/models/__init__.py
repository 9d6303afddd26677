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
