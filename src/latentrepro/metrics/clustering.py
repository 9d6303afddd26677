"""Agreement of an inferred discrete symbol with ground-truth labels over a whole split:
normalised mutual information and homogeneity (Rosenberg & Hirschberg, "V-Measure", EMNLP
2007), via scikit-learn. Computed once over all examples, never averaged over batches (the
LDEBM authors' code averaged homogeneity over test batches, papers.md P1)."""

from __future__ import annotations

import torch
from sklearn.metrics import homogeneity_score, normalized_mutual_info_score


def symbol_agreement(labels: torch.Tensor, symbols: torch.Tensor) -> dict[str, float]:
    """``{"nmi", "homogeneity"}`` of ``labels`` (truth) against ``symbols`` (predicted), both
    ``[N]``. Homogeneity is 1 when every symbol holds a single label."""
    if labels.shape != symbols.shape or labels.dim() != 1:
        raise ValueError(
            f"symbol_agreement: labels {tuple(labels.shape)} and symbols {tuple(symbols.shape)} "
            "must be 1-D of equal length"
        )
    truth, predicted = labels.cpu().numpy(), symbols.cpu().numpy()
    return {
        "nmi": float(normalized_mutual_info_score(truth, predicted)),
        "homogeneity": float(homogeneity_score(truth, predicted)),
    }
