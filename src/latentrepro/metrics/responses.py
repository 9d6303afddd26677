"""Scores of generated dialogue responses against reference responses (the LDEBM paper's
DailyDialog and SMD evaluation, with distinct-n added).

All functions take tokenised text, one reference per hypothesis (the authors' files hold one
reference per line). The authors' code is yuPeiyu98/LDEBM @ 37ebc1f; ``DD`` below is
``workspace/conditional_gen_DD.py`` (``conditional_gen_SMD.py`` holds the same
``Word2VecEvaluator``, at lines 398-489, and the same BLEU call).

- BLEU: ``DD``:1582-1611 pipes the hypothesis file into Moses' ``multi-bleu.perl``
  (``workspace/multi-bleu.perl``), no ``-lc``: corpus-level BLEU-4 with uniform weights, case
  sensitive, on whitespace tokens, unsmoothed (a zero n-gram precision gives 0,
  ``multi-bleu.perl``:156-159, 171-174), brevity penalty exp(1 - r/c) when c < r (:153-155),
  printed on a 0-100 scale. No sentence-level BLEU is used for dialogue (nltk's
  ``sentence_bleu`` appears only in ``workspace/utils/yelp_datautil.py``:10-13, never called;
  ``workspace/dgmvae/evaluators.py``:80's smoothed nltk ``corpus_bleu`` serves the
  CornellMovie text-generation scripts, not the dialogue ones).
- Embedding average, extrema and greedy: ``Word2VecEvaluator`` (``DD``:425-515; the same
  definitions in ``workspace/dgmvae/evaluators.py``:91-170), after Liu et al. 2016, "How NOT
  to evaluate your dialogue system", EMNLP (section "Embedding-based Metrics").
  Out-of-vocabulary words are dropped; a pair whose reference or hypothesis has no word left
  is skipped, and each score is the mean over the remaining pairs (``DD``:493-506). The
  authors score the prior samples that way (``DD``:1618); BLEU both those and the posterior
  reconstructions.
  Their reader also drops every token that starts with ``<`` or ends with ``>`` (``DD``:482,
  486); pass token lists without such special tokens to match.
- distinct-n: Li et al. 2016, "A Diversity-Promoting Objective Function for Neural
  Conversation Models", NAACL (its "distinct-1" and "distinct-2"); not in the authors'
  code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import sacrebleu

Tokens = Sequence[str]


def _check_pairs(hypotheses: Sequence[Tokens], references: Sequence[Tokens]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references: "
            "one reference per hypothesis"
        )


def bleu_corpus(hypotheses: Sequence[Tokens], references: Sequence[Tokens]) -> float:
    """Corpus BLEU-4 on a 0-100 scale, as ``multi-bleu.perl`` computes it (sacrebleu with its
    tokeniser and smoothing off)::

        BLEU = BP * exp(sum_{n=1..4} log(p_n) / 4),  BP = min(1, exp(1 - r / c)),

    p_n = (sum over pairs of clipped n-gram matches) / (sum of hypothesis n-grams), c and r the
    total hypothesis and reference lengths; 0 when any p_n is 0.
    """
    _check_pairs(hypotheses, references)
    hyp = [" ".join(h) for h in hypotheses]
    ref = [" ".join(r) for r in references]
    bleu = sacrebleu.corpus_bleu(hyp, [ref], tokenize="none", smooth_method="none", force=True)
    return float(bleu.score)


def distinct_n(hypotheses: Sequence[Tokens], n: int) -> float:
    """distinct-n = |{distinct n-grams in all hypotheses}| / (number of hypothesis tokens).

    Li et al. 2016 scale the count "by total number of generated tokens" (so distinct-2 is
    divided by the token count too, not by the bigram count); 0 when there are no tokens.
    """
    if n < 1:
        raise ValueError(f"distinct_n: n must be at least 1, got {n}")
    ngrams = {tuple(h[i : i + n]) for h in hypotheses for i in range(len(h) - n + 1)}
    tokens = sum(len(h) for h in hypotheses)
    return len(ngrams) / tokens if tokens else 0.0


def _unit(v: np.ndarray) -> np.ndarray:
    """v / ||v|| along the last axis; zero vectors stay zero (the authors' code divides by
    zero there and gets NaN)."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def _extrema(words: np.ndarray) -> np.ndarray:
    """Per dimension d, max_w e_wd if max_w e_wd > |min_w e_wd|, else min_w e_wd (a tie takes
    the minimum), ``DD``:445-448."""
    high, low = words.max(axis=0), words.min(axis=0)
    return np.where(high > np.abs(low), high, low)


