"""Dialogue response scores and word vectors, against hand-computed values."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from latentrepro.config import REPO_ROOT
from latentrepro.metrics.responses import (
    average_score,
    bleu_corpus,
    distinct_n,
    embedding_scores,
    extrema_score,
    greedy_score,
    response_scores,
)
from latentrepro.metrics.word_vectors import WordVectors, train_word_vectors

SQRT2 = math.sqrt(2.0)


def m(*rows: tuple[float, ...]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


# ---- BLEU -----------------------------------------------------------------------------------


def test_bleu_of_one_pair_is_the_geometric_mean_of_its_precisions():
    # hyp n-gram matches against the reference: 5/6, 3/5, 2/4, 1/3; equal lengths, BP = 1
    hyp, ref = ["the", "cat", "sat", "on", "the", "mat"], ["the", "cat", "sat", "on", "a", "mat"]
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert bleu_corpus([hyp], [ref]) == pytest.approx(expected, abs=1e-9)


def test_bleu_brevity_penalty():
    hyp, ref = ["the", "cat", "sat", "on"], ["the", "cat", "sat", "on", "the", "mat"]
    assert bleu_corpus([hyp], [ref]) == pytest.approx(100 * math.exp(1 - 6 / 4), abs=1e-9)


def test_bleu_sums_ngram_counts_over_the_corpus():
    # pair 1 matches 4/4, 3/3, 2/2, 1/1; pair 2 matches 3/4, 2/3, 1/2, 0/1: alone it scores 0
    hyps = [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    refs = [["a", "b", "c", "d"], ["e", "f", "g", "x"]]
    expected = 100 * (7 / 8 * 5 / 6 * 3 / 4 * 1 / 2) ** 0.25
    assert bleu_corpus(hyps, refs) == pytest.approx(expected, abs=1e-9)
    assert bleu_corpus(hyps[1:], refs[1:]) == 0.0


def test_bleu_is_unsmoothed_like_multi_bleu_perl():
    # three words have no 4-gram: p_4 = 0, so BLEU = 0 (sacrebleu's default smoothing would not)
    assert bleu_corpus([["a", "b", "c"]], [["a", "b", "c"]]) == 0.0


# ---- distinct-n -----------------------------------------------------------------------------


def test_distinct_n_divides_distinct_ngrams_by_the_token_count():
    hyps = [["a", "b", "c"], ["a", "b"]]  # 5 tokens; unigrams {a, b, c}; bigrams {ab, bc}
    assert distinct_n(hyps, 1) == pytest.approx(3 / 5)
    assert distinct_n(hyps, 2) == pytest.approx(2 / 5)


def test_distinct_n_of_no_tokens_is_zero_and_n_must_be_positive():
    assert distinct_n([[], []], 1) == 0.0
    with pytest.raises(ValueError, match="at least 1, got 0"):
        distinct_n([["a"]], 0)


# ---- embedding average, extrema, greedy -----------------------------------------------------


def test_average_of_identical_sentences_is_one_and_of_orthogonal_ones_zero():
    words = m((0.3, -1.2, 0.5), (2.0, 0.1, -0.4))
    assert average_score(words, words) == pytest.approx(1.0)
    assert average_score(m((1, 0, 0)), m((0, 1, 0), (0, 0, 1))) == pytest.approx(0.0)


def test_average_takes_the_mean_of_unnormalised_word_vectors():
    # mean (1.5, 0.5): cos with (1, 0) = 1.5 / sqrt(2.5)
    assert average_score(m((3, 0), (0, 1)), m((1, 0))) == pytest.approx(3 / math.sqrt(10))


def test_extrema_keeps_the_value_of_largest_magnitude_with_its_sign():
    # dim 0: max 2 > |min 1| -> 2; dim 1: max 1 < |min -3| -> -3
    hyp = m((1, -3), (2, 1))
    assert extrema_score(hyp, m((2, -3))) == pytest.approx(1.0)
    assert extrema_score(hyp, m((1, 0))) == pytest.approx(2 / math.sqrt(13))


def test_extrema_tie_takes_the_minimum():
    # dim 0: max 2 == |min -2| -> -2; dim 1: max 1 > |min 0| -> 1
    assert extrema_score(m((2, 1), (-2, 0)), m((-2, 1))) == pytest.approx(1.0)


def test_greedy_averages_both_matching_directions():
    # G(ref, hyp) = (max cos of (1,0): 1, of (0,1): 0) / 2 = 0.5; G(hyp, ref) = 1
    assert greedy_score(m((1, 0)), m((1, 0), (0, 1))) == pytest.approx(0.75)
    assert greedy_score(m((1, 0), (0, 1)), m((1, 0))) == pytest.approx(0.75)


def test_greedy_uses_cosines_of_single_words():
    # ref (1,0), (0,1); hyp (2,2), (0,-5): G(ref,hyp) = (1/sqrt2 + 1/sqrt2)/2, G(hyp,ref) =
    # (1/sqrt2 + 0)/2 since (0,-5) has cosine 0 with (1,0) and -1 with (0,1)
    hyp, ref = m((2, 2), (0, -5)), m((1, 0), (0, 1))
    expected = (1 / SQRT2 + 1 / (2 * SQRT2)) / 2
    assert greedy_score(hyp, ref) == pytest.approx(expected)


def test_a_zero_sentence_vector_scores_zero():
    assert average_score(m((1, 0), (-1, 0)), m((1, 0))) == 0.0


VECTORS = {"x": np.array([1.0, 0.0]), "y": np.array([0.0, 1.0]), "xy": np.array([1.0, 1.0])}


def test_embedding_scores_average_over_pairs_and_drop_oov_words():
    hyps = [["x", "oov"], ["x"]]
    refs = [["x"], ["y", "unknown"]]
    scores = embedding_scores(hyps, refs, VECTORS)
    assert scores["embedding_average"] == pytest.approx(0.5)  # (1 + 0) / 2
    assert scores["embedding_extrema"] == pytest.approx(0.5)
    assert scores["embedding_greedy"] == pytest.approx(0.5)
    assert scores["embedding_coverage"] == 1.0


def test_pairs_without_an_in_vocabulary_word_are_skipped():
    hyps = [["x"], ["oov"], ["x"]]
    refs = [["xy"], ["y"], []]
    scores = embedding_scores(hyps, refs, VECTORS)
    assert scores["embedding_average"] == pytest.approx(1 / SQRT2)
    assert scores["embedding_coverage"] == pytest.approx(1 / 3)
    empty = embedding_scores([["oov"]], [["x"]], VECTORS)
    assert math.isnan(empty["embedding_greedy"]) and empty["embedding_coverage"] == 0.0


def test_response_scores_returns_every_key():
    scores = response_scores([["x", "y"]], [["x", "y"]], VECTORS)
    assert sorted(scores) == [
        "bleu_corpus",
        "distinct_1",
        "distinct_2",
        "embedding_average",
        "embedding_coverage",
        "embedding_extrema",
        "embedding_greedy",
    ]
    assert scores["distinct_1"] == 1.0 and scores["distinct_2"] == 0.5
    assert scores["embedding_average"] == pytest.approx(1.0)


@pytest.mark.parametrize("score", [bleu_corpus, embedding_scores, response_scores])
def test_mismatched_lengths_name_both(score):
    args = ([["x"], ["y"]], [["x"], ["y"], ["x"]])
    if score is not bleu_corpus:
        args = (*args, VECTORS)
    with pytest.raises(ValueError, match="2 hypotheses but 3 references"):
        score(*args)


# ---- word vectors ---------------------------------------------------------------------------

GROUPS = [["cat", "dog", "horse", "cow"], ["car", "truck", "bus", "train"]]
CONTEXTS = [["fur", "pet", "tail", "barn"], ["road", "wheel", "engine", "fuel"]]


def topic_corpus(seed: int) -> list[list[str]]:
    """Sentences alternating words of one group with contexts of the same group only."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(400):
        g = rng.randrange(2)
        sentences.append([rng.choice((GROUPS if i % 2 else CONTEXTS)[g]) for i in range(8)])
    return sentences


