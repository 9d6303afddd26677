"""rPPL of generated text: the LM's perplexity convention on hand cases and what a fitted LM
learns."""

import math

import pytest
import torch

from latentrepro.metrics.rppl import (
    LSTMLanguageModel,
    lm_perplexity,
    reverse_perplexity,
    sentences_to_split,
)

from .test_symbol_vae import VOCAB

CPU = torch.device("cpu")
LM = {"embed_dim": 8, "hidden_dim": 16, "epochs": 6, "batch_size": 16, "lr": 0.05}


def constant_lm(log_probs: torch.Tensor) -> LSTMLanguageModel:
    """An LM whose next-token distribution is ``log_probs`` whatever the context."""
    model = LSTMLanguageModel(log_probs.numel(), 4, 4)
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.copy_(log_probs)
    return model


def test_sentences_become_marked_padded_rows():
    data = sentences_to_split([[5, 6, 7], [], [9]])
    assert data.tokens.tolist() == [[1, 5, 6, 7, 2], [1, 2, 0, 0, 0], [1, 9, 2, 0, 0]]
    assert data.lengths.tolist() == [5, 2, 3]


def test_an_untrained_uniform_lm_has_the_vocabulary_size_as_perplexity():
    data = sentences_to_split([[5, 6, 7, 8], [3], [9, 4]])
    uniform = constant_lm(torch.zeros(VOCAB))
    assert lm_perplexity(uniform, data, 2, CPU) == pytest.approx(VOCAB, rel=1e-5)


def test_perplexity_counts_end_of_sentence_but_not_start_or_padding():
    # p(w) = 0.5 for w = 5, 0.25 for </s>, the rest on the other ids (padding id 0 included).
    p = torch.full((VOCAB,), 0.25 / (VOCAB - 2))
    p[5], p[2] = 0.5, 0.25
    lm = constant_lm(p.log())
    data = sentences_to_split([[5, 5, 5], [5]])  # 6 predicted tokens: four 5s, two </s>
    expected = math.exp(-(4 * math.log(0.5) + 2 * math.log(0.25)) / 6)
    assert lm_perplexity(lm, data, 2, CPU) == pytest.approx(expected, rel=1e-5)
    # One batch or two: the short sentence's padding changes nothing.
    assert lm_perplexity(lm, data, 1, CPU) == pytest.approx(expected, rel=1e-5)


def test_an_lm_fit_on_one_sentence_predicts_it_and_not_another():
    sentence, other = [5, 6, 7, 8], [9, 10, 11]
    scores = reverse_perplexity(
        [sentence] * 64, [sentence] * 8, sentences_to_split([sentence] * 3), VOCAB, LM, 0, CPU
    )
    assert scores["rppl"] < 1.2 and scores["rppl_lm_valid_ppl"] == pytest.approx(scores["rppl"])
    assert 1 <= scores["rppl_lm_epoch"] <= LM["epochs"]
    unseen = reverse_perplexity(
        [sentence] * 64, [sentence] * 8, sentences_to_split([other]), VOCAB, LM, 0, CPU
    )
    assert unseen["rppl"] > VOCAB  # worse than guessing uniformly
    again = reverse_perplexity(
        [sentence] * 64, [sentence] * 8, sentences_to_split([other]), VOCAB, LM, 0, CPU
    )
    assert again == unseen
