"""Attribute-controlled generation (LDEBM's sentiment control, Yu et al. 2022 Sec. 4.5;
yuPeiyu98/LDEBM @ 37ebc1f ``sent_control.py``:1117-1197): sentences generated from p(z | y) for
each requested symbol y of a model whose symbols were trained with a label
(``regulariser.cluster.label``), scored by a classifier trained independently on the same
data (a ``text_classifier`` run, the ``scorer``).

Per requested label: the fraction of generated sentences the classifier assigns to it (the
authors' transferred accuracy), the classifier's accuracy on the real test sentences of that
label (its ceiling, the authors' true accuracy), BLEU of the generated sentences against the
test sentences of that label (every one a reference of every hypothesis), and self-BLEU (each
generated sentence against the others of its label; lower = more diverse). Chance is the
largest label share of the test split.
"""

from __future__ import annotations

from typing import Any

import sacrebleu
import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.models.text.lstm_vae import PAD


def _padded(sentences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Word ids ``[N, L]`` (PAD after each sentence) and lengths ``[N]``; an empty sentence
    is read as one PAD word (the classifier needs a step to read)."""
    lengths = torch.tensor([len(s) for s in sentences]).clamp_min(1)
    words = torch.full((len(sentences), max(1, int(lengths.max()))), PAD, dtype=torch.long)
    for row, sentence in enumerate(sentences):
        words[row, : len(sentence)] = torch.tensor(sentence, dtype=torch.long)
    return words, lengths


def multi_reference_bleu(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU-4 (0-100, unsmoothed, whitespace tokens) of ``hypotheses``, each against
    every sentence of ``references``."""
    if not hypotheses or not references:
        return float("nan")
    streams = [[ref] * len(hypotheses) for ref in references]
    return sacrebleu.corpus_bleu(
        hypotheses, streams, tokenize="none", smooth_method="none", force=True
    ).score


def self_bleu(sentences: list[str]) -> float:
    """Corpus BLEU-4 of each sentence against all the others (Zhu et al. 2018, Texygen)."""
    if len(sentences) < 2:
        return float("nan")
    others = [[s for j, s in enumerate(sentences) if j != i] for i in range(len(sentences))]
    streams = [list(column) for column in zip(*others, strict=True)]
    return sacrebleu.corpus_bleu(
        sentences, streams, tokenize="none", smooth_method="none", force=True
    ).score


@torch.no_grad()
def controlled_generation(
    model: Any,
    classifier: Any,
    test: TokenSplit,
    label: str,
    itos: list[str],
    settings: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Scores of ``settings["per_label"]`` sentences per label value, decoded greedily up to
    ``settings["max_length"]`` words, BLEU against at most ``settings["references"]`` test
    sentences of the label; a few examples per label."""
    if label not in test.labels:
        raise ValueError(f"samples.controlled: the test split has no label {label!r}")
    model.eval()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    values = test.labels[label]
    sentences = test.word_ids()
    words = lambda ids: " ".join(itos[i] for i in ids)  # noqa: E731
    chance = float(values.bincount().max()) / len(values)
    per_label: dict[str, dict[str, float]] = {}
    examples: dict[str, list[str]] = {}
    for y in range(model.prior.symbols):
        requested = torch.full((settings["per_label"],), y, dtype=torch.long)
        with model.prior.given_symbols(requested):
            z = model.prior.sample(len(requested), generator=generator)
        generated = model.decoder.generate(z, settings["max_length"])
        predicted = classifier.predict(*_padded(generated))
        real = [s for s, v in zip(sentences, values.tolist(), strict=True) if v == y]
        true = classifier.predict(*_padded(real)) if real else torch.empty(0)
        texts = [words(s) for s in generated]
        refs = [words(s) for s in real[: settings["references"]]]
        per_label[str(y)] = {
            "control_accuracy": float((predicted == y).float().mean()),
            "classifier_accuracy": float((true == y).float().mean()) if real else float("nan"),
            "bleu": multi_reference_bleu(texts, refs),
            "self_bleu": self_bleu(texts),
        }
        examples[str(y)] = texts[: settings.get("examples", 5)]
    return {
        "label": label,
        "chance": chance,
        "per_label": per_label,
        "control_accuracy": sum(v["control_accuracy"] for v in per_label.values()) / len(per_label),
        "examples": examples,
    }
