"""Scores of sentences decoded along a latent interpolation: BLEU, self-BLEU and distinct-n.

Sentences are lists of word strings; BLEU is sacrebleu's (Post, "A Call for Clarity in Reporting
BLEU Scores", WMT 2018) on the words joined by spaces, with sacrebleu's own tokenisation turned
off (``tokenize="none"``) because the text is tokenised already.

- BLEU of the path's endpoints against the two source sentences: does the path start and end at
  the sentences it interpolates between (reconstruction through the posterior means)?
- self-BLEU (Zhu et al., "Texygen: A Benchmarking Platform for Text Generation Models",
  SIGIR 2018): the mean, over the path's sentences, of each one's BLEU against all the others;
  100 when every point decodes to the same sentence (a collapsed latent space), lower when the
  path moves through different sentences.
- distinct-n (Li et al., "A Diversity-Promoting Objective Function for Neural Conversation
  Models", NAACL 2016): distinct n-grams over all n-grams of the path's sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

import sacrebleu

Sentence = Sequence[str]


def _text(sentence: Sentence) -> str:
    return " ".join(sentence)


def bleu(hypotheses: Sequence[Sentence], references: Sequence[Sentence]) -> float:
    """Corpus BLEU (0-100) of ``hypotheses[i]`` against the single reference ``references[i]``."""
    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(
            f"bleu: need as many references as hypotheses (>= 1), got {len(hypotheses)} "
            f"and {len(references)}"
        )
    refs = [[_text(r) for r in references]]
    return sacrebleu.corpus_bleu([_text(h) for h in hypotheses], refs, tokenize="none").score


def self_bleu(sentences: Sequence[Sentence]) -> float:
    """Mean sentence BLEU (0-100) of each sentence against all the other ones."""
    if len(sentences) < 2:
        raise ValueError(f"self_bleu: need at least two sentences, got {len(sentences)}")
    texts = [_text(s) for s in sentences]
    scores = [
        sacrebleu.sentence_bleu(text, texts[:i] + texts[i + 1 :], tokenize="none").score
        for i, text in enumerate(texts)
    ]
    return sum(scores) / len(scores)


def distinct_n(sentences: Sequence[Sentence], n: int) -> float:
    """Number of distinct n-grams over the number of n-grams (0 when there are none)."""
    if n < 1:
        raise ValueError(f"distinct_n: n must be >= 1, got {n}")
    grams = [tuple(s[i : i + n]) for s in sentences for i in range(len(s) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
