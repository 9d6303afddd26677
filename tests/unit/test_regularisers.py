"""The VAE-regulariser family: cyclical annealing, free bits, BN-VAE, delta-VAE."""

import math

import pytest
import torch

from latentrepro.metrics import gaussian_kl
from latentrepro.models.priors import GaussianPrior
from latentrepro.models.regularisers import CyclicalSchedule, build_regulariser
from latentrepro.models.regularisers.free_bits import free_bits_terms
from latentrepro.models.regularisers.posterior_constraints import delta_variance_bound


@pytest.mark.parametrize(
    ("progress", "weight"),
    [(0.0, 0.0), (0.0625, 0.5), (0.125, 1.0), (0.2, 1.0), (0.25, 0.0), (0.3125, 0.5), (0.99, 1.0)],
)
def test_cyclical_schedule_restarts_every_cycle(progress, weight):
    # 4 cycles of length 0.25; the weight rises over the first half (0.125) of each.
    assert CyclicalSchedule(cycles=4, ratio=0.5)(progress) == pytest.approx(weight)


@pytest.mark.parametrize(
    ("progress", "weight"),
    [(0.0, 0.0), (0.049, 0.0), (0.05, 0.0), (0.0625, 0.25), (0.075, 0.5), (0.09, 0.5), (0.1, 0.0)],
)
def test_a_cyclical_schedule_with_a_zero_phase_is_the_svebm_authors_schedule(progress, weight):
    # 10 cycles; each holds 0 for its first half, rises to 0.5 over a quarter, then stays
    # (ibebm frange_cycle_zero_linear(n_cycle=10, ratio_zero=0.5, ratio_increase=0.25, stop=0.5)).
    schedule = CyclicalSchedule(cycles=10, ratio=0.25, max=0.5, zero=0.5)
    assert schedule(progress) == pytest.approx(weight, abs=1e-9)


def test_cyclical_schedule_rejects_bad_settings():
    with pytest.raises(ValueError, match=r"schedule\.cycles"):
        CyclicalSchedule(cycles=0)
    with pytest.raises(ValueError, match=r"schedule\.ratio"):
        CyclicalSchedule(ratio=0.0)
    with pytest.raises(ValueError, match=r"schedule\.zero"):
        CyclicalSchedule(ratio=0.6, zero=0.5)


def test_free_bits_terms_by_hand():
    # Group 0 has batch-mean KL 3 > 2 (kept per example); group 1 has mean 1 < 2 (floored).
    kl = torch.tensor([[2.0, 0.5], [4.0, 1.5]])
    terms = free_bits_terms(kl, target=2.0)
    torch.testing.assert_close(terms, torch.tensor([4.0, 6.0]))
    assert terms.mean().item() == pytest.approx(max(2.0, 3.0) + max(2.0, 1.0))


def kl_reg(name, **cfg):
    return build_regulariser({"name": name, **cfg, "schedule": {"name": "constant"}}, 4)


def test_free_bits_per_dimension_and_vector():
    mu = torch.tensor([[3.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    logvar = torch.zeros(2, 4)
    prior = GaussianPrior(4)
    # Per-dim KL: dim 0 has mu^2 / 2 = 4.5 and 0.5 (mean 2.5); the others 0.
    per_dim, _ = kl_reg("free_bits", **{"lambda": 1.0, "mode": "dim"})(mu, logvar, mu, prior, 1.0)
    torch.testing.assert_close(per_dim, torch.tensor([4.5 + 3.0, 0.5 + 3.0]))
    vector, _ = kl_reg("free_bits", **{"lambda": 3.0, "mode": "vector"})(mu, logvar, mu, prior, 1.0)
    torch.testing.assert_close(vector, torch.tensor([3.0, 3.0]))  # mean KL 2.5 < 3


def test_free_bits_gives_no_gradient_below_the_target():
    mu = torch.full((3, 4), 0.1, requires_grad=True)
    term, _ = kl_reg("free_bits", **{"lambda": 1.0, "mode": "dim"})(
        mu, torch.zeros(3, 4), mu, GaussianPrior(4), 1.0
    )
    term.mean().backward()
    assert torch.count_nonzero(mu.grad) == 0


def test_bn_vae_fixes_the_batch_moments_of_the_means():
    reg = kl_reg("bn_vae", gamma=0.6).train()
    with torch.no_grad():
        reg.shift.copy_(torch.tensor([0.0, 1.0, -2.0, 0.5]))
    mu = 5 * torch.randn(256, 4) + 3
    out, _ = reg.transform_posterior(mu, torch.zeros(256, 4))
    torch.testing.assert_close(out.mean(0), reg.shift.detach(), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(0, correction=0), torch.full((4,), 0.36), atol=1e-3, rtol=0)
    # Hence E_x KL >= D gamma^2 / 2 (Zhu et al. 2020, Eq. 7) whatever the variances are.
    assert gaussian_kl(out, torch.zeros(256, 4)).mean() >= 4 * 0.36 / 2


def test_bn_vae_gamma_is_not_learnt():
    reg = kl_reg("bn_vae", gamma=0.6)
    assert [name for name, _ in reg.named_parameters()] == ["shift"]


@pytest.mark.parametrize("delta", [0.01, 0.1, 1.0])
def test_delta_variance_bound_solves_its_equation(delta):
    s = delta_variance_bound(delta)
    assert 0 < s < 1
    assert s - math.log(s) - 1 == pytest.approx(2 * delta, rel=1e-9)


def test_delta_vae_keeps_every_dimension_above_the_committed_rate():
    reg = kl_reg("delta_vae", delta=0.1)
    g = torch.Generator().manual_seed(0)
    mu = torch.cat([torch.zeros(1, 4), torch.randn(99, 4, generator=g)])
    raw_logvar = torch.cat([torch.zeros(1, 4), 10 * torch.randn(99, 4, generator=g)])
    mu, logvar = reg.transform_posterior(mu, raw_logvar)
    per_dim = gaussian_kl(mu.unsqueeze(-1), logvar.unsqueeze(-1))
    assert per_dim.min() >= 0.1 - 1e-6
    term, _ = reg(mu, logvar, mu, GaussianPrior(4), 1.0)
    assert term.min() >= 4 * 0.1 - 1e-5


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        ({"name": "free_bits", "lambda": 1.0, "mode": "group"}, r"regulariser\.mode"),
        ({"name": "free_bits", "lambda": -1.0, "mode": "dim"}, r"regulariser\.lambda"),
        ({"name": "bn_vae", "gamma": 0.0}, r"regulariser\.gamma"),
        ({"name": "delta_vae", "delta": 0.0}, r"regulariser\.delta"),
    ],
)
def test_bad_settings_are_named(cfg, needle):
    with pytest.raises(ValueError, match=needle):
        build_regulariser(cfg, 4)


def test_the_text_vae_uses_the_constrained_posterior():
    from latentrepro.models.text import TextVAE

    config = {
        "arch": {"embed_dim": 8, "hidden_dim": 16, "latent_dim": 4},
        "model": {
            "prior": {"name": "gaussian"},
            "regulariser": {"name": "delta_vae", "delta": 0.5},
        },
    }
    vae = TextVAE.from_config(config, 12)
    batch = {"tokens": torch.tensor([[1, 5, 6, 2], [1, 7, 2, 0]]), "lengths": torch.tensor([4, 3])}
    _, logvar = vae.posterior(batch)
    assert (logvar <= math.log(delta_variance_bound(0.5)) + 1e-6).all()
