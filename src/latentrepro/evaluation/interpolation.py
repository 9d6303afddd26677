"""Latent interpolation between test sentences (DG-VAE, Zhang et al. 2022, Sec. 5): decode
points on the segment between two posterior means and score the decoded path.

Pairs are consecutive test sentences (0, 1), (2, 3), ...; each path has ``points`` equally
spaced points z_t = (1 - t) mu_a + t mu_b, t = 0, 1/(points-1), ..., 1, decoded greedily.
"""

from __future__ import annotations

from typing import Any

import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.metrics.interpolation import bleu, distinct_n, self_bleu
from latentrepro.models.text import TextVAE
from latentrepro.models.text.lstm_vae import EOS


def words(ids: list[int], itos: list[str]) -> list[str]:
    return [itos[i] for i in ids]


def source_sentence(tokens: torch.Tensor, length: int, itos: list[str]) -> list[str]:
    """The words of a numericalised sentence, without ``<s>`` and ``</s>``."""
    ids = tokens[1 : int(length)].tolist()
    return words(ids[: ids.index(EOS)] if EOS in ids else ids, itos)


@torch.no_grad()
def interpolate(
    model: TextVAE, split: TokenSplit, itos: list[str], pairs: int, points: int, max_length: int
) -> dict[str, Any]:
    """Decoded paths for ``pairs`` sentence pairs and their mean scores."""
    if points < 2:
        raise ValueError(f"interpolate: points must be >= 2, got {points}")
    if not 1 <= pairs <= len(split) // 2:
        raise ValueError(f"interpolate: pairs must lie in [1, {len(split) // 2}], got {pairs}")
    model.eval()
    batch = split.batch(torch.arange(2 * pairs), next(model.parameters()).device)
    mu, _ = model.posterior(batch)
    t = torch.linspace(0, 1, points, device=mu.device).view(1, points, 1)
    z = (1 - t) * mu[0::2].unsqueeze(1) + t * mu[1::2].unsqueeze(1)  # [pairs, points, D]
    decoded = model.decoder.generate(z.reshape(pairs * points, -1), max_length)
    paths = [
        [words(ids, itos) for ids in decoded[p * points : (p + 1) * points]] for p in range(pairs)
    ]
    sources = [
        source_sentence(batch["tokens"][i], batch["lengths"][i], itos) for i in range(2 * pairs)
    ]
    ends = [s for path in paths for s in (path[0], path[-1])]
    scores = {
        "bleu_endpoints": bleu(ends, sources),
        "self_bleu": sum(self_bleu(path) for path in paths) / pairs,
        "distinct_1": sum(distinct_n(path, 1) for path in paths) / pairs,
        "distinct_2": sum(distinct_n(path, 2) for path in paths) / pairs,
    }
    examples = [
        {
            "source": [" ".join(sources[2 * p]), " ".join(sources[2 * p + 1])],
            "path": [" ".join(s) for s in paths[p]],
        }
        for p in range(pairs)
    ]
    return {"scores": scores, "pairs": pairs, "points": points, "examples": examples}