def average_score(hypothesis: np.ndarray, reference: np.ndarray) -> float:
    """cos(mean_w e_w over the hypothesis, mean_w e_w over the reference); rows are word
    vectors (``DD``:443, 450, 500; Liu et al. 2016 eq. for "embedding average")."""
    return float(_unit(hypothesis.mean(axis=0)) @ _unit(reference.mean(axis=0)))


def extrema_score(hypothesis: np.ndarray, reference: np.ndarray) -> float:
    """cos(extrema(hypothesis), extrema(reference)), ``DD``:445-451, 501 (Forgues et al.
    2014's vector extrema, as in Liu et al. 2016)."""
    return float(_unit(_extrema(hypothesis)) @ _unit(_extrema(reference)))


def greedy_score(hypothesis: np.ndarray, reference: np.ndarray) -> float:
    """(G(r, h) + G(h, r)) / 2 with G(a, b) = mean_{w in a} max_{v in b} cos(e_w, e_v),
    ``DD``:457-471, 502 (Rus and Lintean 2012's greedy matching, as in Liu et al. 2016)."""
    cosines = _unit(reference) @ _unit(hypothesis).T
    return float((cosines.max(axis=1).mean() + cosines.max(axis=0).mean()) / 2)


def _word_matrix(tokens: Tokens, vectors: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """The in-vocabulary words' vectors as float64 rows, or None when no word has one."""
    rows = [np.asarray(vectors[w], dtype=np.float64) for w in tokens if w in vectors]
    return np.stack(rows) if rows else None


def embedding_scores(
    hypotheses: Sequence[Tokens],
    references: Sequence[Tokens],
    vectors: Mapping[str, np.ndarray],
) -> dict[str, float]:
    """Mean embedding average, extrema and greedy scores over the pairs where both sides keep
    at least one in-vocabulary word, and the fraction of pairs scored.

    Keys: ``embedding_average``, ``embedding_extrema``, ``embedding_greedy`` (NaN when no pair
    can be scored; the authors' code raises ZeroDivisionError there) and
    ``embedding_coverage``.
    """
    _check_pairs(hypotheses, references)
    scores: dict[str, list[float]] = {"average": [], "extrema": [], "greedy": []}
    for hyp, ref in zip(hypotheses, references, strict=True):
        h, r = _word_matrix(hyp, vectors), _word_matrix(ref, vectors)
        if h is None or r is None:
            continue
        scores["average"].append(average_score(h, r))
        scores["extrema"].append(extrema_score(h, r))
        scores["greedy"].append(greedy_score(h, r))
    scored = len(scores["greedy"])
    result = {
        f"embedding_{k}": math.fsum(v) / scored if scored else math.nan for k, v in scores.items()
    }
    result["embedding_coverage"] = scored / len(hypotheses) if hypotheses else 0.0
    return result


def response_scores(
    hypotheses: Sequence[Tokens],
    references: Sequence[Tokens],
    vectors: Mapping[str, np.ndarray],
) -> dict[str, float]:
    """Every response score: ``bleu_corpus`` (0-100), ``distinct_1``, ``distinct_2`` and the
    keys of :func:`embedding_scores`."""
    _check_pairs(hypotheses, references)
    return {
        "bleu_corpus": bleu_corpus(hypotheses, references),
        "distinct_1": distinct_n(hypotheses, 1),
        "distinct_2": distinct_n(hypotheses, 2),
        **embedding_scores(hypotheses, references, vectors),
    }
