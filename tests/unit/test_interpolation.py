"""Interpolation between test sentences and its scores (BLEU, self-BLEU, distinct-n)."""

import pytest
import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation.interpolation import interpolate
from latentrepro.metrics.interpolation import bleu, distinct_n, self_bleu
from latentrepro.models.text import TextVAE

ITOS = ["<pad>", "<s>", "</s>", "<unk>", "a", "b", "c", "d", "e", "f"]


def test_distinct_n_by_hand():
    sentences = [["a", "b", "a"], ["a", "b"]]
    assert distinct_n(sentences, 1) == pytest.approx(2 / 5)
    assert distinct_n(sentences, 2) == pytest.approx(2 / 3)  # (a b), (b a), (a b)
    assert distinct_n([["a"]], 2) == 0.0


def test_identical_sentences_score_100_and_disjoint_ones_0():
    same = [["the", "cat", "sat", "on", "the", "mat"]] * 3
    assert self_bleu(same) == pytest.approx(100.0)
    assert bleu(same[:1], same[:1]) == pytest.approx(100.0)
    other = [["a", "dog", "ran", "far", "away", "today"]]
    assert bleu(other, same[:1]) == pytest.approx(0.0)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="two sentences"):
        self_bleu([["a"]])
    with pytest.raises(ValueError, match="n must be"):
        distinct_n([["a"]], 0)


def tiny_split():
    tokens = torch.tensor([[1, 4, 5, 2, 0], [1, 6, 7, 8, 2], [1, 9, 2, 0, 0], [1, 4, 4, 2, 0]])
    return TokenSplit(tokens, torch.tensor([4, 5, 3, 4]), {})


def tiny_vae(**arch):
    config = {
        "arch": {"embed_dim": 8, "hidden_dim": 16, "latent_dim": 3, **arch},
        "model": {"prior": {"name": "gaussian"}, "regulariser": {"name": "kl"}},
    }
    torch.manual_seed(0)
    return TextVAE.from_config(config, len(ITOS))


def test_paths_run_between_the_decoded_posterior_means():
    vae, split = tiny_vae(), tiny_split()
    record = interpolate(vae, split, ITOS, pairs=2, points=11, max_length=6)
    assert record["points"] == 11 and len(record["examples"]) == 2
    mu, _ = vae.posterior(split.batch(torch.arange(4)))
    ends = vae.decoder.generate(mu, 6)
    for p, example in enumerate(record["examples"]):
        assert len(example["path"]) == 11
        assert example["path"][0] == " ".join(ITOS[i] for i in ends[2 * p])
        assert example["path"][-1] == " ".join(ITOS[i] for i in ends[2 * p + 1])
    assert record["examples"][0]["source"] == ["a b", "c d e"]
    assert set(record["scores"]) == {"bleu_endpoints", "self_bleu", "distinct_1", "distinct_2"}


def test_a_decoder_ignoring_z_gives_a_constant_path():
    vae = tiny_vae(linear_bias=True)  # an output bias alone fixes every step's logits
    with torch.no_grad():
        vae.decoder.out.weight.zero_()
        vae.decoder.out.bias.copy_(torch.tensor([0, 0, 0, 0, 5.0, 0, 0, 0, 0, 0]))
    record = interpolate(vae, tiny_split(), ITOS, pairs=1, points=5, max_length=3)
    assert record["examples"][0]["path"] == ["a a a a"] * 5
    assert record["scores"]["self_bleu"] == pytest.approx(100.0)
    assert record["scores"]["distinct_1"] == pytest.approx(1 / 20)


def test_pairs_and_points_are_checked():
    with pytest.raises(ValueError, match="pairs must lie in"):
        interpolate(tiny_vae(), tiny_split(), ITOS, pairs=3, points=11, max_length=4)
    with pytest.raises(ValueError, match="points must be"):
        interpolate(tiny_vae(), tiny_split(), ITOS, pairs=1, points=1, max_length=4)
