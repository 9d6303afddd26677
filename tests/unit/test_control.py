"""Attribute control: sampling given a symbol, supervised symbols, and its scores
(models/priors/ebm.py given_symbols, SymbolTextVAE.batch_targets, evaluation/control.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation.control import controlled_generation, multi_reference_bleu, self_bleu
from latentrepro.models.priors import build_prior
from latentrepro.models.priors.ebm import LatentEBMPrior


def test_given_symbols_scores_the_requested_logit():
    """f(z) = logsumexp_k g_k(z), and g_y(z) for the requested y (a net with known logits)."""
    net = nn.Linear(2, 3)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    prior = LatentEBMPrior(2, net, 3, steps=1, step_size=0.1)
    z = torch.randn(4, 2)
    torch.testing.assert_close(prior.f(z), torch.full((4,), net.bias.logsumexp(0).item()))
    with prior.given_symbols(torch.tensor([0, 1, 2, 2])):
        torch.testing.assert_close(prior.f(z), torch.tensor([0.5, -1.0, 2.0, 2.0]))
        short = prior.given_symbols(torch.tensor([0, 1]))
        with pytest.raises(ValueError, match=r"\(2,\) requested symbols for \(4,\) latents"), short:
            prior.f(z)
    assert prior.requested is None


def test_ldebm_reads_the_requested_symbol_at_the_last_stage_only():
    """The authors pass the label to the t = 0 stage alone (ldebm_sent.py:445-448)."""
    prior = build_prior(
        {
            "name": "ldebm",
            "symbols": 3,
            "energy": {"hidden": 8, "blocks": 1},
            "langevin": {"steps": 1},
        },
        4,
    )
    prior.eval()  # spectral norm's power iteration moves the weights at every training call
    y, want = torch.randn(5, 4), torch.tensor([2, 0, 1, 1, 0])
    logits0, logits3 = prior.logits(y, 0), prior.logits(y, 3)
    with prior.given_symbols(want):
        torch.testing.assert_close(prior.g(y, 0), logits0.gather(1, want[:, None]).squeeze(1))
        torch.testing.assert_close(prior.g(y, 3), logits3.logsumexp(-1))
        score = prior.at_levels(torch.zeros(5, dtype=torch.long), y.dtype)
        torch.testing.assert_close(score(y) * prior.temperature[0].float(), prior.g(y, 0))
        mixed = torch.tensor([0, 3, 0, 3, 0])
        expected = torch.where(mixed == 0, logits0.gather(1, want[:, None]).squeeze(1),
                               logits3.logsumexp(-1))  # fmt: skip
        torch.testing.assert_close(prior.g(y, mixed), expected)


def test_a_prior_without_symbols_cannot_be_asked_for_one():
    prior = build_prior({"name": "lebm", "langevin": {"steps": 1, "step_size": 0.1}}, 2)
    with pytest.raises(ValueError, match="symbol-coupled"), prior.given_symbols(torch.zeros(1)):
        pass


def test_bleu_against_every_reference_and_self_bleu():
    same = "the food was very good here"
    assert multi_reference_bleu([same], ["bad service", same]) == pytest.approx(100.0)
    assert multi_reference_bleu(["a b c d"], ["e f g h"]) == 0.0
    assert self_bleu([same, same, same]) == pytest.approx(100.0)
    assert self_bleu(["a b c d", "e f g h", "i j k l"]) == 0.0


class _Prior:
    symbols = 2
    requested: torch.Tensor | None = None

    def given_symbols(self, symbols):
        prior = self

        class _Bound:
            def __enter__(self):
                prior.requested = symbols

            def __exit__(self, *exc):
                prior.requested = None

        return _Bound()

    def sample(self, n, generator=None):
        return self.requested.float().unsqueeze(1).repeat(1, 3)


class _Decoder:
    def generate(self, z, max_length):
        """symbol 0 -> 'w5 w6 w7 w8', symbol 1 -> alternately 'w9 w9 w9 w9' and empty."""
        return [[5, 6, 7, 8] if row[0] == 0 else ([9] * 4 if i % 2 else []) for i, row in
                enumerate(z.tolist())]  # fmt: skip


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.prior, self.decoder = _Prior(), _Decoder()


class _Classifier:
    """Label 1 iff the sentence holds word 9."""

    def predict(self, words, lengths):
        return (words == 9).any(-1).long()


def test_controlled_generation_scores_each_requested_label_by_hand():
    itos = ["<pad>", "<s>", "</s>", "<unk>", "x"] + [f"w{i}" for i in range(5, 10)]
    rows = [[1, 5, 6, 7, 8, 2], [1, 9, 9, 9, 9, 2], [1, 9, 6, 7, 8, 2], [1, 5, 6, 7, 8, 2]]
    test = TokenSplit(
        torch.tensor(rows), torch.tensor([6, 6, 6, 6]), {"sentiment": torch.tensor([0, 1, 1, 0])}
    )
    settings = {"per_label": 4, "max_length": 5, "references": 10, "examples": 2}
    record = controlled_generation(_Model(), _Classifier(), test, "sentiment", itos, settings, 0)
    zero, one = record["per_label"]["0"], record["per_label"]["1"]
    assert zero["control_accuracy"] == 1.0 and one["control_accuracy"] == 0.5  # empty -> label 0
    assert zero["classifier_accuracy"] == 1.0 and one["classifier_accuracy"] == 1.0
    assert zero["bleu"] == pytest.approx(100.0) and zero["self_bleu"] == pytest.approx(100.0)
    assert record["chance"] == 0.5 and record["control_accuracy"] == 0.75
    assert record["examples"]["0"] == ["w5 w6 w7 w8"] * 2
    with pytest.raises(ValueError, match="no label 'topic'"):
        controlled_generation(_Model(), _Classifier(), test, "topic", itos, settings, 0)


def test_symbols_trained_with_a_label_take_it_as_the_cross_entropy_target():
    from latentrepro.models.text.symbol_vae import SymbolTextVAE

    model = {
        "prior": {"name": "svebm", "symbols": 2, "langevin": {"steps": 1, "step_size": 0.5}},
        "regulariser": {"name": "ebm", "cluster": {"weight": 4.0, "label": "sentiment"}},
    }
    arch = {"embed_dim": 4, "hidden_dim": 6, "latent_dim": 3}
    vae = SymbolTextVAE.from_config({"arch": arch, "model": model}, 12)
    assert not vae.clustered  # no k-means pass: the label is the target
    batch = {"tokens": torch.tensor([[1, 5, 2]]), "label_sentiment": torch.tensor([1])}
    assert vae.batch_targets(batch).tolist() == [1]
    with pytest.raises(ValueError, match=r"regulariser\.cluster\.label: the data has no label"):
        vae.batch_targets({"tokens": batch["tokens"]})


def test_label_values_beyond_the_symbols_are_named_before_training():
    from latentrepro.models.text.symbol_vae import SymbolTextVAE

    model = {
        "prior": {"name": "svebm", "symbols": 2, "langevin": {"steps": 1, "step_size": 0.5}},
        "regulariser": {"name": "ebm", "cluster": {"weight": 4.0, "label": "sentiment"}},
    }
    vae = SymbolTextVAE.from_config(
        {"arch": {"embed_dim": 4, "hidden_dim": 6, "latent_dim": 3}, "model": model}, 12
    )
    tokens, lengths = torch.tensor([[1, 5, 2]] * 3), torch.tensor([3, 3, 3])
    vae.on_epoch_start(0, TokenSplit(tokens, lengths, {"sentiment": torch.tensor([0, 1, 1])}))
    with pytest.raises(
        ValueError,
        match=r"prior\.symbols: 2 symbols are trained with label 'sentiment', whose values "
        r"\[0, 1, 2\] include \[2\]; set prior\.symbols to at least 3",
    ):
        vae.on_epoch_start(0, TokenSplit(tokens, lengths, {"sentiment": torch.tensor([0, 1, 2])}))
    with pytest.raises(ValueError, match=r"no label 'sentiment'; its labels: \['class'\]"):
        vae.on_epoch_start(0, TokenSplit(tokens, lengths, {"class": torch.tensor([0, 1, 1])}))
