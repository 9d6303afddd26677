"""The LSTM text VAE: likelihood bookkeeping, padding invariance, the objective, schedules."""

import math

import pytest
import torch

from latentrepro.metrics import gaussian_kl
from latentrepro.models.regularisers import LinearSchedule, build_regulariser, build_schedule
from latentrepro.models.text import TextVAE
from latentrepro.models.text.lstm_vae import BOS, EOS, PAD

VOCAB = 12


def tiny_vae(dropout=0.0, schedule=None, **arch):
    config = {
        "arch": {"embed_dim": 8, "hidden_dim": 16, "latent_dim": 3, "dropout": dropout, **arch},
        "model": {
            "prior": {"name": "gaussian"},
            "regulariser": {"name": "kl", "schedule": schedule or {"name": "constant"}},
        },
    }
    torch.manual_seed(0)
    return TextVAE.from_config(config, VOCAB).eval()


def batch_of(sentences):
    """<s> w.. </s> padded with <pad>, as tokenisation writes them."""
    width = max(len(s) for s in sentences) + 2
    tokens = torch.full((len(sentences), width), PAD)
    for i, s in enumerate(sentences):
        tokens[i, : len(s) + 2] = torch.tensor([BOS, *s, EOS])
    return {"tokens": tokens, "lengths": torch.tensor([len(s) + 2 for s in sentences])}


def test_log_likelihood_equals_the_stepwise_chain_rule():
    vae = tiny_vae()
    sentence = [5, 7, 4]
    batch = batch_of([sentence])
    z = torch.randn(1, 3)
    expected, state = 0.0, None
    inputs = [BOS, *sentence]
    targets = [*sentence, EOS]
    with torch.no_grad():
        for token, target in zip(inputs, targets, strict=True):
            logits, state = vae.decoder(torch.tensor([[token]]), z, state)
            expected += torch.log_softmax(logits[0, -1], -1)[target].item()
        got = vae.log_likelihood(batch["tokens"], z).item()
    assert got == pytest.approx(expected, abs=1e-5)


def test_padding_changes_nothing():
    vae = tiny_vae()
    short, long = [4, 5], [4, 5, 6, 7, 8, 9]
    alone = batch_of([short])
    padded = batch_of([short, long])
    with torch.no_grad():
        mu_a, logvar_a = vae.posterior(alone)
        mu_p, logvar_p = vae.posterior(padded)
        z = torch.randn(1, 3)
        ll_a = vae.log_likelihood(alone["tokens"], z)
        ll_p = vae.log_likelihood(padded["tokens"], torch.cat([z, z]))
    torch.testing.assert_close(mu_a[0], mu_p[0])
    torch.testing.assert_close(logvar_a[0], logvar_p[0])
    torch.testing.assert_close(ll_a[0], ll_p[0])


def test_sample_dimension_is_a_loop_over_samples():
    vae = tiny_vae()
    batch = batch_of([[4, 5], [6, 7, 8]])
    z = torch.randn(4, 2, 3)
    with torch.no_grad():
        stacked = vae.log_likelihood(batch["tokens"], z)
        looped = torch.stack([vae.log_likelihood(batch["tokens"], z[i]) for i in range(4)])
    assert stacked.shape == (4, 2)
    torch.testing.assert_close(stacked, looped)


def test_training_loss_is_reconstruction_plus_weighted_kl():
    vae = tiny_vae(schedule={"name": "linear", "warmup": 0.5})
    batch = batch_of([[4, 5], [6, 7, 8]])
    torch.manual_seed(3)
    loss, logs = vae.training_step(batch, progress=0.25)
    torch.manual_seed(3)
    mu, logvar = vae.posterior(batch)
    z = vae.reparameterise(mu, logvar)
    rec = -vae.log_likelihood(batch["tokens"], z)
    expected = (rec + 0.5 * gaussian_kl(mu, logvar)).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert logs["kl_weight"] == 0.5


def test_reparameterised_samples_have_the_posterior_moments():
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, math.log(4.0)]])
    torch.manual_seed(0)
    z = TextVAE.reparameterise(mu, logvar, samples=200_000)
    assert z.shape == (200_000, 1, 2)
    torch.testing.assert_close(z.mean(0), mu, atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([[1.0, 2.0]]), atol=0.02, rtol=0)


def test_a_tiny_vae_learns_a_tiny_corpus():
    vae = tiny_vae().train()
    batch = batch_of([[4, 5, 6], [7, 8, 9, 10], [11, 4]])
    optimizer = torch.optim.Adam(vae.parameters(), lr=0.03)
    first = None
    for _ in range(150):
        loss, _ = vae.training_step(batch, progress=1.0)
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # Three sentences of 4-5 target tokens over 12 words start near 4.3 * log 12 ~ 10.7 nats.
    assert first > 8.0
    assert loss.item() < 2.0


def test_greedy_generation_stops_at_end_of_sentence():
    vae = tiny_vae(linear_bias=True)  # the output bias alone decides every step
    with torch.no_grad():
        vae.decoder.out.bias.fill_(-10.0)
        vae.decoder.out.bias[EOS] = 10.0
        sentences = vae.decoder.generate(torch.randn(3, 3), max_length=5)
    assert sentences == [[], [], []]


@pytest.mark.parametrize(("progress", "weight"), [(0.0, 0.0), (0.05, 0.5), (0.1, 1.0), (0.7, 1.0)])
def test_linear_schedule(progress, weight):
    assert LinearSchedule(warmup=0.1)(progress) == pytest.approx(weight)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match=r"regulariser\.name: unknown regulariser 'klx'"):
        build_regulariser({"name": "klx"}, 3)
    with pytest.raises(ValueError, match=r"schedule\.name: unknown schedule 'cosine'"):
        build_schedule({"name": "cosine"})


def test_blocked_output_layer_gives_the_one_pass_likelihood(monkeypatch):
    import latentrepro.models.text.lstm_vae as lstm_vae

    vae = tiny_vae()
    batch = batch_of([[4, 5], [4, 5, 6, 7, 8, 9], [7, 7, 7, 7]])
    z = torch.randn(3, 3)
    with torch.no_grad():
        logits, _ = vae.decoder(batch["tokens"][:, :-1], z)
        targets = batch["tokens"][:, 1:]
        expected = -torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), targets, ignore_index=PAD, reduction="none"
        ).sum(1)
        monkeypatch.setattr(lstm_vae, "OUTPUT_BLOCK", 4)  # 13 target tokens: blocks 4, 4, 4, 1
        blocked = vae.log_likelihood(batch["tokens"], z)
    torch.testing.assert_close(blocked, expected)
