"""LEBM / SVEBM / LDEBM priors: normalisation against analytic partition functions."""

import math

import pytest
import torch
from torch import nn

from latentrepro.metrics.likelihood import log_standard_normal
from latentrepro.models.ebm_regulariser import EBMRegulariser, symbol_information
from latentrepro.models.priors import DiffusionEBMPrior, GaussianPrior, LatentEBMPrior, build_prior
from latentrepro.models.priors.energy import EnergyMLP
from latentrepro.sampling import DiffusionSchedule, langevin
from latentrepro.sampling.diffusion import recovery_energy


def linear_net(weight, bias):
    net = nn.Linear(len(weight), 1)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([weight]))
        net.bias.fill_(bias)
    return net


def test_log_partition_of_a_linear_tilt_matches_the_analytic_value():
    # E_{N(0,I)} exp(w.z + b) = exp(b + |w|^2 / 2)
    w, b = [0.6, -0.3], 0.25
    prior = LatentEBMPrior(2, linear_net(w, b), None, steps=1, step_size=0.1)
    torch.manual_seed(0)
    estimate = prior.log_partition(samples=200_000).item()
    assert estimate == pytest.approx(b + (0.36 + 0.09) / 2, abs=0.01)


def test_svebm_with_constant_logits_is_exactly_the_standard_normal():
    net = nn.Linear(3, 4)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.copy_(torch.tensor([0.1, -2.0, 1.5, 0.3]))
    prior = LatentEBMPrior(3, net, 4, steps=1, step_size=0.1, log_partition_samples=100)
    z = torch.randn(5, 3)
    assert torch.allclose(prior.log_prob(z), log_standard_normal(z), atol=1e-5)
    assert prior.symbol_logits(z).softmax(-1)[0].tolist() == pytest.approx(
        torch.tensor([0.1, -2.0, 1.5, 0.3]).softmax(0).tolist()
    )


def test_svebm_log_prob_integrates_to_one():
    torch.manual_seed(1)
    prior = LatentEBMPrior(
        2, EnergyMLP(2, 5, hidden=16), 5, steps=1, step_size=0.1, log_partition_samples=200_000
    )
    axis = torch.linspace(-7, 7, 281)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad(), prior.frozen_partition():
        mass = prior.log_prob(grid).exp().sum().item() * (axis[1] - axis[0]).item() ** 2
    assert mass == pytest.approx(1.0, abs=0.01)


def zero_ldebm(levels, samples=4):
    prior = DiffusionEBMPrior(
        1, EnergyMLP(1, 3, hidden=8, time_levels=len(levels)),
        DiffusionSchedule.linear(levels), symbols=3, steps=2, top_step_size=0.1,
        log_partition_samples=samples,
    )  # fmt: skip
    for p in prior.net.parameters():
        nn.init.zeros_(p)
    return prior


def test_ldebm_log_prob_of_a_flat_energy_is_unbiased_for_the_analytic_marginal():
    # f = 0: x_T ~ N(0, 1) and x_t = (x_{t+1} + sigma eps) / a, so z ~ N(0, (2 - A^2) / A^2)
    # with A = prod(a); the one-path importance estimate of p(z) is unbiased for it.
    prior = zero_ldebm([0, 200, 400])
    big_a = prior.schedule.a.prod().item()
    var = (2 - big_a**2) / big_a**2
    z = torch.tensor([[0.7]]).expand(40_000, 1)
    torch.manual_seed(0)
    estimate = prior.log_prob(z).exp().mean().item()
    assert estimate == pytest.approx(
        math.exp(-0.49 / (2 * var)) / math.sqrt(2 * math.pi * var), rel=0.02
    )


def test_ldebm_samples_of_a_flat_energy_have_the_analytic_spread():
    prior = zero_ldebm([0, 100, 200])
    torch.manual_seed(0)
    z = prior.sample(4000)
    big_a = prior.schedule.a.prod().item()
    # Top-level Langevin (2 steps from N(0,1) on N(0,1)) keeps unit variance; each recovery of
    # 2 short steps from x_{t+1} adds less than sigma^2 of variance before dividing by a.
    assert z.var().item() >= 1 / big_a**2 * 0.95
    assert z.var().item() <= (2 - big_a**2) / big_a**2 * 1.05


