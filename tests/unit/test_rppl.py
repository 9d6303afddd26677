"""rPPL and wKL of generated text: the LM's perplexity convention on hand cases, what a fitted
LM learns, generation from the prior, and the generation settings of params.yaml."""

import math

import pytest
import torch
import yaml

from latentrepro.config import REPO_ROOT, ParamsError, validate_params
from latentrepro.evaluation.rppl import lm_perplexity, reverse_perplexity
from latentrepro.evaluation.symbol_vae import (
    evaluate_symbol_vae,
    generate_from_prior,
    generation_metrics,
)
from latentrepro.models.text.language_model import LSTMLanguageModel, sentences_to_split
from latentrepro.models.text.symbol_vae import SymbolTextVAE

from .test_symbol_vae import VOCAB, config, split

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


def symbol_model(word_logits: dict[int, float]) -> SymbolTextVAE:
    """A symbol VAE whose decoder ignores its input and z: logits -inf but for ``word_logits``."""
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config(), VOCAB).eval()
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.fill_(-math.inf)
        for word, logit in word_logits.items():
            model.decoder.out.bias[word] = logit
    return model


def test_generation_ends_at_eos_and_cuts_unterminated_sentences():
    g = torch.Generator().manual_seed(0)
    assert generate_from_prior(symbol_model({2: 0.0}), 5, 4, "greedy", g) == ([[]] * 5, 0)
    assert generate_from_prior(symbol_model({5: 0.0}), 5, 4, "greedy", g) == ([[5] * 4] * 5, 5)
    # Ancestral sampling with p(5) = p(</s>) = 1/2: geometric lengths, stopped at </s>.
    sentences, cut = generate_from_prior(symbol_model({5: 0.0, 2: 0.0}), 400, 6, "sample", g)
    lengths = [len(s) for s in sentences]
    assert all(set(s) <= {5} for s in sentences) and max(lengths) == 6
    assert sum(n == 0 for n in lengths) == pytest.approx(200, abs=40)
    assert cut == pytest.approx(400 / 2**7, abs=8) and cut <= sum(n == 6 for n in lengths)


@pytest.mark.parametrize("decode", ["greedy", "sample"])
def test_generation_never_emits_padding_or_sentence_start(decode):
    # <pad> and <s> have the largest logits; the decoder must still pick a word or </s>.
    model = symbol_model({0: 5.0, 1: 5.0, 7: 0.0, 2: -1.0})
    sentences, _ = generate_from_prior(model, 50, 4, decode, torch.Generator().manual_seed(0))
    assert {w for s in sentences for w in s} == {7}


GENERATION = {"samples_train": 30, "samples_valid": 10, "decode": "greedy", "lm": LM}


def test_wkl_is_zero_for_the_training_unigrams_and_log_2_for_half_of_them():
    model = symbol_model({5: 0.0})
    only_fives = sentences_to_split([[5, 5, 5]] * 4)
    metrics, _ = generation_metrics(model, only_fives, only_fives, GENERATION, 0, CPU)
    assert metrics["wkl"] == 0.0 and metrics["gen_unterminated"] == 1.0
    assert metrics["rppl"] < 1.2  # generated and real text are the same sentence
    half = sentences_to_split([[5, 6, 6]] * 2 + [[5]] * 2)
    metrics, notes = generation_metrics(model, half, only_fives, GENERATION, 0, CPU)
    assert metrics["wkl"] == pytest.approx(math.log(2))
    assert "30 + 10 sentences" in notes["generation"] and "greedily" in notes["generation"]


def test_symbol_vae_evaluation_scores_generation_only_when_asked():
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config(), VOCAB)
    train, test = split(40, 0), split(20, 2)
    settings = {"iw_samples": 2, "batch_size": 10}
    metrics, _ = evaluate_symbol_vae(model, test, settings, 0, CPU, train=train)
    assert not {"rppl", "wkl"} & set(metrics) and "rppl" not in metrics["estimators"]
    settings["generation"] = GENERATION
    metrics, _ = evaluate_symbol_vae(model, test, settings, 0, CPU, train=train)
    assert metrics["rppl"] > 1 and metrics["wkl"] >= 0
    assert {"generation", "wkl", "rppl"} <= set(metrics["estimators"])
    with pytest.raises(ValueError, match=r"evaluate\.generation"):
        evaluate_symbol_vae(model, test, settings, 0, CPU)


@pytest.fixture
def params():
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def test_the_paper_profile_follows_the_dgm_vae_sample_sizes(params):
    generation = validate_params(params)["profiles"]["paper"]["evaluate"]["generation"]
    assert (generation["samples_train"], generation["samples_valid"]) == (40000, 3000)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("samples_train", 0, "generation.samples_train: 0 is less than the minimum of 1"),
        ("decode", "beam", "generation.decode: 'beam' is not one of"),
        ("lm", {**LM, "layers": 2}, "generation.lm: unknown key 'layers'"),
    ],
)
def test_bad_generation_settings_are_rejected_by_name(params, key, value, expected):
    params["profiles"]["smoke"]["evaluate"]["generation"][key] = value
    with pytest.raises(ParamsError) as err:
        validate_params(params)
    assert f"profiles.smoke.evaluate.{expected}" in str(err.value)
