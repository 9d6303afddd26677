"""Text-generation scores: corpus BLEU of reconstructions (sacrebleu) and the unigram KL of
generated text to the training text (wKL, the DGM-VAE protocol, papers.md P1)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import sacrebleu


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """sacreBLEU corpus BLEU (0-100) of tokenised hypotheses against one reference each; the
    texts are already tokenised, so sacrebleu's own tokeniser is off."""
    if len(hypotheses) != len(references):
        raise ValueError(
            f"corpus_bleu: {len(hypotheses)} hypotheses but {len(references)} references"
        )
    hyp = [" ".join(h) for h in hypotheses]
    ref = [" ".join(r) for r in references]
    return float(sacrebleu.corpus_bleu(hyp, [ref], tokenize="none").score)


def unigram_kl(generated: Sequence[Sequence[str]], training: Sequence[Sequence[str]]) -> float:
    """wKL = sum_w p_gen(w) log(p_gen(w) / p_train(w)) over the generated unigrams.

    Words the training text never uses make the KL infinite (returned as ``inf``).
    """
    gen, train = Counter(w for s in generated for w in s), Counter(w for s in training for w in s)
    n_gen, n_train = sum(gen.values()), sum(train.values())
    if not n_gen or not n_train:
        raise ValueError("unigram_kl: both corpora need at least one word")
    total = 0.0
    for word, count in gen.items():
        if word not in train:
            return math.inf
        p = count / n_gen
        total += p * math.log(p / (train[word] / n_train))
    return total
