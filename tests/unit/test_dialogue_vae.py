"""The context-conditioned response VAE (models/text/dialogue.py) and the conditional energies."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentrepro.models.priors import build_prior
from latentrepro.models.priors.energy import DiffusionEnergyNet, EnergyMLP
from latentrepro.models.text.dialogue import ContextEncoder, DialogueVAE

VOCAB = 40
ARCH = {"embed_dim": 10, "hidden_dim": 14, "utterance_dim": 6, "latent_dim": 4, "dropout": 0.0}
PRIORS = {
    "gaussian": ({"name": "gaussian"}, {"name": "kl"}),
    "svebm": (
        {"name": "svebm", "symbols": 3, "langevin": {"steps": 2, "step_size": 0.5}},
        {"name": "ebm", "mi_weight": 1.0},
    ),
    "ldebm": (
        {
            "name": "ldebm",
            "symbols": 3,
            "energy": {"hidden": 8, "blocks": 1},
            "langevin": {"steps": 2},
        },
        {"name": "ebm", "mi_weight": 0.05},
    ),
}


def model(prior: str, seed: int = 0) -> DialogueVAE:
    torch.manual_seed(seed)
    p, r = PRIORS[prior]
    return DialogueVAE.from_config({"arch": ARCH, "model": {"prior": p, "regulariser": r}}, VOCAB)


def sentence(words: list[int]) -> list[int]:
    return [1, *words, 2]


def batch_of(examples: list[tuple[list[list[int]], list[int]]]) -> dict[str, torch.Tensor]:
    """Pad (context turns, response) pairs the way the data stage does: responses to the
    batch's longest, turns to the longest turn, contexts to the most turns with PAD rows."""
    turns = max(len(ctx) for ctx, _ in examples)
    width = max(len(sentence(t)) for ctx, _ in examples for t in ctx)
    length = max(len(sentence(r)) for _, r in examples)
    context = torch.zeros(len(examples), turns, width, dtype=torch.long)
    tokens = torch.zeros(len(examples), length, dtype=torch.long)
    for i, (ctx, response) in enumerate(examples):
        for j, turn in enumerate(ctx):
            context[i, j, : len(turn) + 2] = torch.tensor(sentence(turn))
        tokens[i, : len(response) + 2] = torch.tensor(sentence(response))
    return {
        "tokens": tokens,
        "lengths": torch.tensor([len(r) + 2 for _, r in examples]),
        "context": context,
        "context_turns": torch.tensor([len(ctx) for ctx, _ in examples]),
        "index": torch.arange(len(examples)),
    }


SHORT = ([[5, 6]], [7, 8, 9])
LONG = ([[10, 11, 12, 13, 14, 15], [16, 17], [18, 19, 20, 21], [22]], [23, 24, 25, 26, 27, 28, 29])


def test_an_example_is_encoded_the_same_whatever_else_is_in_its_batch():
    """The packing the module docstring claims: padding added by a longer neighbour (more
    turns, longer turns, a longer response) changes neither c, q(z | x, c) nor log p(x | z, c)."""
    vae = model("gaussian").eval()
    alone, mixed = batch_of([SHORT]), batch_of([SHORT, LONG])
    assert mixed["context"].shape[1:] == (4, 8) and alone["context"].shape[1:] == (1, 4)
    c_alone, c_mixed = vae.condition(alone), vae.condition(mixed)[:1]
    torch.testing.assert_close(c_mixed, c_alone, rtol=0, atol=1e-6)
    mu_a, logvar_a = vae.posterior(alone)
    mu_m, logvar_m = vae.posterior(mixed)
    torch.testing.assert_close(mu_m[:1], mu_a, rtol=0, atol=1e-6)
    torch.testing.assert_close(logvar_m[:1], logvar_a, rtol=0, atol=1e-6)
    z = torch.randn(1, ARCH["latent_dim"])
    ll_a = vae.log_likelihood(alone["tokens"], z, c_alone)
    ll_m = vae.log_likelihood(mixed["tokens"][:1], z, c_mixed)
    torch.testing.assert_close(ll_m, ll_a, rtol=0, atol=1e-5)


def test_the_context_changes_the_posterior_and_the_likelihood():
    """c is really read: the same response under two contexts gets two posteriors."""
    vae = model("gaussian").eval()
    one, other = batch_of([SHORT]), batch_of([([[30, 31, 32]], SHORT[1])])
    assert not torch.allclose(vae.posterior(one)[0], vae.posterior(other)[0])
    z = torch.zeros(1, ARCH["latent_dim"])
    assert not torch.allclose(
        vae.log_likelihood(one["tokens"], z, vae.condition(one)),
        vae.log_likelihood(one["tokens"], z, vae.condition(other)),
    )


def test_attention_pooling_is_a_convex_combination_over_the_real_words():
    """The pooled state is a softmax-weighted mean of the real positions' BiGRU states: it lies
    in their per-coordinate range, and trailing padding does not change it."""
    torch.manual_seed(3)
    enc = ContextEncoder(VOCAB, 6, 5, 7)
    turn = torch.tensor([[1, 8, 9, 2, 0, 0]])
    pooled = enc.encode_turns(turn)
    packed = nn.utils.rnn.pack_padded_sequence(enc.embed(turn[:, :4]), torch.tensor([4]), True)
    states = nn.utils.rnn.pad_packed_sequence(enc.utterance(packed)[0], batch_first=True)[0][0]
    assert torch.all(pooled[0] <= states.max(0).values + 1e-6)
    assert torch.all(pooled[0] >= states.min(0).values - 1e-6)
    torch.testing.assert_close(enc.encode_turns(turn[:, :4]), pooled)