class LinearScore(nn.Module):
    """Two equal logits c * y - log 2, so that g(y, t) = logsumexp = c * y at every level."""

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.slope = slope

    def forward(self, y: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return (self.slope * y - math.log(2)).expand(-1, 2)


@pytest.mark.parametrize("t", [0, 2])
def test_a_noiseless_recovery_step_moves_by_half_the_score_gradient_at_every_level(t):
    # DRL parametrisation f = g / s_t^2: from y = x_{t+1} (no Gaussian pull) a Langevin step of
    # size s_t moves y by s_t^2 / 2 * grad f = grad g / 2 = c / 2, whatever the level's noise.
    schedule = DiffusionSchedule.linear([0, 100, 200, 300])
    prior = DiffusionEBMPrior(1, LinearScore(0.3), schedule, symbols=2, steps=1, top_step_size=0.1)
    x_next = torch.full((4, 1), 0.5)
    energy = recovery_energy(prior.f, schedule, t, x_next)
    y = langevin(energy, x_next, 1, schedule.step[t].item(), noise=0.0)
    assert y - x_next == pytest.approx(torch.full((4, 1), 0.15), abs=1e-5)
    # The top level tilts N(0, I) by g itself.
    assert prior.f(x_next, schedule.levels) == pytest.approx(0.3 * x_next.squeeze(-1))


@pytest.mark.parametrize(
    ("threshold", "expected"), [(None, [-0.5, -0.5, -0.5]), (1.0, [-0.5, 0, 0])]
)
def test_the_entropy_threshold_drops_the_entropy_of_wide_posterior_dimensions(threshold, expected):
    # d(-H)/d(log var) = -1/2 per dimension; with c = 1 only log var < -3 (std < 0.22) counts.
    prior = zero_ldebm([0, 100, 200])
    prior.entropy_threshold = threshold
    logvar = torch.tensor([[-4.0, -2.0, 0.0]], requires_grad=True)
    z = torch.zeros(3, 1)  # three examples of D = 1; z does not depend on logvar
    term, _ = prior.kl_surrogate(torch.zeros(3, 1), logvar.T, z)
    term.sum().backward()
    assert logvar.grad.squeeze(0).tolist() == pytest.approx(expected)


def test_symbol_information_of_hand_cases():
    one_hot = 50.0 * torch.eye(4)
    assert symbol_information(one_hot).item() == pytest.approx(math.log(4), abs=1e-4)
    assert symbol_information(torch.randn(1, 4).expand(6, 4)).item() == pytest.approx(0, abs=1e-6)
    # Two rows, deterministic, same symbol: H(y) = 0 as well.
    assert symbol_information(50.0 * torch.eye(4)[[0, 0]]).item() == pytest.approx(0, abs=1e-4)


def test_the_ebm_regulariser_refuses_a_gaussian_prior():
    reg = EBMRegulariser(lambda progress: 1.0)
    mu = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="needs an EBM prior"):
        reg(mu, mu, mu, GaussianPrior(3), 0.0)


@pytest.mark.parametrize("name", ["svebm", "ldebm"])
def test_fewer_than_two_symbols_are_rejected_naming_the_parameter(name):
    with pytest.raises(ValueError, match=r"prior\.symbols"):
        build_prior({"name": name, "symbols": 1}, 4)


def test_kl_surrogate_gradients_reach_encoder_and_energy():
    torch.manual_seed(0)
    for cfg in (
        {"name": "svebm", "symbols": 3, "energy": {"hidden": 8}, "langevin": {"steps": 3}},
        {"name": "ldebm", "symbols": 3, "energy": {"hidden": 8}, "langevin": {"steps": 2},
         "diffusion": {"levels": [0, 200, 400]}},
    ):  # fmt: skip
        prior = build_prior(cfg, 2)
        mu = torch.randn(5, 2, requires_grad=True)
        logvar = torch.zeros(5, 2, requires_grad=True)
        z = mu + torch.randn(5, 2)
        term, logs = prior.kl_surrogate(mu, logvar, z)
        term.mean().backward()
        assert term.shape == (5,) and "f_pos" in logs
        assert mu.grad.abs().sum() > 0
        assert all(p.grad is not None for p in prior.parameters() if p.requires_grad)


def test_log_partition_is_estimated_once_per_parameter_state():
    torch.manual_seed(0)
    prior = LatentEBMPrior(2, EnergyMLP(2, 1, hidden=8), None, 1, 0.1, log_partition_samples=50)
    z = torch.randn(4, 2)
    first = prior.log_prob(z)
    assert torch.equal(first, prior.log_prob(z))  # same estimate, no new draws
    optimiser = torch.optim.SGD(prior.parameters(), lr=0.5)
    prior.f(z).sum().backward()
    optimiser.step()
    assert not torch.equal(first, prior.log_prob(z))
