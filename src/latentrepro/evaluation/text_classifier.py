"""Held-out accuracy of a trained sentence classifier (the ``text_classifier`` family).

For predictions yhat_i and true values y_i of the classifier's label over the N sentences of
the evaluated split:

    accuracy   = (1/N) sum_i [yhat_i = y_i]                       (error = 1 - accuracy)
    accuracy_c = sum_i [yhat_i = c, y_i = c] / count_c,  count_c = sum_i [y_i = c]
    loss       = (1/N) sum_i -log softmax(logits_i)_{y_i}

``accuracy_c`` is the recall of value c, what the authors print as ``acc_pos`` / ``acc_neg``
(yuPeiyu98/LDEBM @ 37ebc1f ``workspace/sent_control.py:156-158``; they average it over batches
weighted by batch size, we pool the split). A value with no sentence in the split has no
``accuracy_c`` (null, with the reason).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from latentrepro.data.batches import TokenSplit
from latentrepro.models.text.classifier import TextClassifier

Metrics = tuple[dict[str, Any], dict[str, Any]]


def classification_metrics(
    predictions: torch.Tensor, targets: torch.Tensor, num_classes: int
) -> dict[str, Any]:
    """``accuracy``, ``error``, ``sentences`` (N) and per value c in 0 .. num_classes-1
    ``accuracy_c`` and ``count_c`` of predicted and true label values [N] (module docstring);
    ``null_reasons`` names the values absent from ``targets``."""
    if predictions.shape != targets.shape or targets.dim() != 1:
        raise ValueError(
            f"predictions {tuple(predictions.shape)} and targets {tuple(targets.shape)} must be "
            "two vectors of one length"
        )
    correct = predictions == targets
    accuracy = correct.double().mean().item() if len(targets) else float("nan")
    metrics: dict[str, Any] = {
        "accuracy": accuracy,
        "error": 1.0 - accuracy,
        "sentences": len(targets),
    }
    reasons = {}
    for value in range(num_classes):
        of_value = targets == value
        count = int(of_value.sum())
        metrics[f"count_{value}"] = count
        if count:
            metrics[f"accuracy_{value}"] = correct[of_value].double().mean().item()
        else:
            metrics[f"accuracy_{value}"] = float("nan")
            reasons[f"accuracy_{value}"] = f"no sentence of the split has label value {value}"
    metrics["null_reasons"] = reasons
    return metrics


@torch.no_grad()
def evaluate_text_classifier(
    model: TextClassifier,
    split: TokenSplit,
    settings: dict[str, Any],
    seed: int,
    device: torch.device,
) -> Metrics:
    """Accuracy, per-value accuracy and counts, and the mean cross-entropy (``loss``) of
    ``model`` over the whole ``split`` in batches of ``settings["batch_size"]``; no latents.
    Deterministic (eval mode), so ``seed`` is unused."""
    model.to(device).eval()
    predictions, targets, nll = [], [], 0.0
    for batch in split.batches(settings["batch_size"], device=device):
        logits = model(*model.inputs(batch))
        target = model.targets(batch)
        nll += F.cross_entropy(logits, target, reduction="sum").item()
        predictions.append(logits.argmax(-1).cpu())
        targets.append(target.cpu())
    metrics = classification_metrics(torch.cat(predictions), torch.cat(targets), model.num_classes)
    metrics["loss"] = nll / max(len(split), 1)
    return metrics, {}