def train(seed: int = 0, corpus_seed: int = 0) -> WordVectors:
    return train_word_vectors(
        topic_corpus(corpus_seed), dim=16, window=2, min_count=1, epochs=20, seed=seed
    )


def test_training_is_deterministic_with_a_seed_and_one_worker():
    a, b, c = train(seed=3), train(seed=3), train(seed=4)
    assert list(a) == list(b)
    assert all(np.array_equal(a[w], b[w]) for w in a)
    assert not np.array_equal(a["cat"], c["cat"])


TRAIN_IN_CHILD = """
from tests.unit.test_metrics_responses import train
print(train(seed=5)["dog"].tobytes().hex())
"""


def test_training_does_not_depend_on_the_hash_seed():
    def child(hash_seed: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", TRAIN_IN_CHILD],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert child("1") == child("2") == train(seed=5)["dog"].tobytes().hex()


def test_save_load_round_trip_is_exact(tmp_path):
    vectors = train()
    vectors.save(tmp_path / "vectors.txt")
    assert (tmp_path / "vectors.txt").read_text().splitlines()[0] == f"{len(vectors)} 16"
    loaded = WordVectors.load(tmp_path / "vectors.txt")
    assert loaded.dim == 16 and list(loaded) == list(vectors)
    assert all(np.array_equal(loaded[w], vectors[w]) for w in vectors)


def test_load_reads_the_word2vec_text_format(tmp_path):
    (tmp_path / "pretrained.txt").write_text("2 3\nfoo 1 2 3\nbar 0 0.5 -1\n")
    loaded = WordVectors.load(tmp_path / "pretrained.txt")
    assert list(loaded) == ["foo", "bar"] and len(loaded) == 2
    np.testing.assert_array_equal(loaded["bar"], np.array([0, 0.5, -1], dtype=np.float32))


@pytest.mark.parametrize("seed", range(4))
def test_words_of_one_topic_are_closer_than_words_of_two(seed):
    vectors = train(seed=seed, corpus_seed=seed)
    unit = {w: vectors[w] / np.linalg.norm(vectors[w]) for w in vectors}
    within = min(unit[a] @ unit[b] for g in GROUPS for a in g for b in g if a != b)
    across = max(unit[a] @ unit[b] for a in GROUPS[0] for b in GROUPS[1])
    assert within > across


def test_words_under_min_count_have_no_vector_and_are_dropped_from_scores():
    sentences = [["a", "b", "a", "b"]] * 20 + [["rare", "a"]]
    vectors = train_word_vectors(sentences, dim=4, window=1, min_count=2, epochs=2, seed=0)
    assert "rare" not in vectors and "a" in vectors
    with pytest.raises(KeyError):
        vectors["rare"]
    scores = embedding_scores([["rare"], ["a", "rare"]], [["a"], ["a"]], vectors)
    assert scores["embedding_coverage"] == 0.5
    assert scores["embedding_average"] == pytest.approx(1.0)