def test_parameter_count_of_the_authors_dailydialog_network():
    """The authors' sizes (conditional_gen_DD.py:785-890: embeddings 200, utterance BiGRU 256,
    context GRU 512, response LSTM 512, z 32, 10,004 words), counted by hand per layer."""
    v, e, u, h, d = 10_004, 200, 256, 512, 32
    gru = lambda i, s: 3 * (s * i + s * s + 2 * s)  # noqa: E731  (one direction)
    lstm = lambda i, s: 4 * (s * i + s * s + 2 * s)  # noqa: E731
    linear = lambda i, o: i * o + o  # noqa: E731
    context = v * e + 2 * gru(e, u) + linear(2 * u, u) + linear(u, 1) + gru(2 * u, h)
    posterior = v * e + lstm(e, h) + linear(2 * h, h) + 2 * linear(h, d)
    decoder = v * e + lstm(e + d, h) + 2 * linear(d, h) + linear(h, v) + linear(h, e + d)
    arch = {"embed_dim": e, "hidden_dim": h, "utterance_dim": u, "latent_dim": d, "dropout": 0.2}
    vae = DialogueVAE.from_config(
        {"arch": arch, "model": {"prior": {"name": "gaussian"}, "regulariser": {"name": "kl"}}}, v
    )
    assert sum(p.numel() for p in vae.parameters()) == context + posterior + decoder


@pytest.mark.parametrize("prior", sorted(PRIORS))
def test_every_prior_trains_and_responds(prior: str):
    """One step moves the loss's parameters, and respond() decodes one response per context,
    the same for the same generator seed."""
    vae = model(prior)
    batch = batch_of([SHORT, LONG, SHORT])
    loss, logs = vae.training_step(batch, 0.5)
    assert torch.isfinite(loss) and logs["rec"] > 0
    loss.backward()
    assert vae.encoder.context.embed.weight.grad.abs().sum() > 0
    vae.eval()
    first = vae.respond(batch, 5, torch.Generator().manual_seed(1))
    again = vae.respond(batch, 5, torch.Generator().manual_seed(1))
    assert first == again and len(first) == 3
    assert all(len(r) <= 6 and 0 not in r and 1 not in r for r in first)


def test_the_energy_does_not_train_the_context_encoder():
    """Both authors detach c in the energy (ldebm_ctx.py:525): the EBM's loss alone sends no
    gradient into the context encoder."""
    vae = model("ldebm")
    batch = batch_of([SHORT, LONG])
    c = vae.condition(batch)
    mu, logvar = vae.posterior(batch, c)
    with vae.prior.given(c):
        term, _ = vae.prior.density_loss(vae.reparameterise(mu, logvar).detach())
    term.mean().backward()
    assert all(p.grad is None for p in vae.encoder.context.parameters())
    assert any(p.grad is not None for p in vae.prior.parameters())


def test_conditional_svebm_energy_is_an_mlp_on_the_concatenation():
    """EnergyMLP with context_dim C equals a plain MLP over [z, c] with the same weights
    (ibebm conditional_gen.py:810-816)."""
    torch.manual_seed(0)
    cond = EnergyMLP(4, 3, hidden=5, context_dim=2)
    plain = EnergyMLP(6, 3, hidden=5)
    plain.load_state_dict(cond.state_dict())
    z, c = torch.randn(7, 4), torch.randn(7, 2)
    torch.testing.assert_close(cond(z, c), plain(torch.cat([z, c], -1)))


def test_conditional_ldebm_energy_reads_the_context_through_its_own_branch():
    torch.manual_seed(0)
    net = DiffusionEnergyNet(4, 3, levels=3, hidden=8, blocks=1, spectral=False, context_dim=5)
    y, t = torch.randn(6, 4), torch.zeros(6, dtype=torch.long)
    c = torch.randn(6, 5)
    assert not torch.allclose(net(y, t, context=c), net(y, t, context=c.flip(0)))
    with torch.no_grad():  # a zero context branch: the output ignores c
        net.c_embed[2].weight.zero_()
        net.c_embed[2].bias.zero_()
    torch.testing.assert_close(net(y, t, context=c), net(y, t, context=torch.randn(6, 5)))


def test_a_bound_condition_is_checked_and_released():
    prior = build_prior(
        {
            "name": "svebm",
            "symbols": 3,
            "langevin": {"steps": 1, "step_size": 0.5},
            "context_dim": 2,
        },
        4,
    )
    z = torch.randn(5, 4)
    with pytest.raises(ValueError, match="needs c"):
        prior.f(z)
    with prior.given(torch.randn(3, 2)), pytest.raises(ValueError, match=r"\(3, 2\) for 5"):
        prior.f(z)
    with prior.given(torch.randn(5, 2)):
        assert prior.f(z).shape == (5,)
    assert prior.context is None
    unconditional = build_prior(
        {"name": "svebm", "symbols": 3, "langevin": {"steps": 1, "step_size": 0.5}}, 4
    )
    with unconditional.given(torch.randn(5, 2)), pytest.raises(ValueError, match="unconditional"):
        unconditional.f(z)
