"""LEBM / SVEBM / LDEBM priors: normalisation against analytic partition functions."""

import math

import pytest
import torch
from torch import nn

from latentrepro.density import log_standard_normal
from latentrepro.models.priors import DiffusionEBMPrior, GaussianPrior, LatentEBMPrior, build_prior
from latentrepro.models.priors.energy import (
    DiffusionEnergyNet,
    EnergyMLP,
    PreActResidual,
    sinusoidal_table,
)
from latentrepro.models.regularisers.ebm import EBMRegulariser, symbol_information
from latentrepro.sampling import DiffusionSchedule, langevin
from latentrepro.sampling.diffusion import level_energy


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


class LinearScore(nn.Module):
    """Two equal logits c * sum(y) - log 2, so that g(y, t) = logsumexp = c * sum(y) at every
    level (c = 0: a flat energy)."""

    def __init__(self, slope: float = 0.0) -> None:
        super().__init__()
        self.slope = nn.Parameter(torch.tensor(float(slope), dtype=torch.float64))

    def forward(self, y: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return (self.slope * y.sum(-1, keepdim=True) - math.log(2)).expand(-1, 2)


def linear_ldebm(levels, slope=0.0, samples=4, steps=2):
    schedule = DiffusionSchedule.linear(levels)
    return DiffusionEBMPrior(
        1, LinearScore(slope), schedule, symbols=2, steps=steps, log_partition_samples=samples
    ).double()


def flat_marginal_variance(schedule):
    """Var(x_0) of the flat-energy model: x_{L-1} ~ N(0, sigma_L^2), and each recovery gives
    x_t = (x_{t+1} + sigma_{t+1} eps) / a_{t+1}."""
    var = schedule.sigma[-1].item() ** 2
    for t in reversed(range(schedule.top)):
        a, sigma = schedule.a[t].item(), schedule.sigma[t].item()
        var = (var + sigma**2) / a**2
    return var


def test_ldebm_log_prob_of_a_flat_energy_is_unbiased_for_the_analytic_marginal():
    prior = linear_ldebm([0, 200, 400, 600])
    var = flat_marginal_variance(prior.schedule)
    z = torch.full((40_000, 1), 0.7, dtype=torch.float64)
    torch.manual_seed(0)
    estimate = prior.log_prob(z).exp().mean().item()
    assert estimate == pytest.approx(
        math.exp(-0.49 / (2 * var)) / math.sqrt(2 * math.pi * var), rel=0.02
    )


def test_ldebm_samples_of_a_flat_energy_have_the_analytic_spread():
    prior = linear_ldebm([0, 100, 200, 999])
    torch.manual_seed(0)
    z = prior.sample(4000)
    schedule = prior.schedule
    # The top stage (2 steps from x_L ~ N(0, 1) towards N(0, sigma_L^2 ~ 1)) keeps unit
    # variance; each recovery of 2 short steps from x_{t+1} adds less than sigma^2 before
    # dividing by a, so the variance lies between no recovery noise and exact recoveries.
    lower = 1 / (schedule.a[0] * schedule.a[1]).item() ** 2
    assert lower * 0.95 <= z.var().item() <= flat_marginal_variance(schedule) * 1.05


@pytest.mark.parametrize("t", [0, 2])
def test_a_noiseless_recovery_step_moves_by_half_the_score_gradient_at_every_level(t):
    # DRL parametrisation f = g / s_t^2: from y = x_{t+1} (no Gaussian pull) a Langevin step of
    # size s_t moves y by s_t^2 / 2 * grad f = grad g / 2 = c / 2, whatever the level's noise.
    prior = linear_ldebm([0, 100, 200, 300, 400], slope=0.3)
    schedule = prior.schedule
    x_next = torch.full((4, 1), 0.5, dtype=torch.float64)
    level = torch.full((4,), t)
    energy = level_energy(prior.f, schedule, level, x_next)
    y = langevin(energy, x_next, 1, schedule.step[t].item(), noise=0.0)
    assert (y - x_next).squeeze(1).tolist() == pytest.approx([0.15] * 4, rel=1e-9)


def test_the_top_stage_is_a_tilted_gaussian_scored_by_g_over_its_step_squared():
    prior = linear_ldebm([0, 100, 200, 999], slope=0.3)
    top, s = prior.schedule.top, prior.schedule.step[-1].item()
    y = torch.tensor([[0.4]], dtype=torch.float64)
    assert prior.f(y, top).item() == pytest.approx(0.3 * 0.4 / s**2, rel=1e-9)
    # Its energy is -f + y^2 / (2 sigma_L^2), centred at 0 whatever x_L.
    x_above = torch.tensor([[3.0]], dtype=torch.float64)
    energy = level_energy(prior.f, prior.schedule, torch.tensor([top]), x_above)
    sigma = prior.schedule.sigma[-1].item()
    assert energy(y).item() == pytest.approx(-0.3 * 0.4 / s**2 + 0.16 / (2 * sigma**2), 1e-9)


def test_training_draws_a_recovery_level_per_example_and_always_the_top_pair():
    prior = linear_ldebm([0, 100, 200, 300, 400, 500, 999], slope=0.0, steps=1)
    torch.manual_seed(0)
    terms = prior.recovery_terms(torch.zeros(3000, 1, dtype=torch.float64))
    counts = torch.bincount(terms.level, minlength=6)
    assert counts[5].item() == 0  # the top is no recovery level
    assert counts[:5].min().item() > 500  # t ~ U{0..4}
    # Flat energy: every score is 0; the top's norm term is w_top ||x_{L-1}||^2 / 2 with
    # x_{L-1} = sigma-bar_5 eps for z = 0.
    w_top = (prior.schedule.sigma[0] / prior.schedule.sigma[-1]).item()
    sigma_bar = prior.schedule.sigma_bar[5].item()
    assert terms.top_norm.mean().item() == pytest.approx(w_top * sigma_bar**2 / 2, rel=0.05)


def test_the_encoder_pull_is_the_authors_weighted_data_score():
    # g = c y: d/dz of the data term is w_t c a_{t+1} a-bar_t + w_top c a-bar_{L-1}
    # - w_top a-bar_{L-1} x_{L-1}; the negative term carries no gradient to z.
    c = 0.7
    prior = linear_ldebm([0, 100, 200, 300, 400, 500, 999], slope=c, steps=2)
    schedule = prior.schedule
    z = torch.full((6, 1), 0.3, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(1)
    terms = prior.recovery_terms(z)
    (-terms.data + terms.negative).sum().backward()
    t = terms.level
    w = schedule.sigma[0] / schedule.sigma
    a_bar = schedule.marginal_scale
    torch.manual_seed(1)  # the same draws: x_{L-1} of each example
    torch.randint(0, 5, (6,))
    torch.randn(6, 1), torch.randn(6, 1), torch.randn(6, 1)
    x_top = a_bar[5] * 0.3 + schedule.sigma_bar[5] * torch.randn(6, 1, dtype=torch.float64)
    pull = w[t] * c * schedule.a[t] * a_bar[t] + w[5] * c * a_bar[5] - w[5] * a_bar[5] * x_top[:, 0]
    assert z.grad.squeeze(1).tolist() == pytest.approx((-pull).tolist(), rel=1e-9)


def test_the_ebm_gradient_is_the_weighted_contrast_of_level_and_top():
    # g = c y: d/dc of -data + negative = mean of w_t (y^- - y) + w_top (x^-_top - x_{L-1}).
    prior = linear_ldebm([0, 100, 200, 300, 999], slope=0.2, steps=3)
    z = torch.randn(50, 1, dtype=torch.float64)
    torch.manual_seed(2)
    terms = prior.recovery_terms(z)
    (-terms.data + terms.negative).mean().backward()
    expected = terms.negative_level - terms.data_level + terms.negative_top - terms.data_top
    assert prior.net.slope.grad.item() == pytest.approx((expected.mean() / 0.2).item(), rel=1e-9)


@pytest.mark.parametrize(
    ("threshold", "expected"), [(None, [-0.5, -0.5, -0.5]), (1.0, [-0.5, 0, 0])]
)
def test_the_kl_threshold_drops_the_entropy_of_wide_posterior_dimensions(threshold, expected):
    # d(-(1 + log var)/2)/d(log var) = -1/2 per dimension; with c = 1 only log var < -3
    # (std < 0.22) counts.
    prior = linear_ldebm([0, 100, 200])
    prior.kl_threshold = threshold
    logvar = torch.tensor([[-4.0, -2.0, 0.0]], dtype=torch.float64, requires_grad=True)
    z = torch.zeros(3, 1, dtype=torch.float64)  # three examples of D = 1
    term, _ = prior.kl_surrogate(torch.zeros(3, 1, dtype=torch.float64), logvar.T, z)
    term.sum().backward()
    assert logvar.grad.squeeze(0).tolist() == pytest.approx(expected)


def test_the_svebm_kl_threshold_counts_a_dimension_only_above_it():
    net = nn.Linear(2, 3)
    nn.init.zeros_(net.weight)
    prior = LatentEBMPrior(2, net, 3, steps=1, step_size=0.1, kl_threshold=1.0)
    mu = torch.tensor([[2.0, 0.5]])  # per-dimension KL 2.0 and 0.125 at unit variance
    term, _ = prior.kl_surrogate(mu, torch.zeros(1, 2), torch.zeros(1, 2))
    assert term.item() == pytest.approx(2.0, abs=1e-6)  # the flat f cancels in the contrast


@pytest.mark.parametrize("detach", [False, True])
def test_detach_positive_takes_the_energy_pull_off_the_encoder(detach):
    prior = LatentEBMPrior(2, linear_net([0.5, -0.25], 0.0), None, 1, 0.1, detach_positive=detach)
    z = torch.zeros(4, 2, requires_grad=True)
    mu = torch.zeros(4, 2)
    term, _ = prior.kl_surrogate(mu, torch.zeros(4, 2), z)
    term.sum().backward()
    if detach:
        assert z.grad is None  # nothing in the term depends on z
    else:
        assert z.grad.tolist() == [pytest.approx([-0.5, 0.25])] * 4
    assert prior.net.weight.grad is not None  # the EBM still learns from -f(z)


def test_the_level_zero_symbol_input_is_z_diffused_by_the_first_beta():
    prior = linear_ldebm([0, 100, 200])
    z = torch.full((100_000, 1), 2.0, dtype=torch.float64)
    y0 = prior.symbol_input(z)
    a_bar, sigma_bar, a1 = (prior.schedule.marginal_scale[0].item(),
                            prior.schedule.sigma_bar[0].item(), prior.schedule.a[0].item())  # fmt: skip
    assert y0.mean().item() == pytest.approx(a1 * a_bar * 2.0, rel=1e-4)
    assert y0.std().item() == pytest.approx(a1 * sigma_bar, rel=0.02)


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
        {"name": "ldebm", "symbols": 3, "energy": {"hidden": 8, "blocks": 1},
         "langevin": {"steps": 2}, "diffusion": {"levels": [0, 200, 400, 999]}},
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


def test_the_time_table_interleaves_sine_and_cosine():
    table = sinusoidal_table(6, 8)
    t, i = 3, 1  # column 2i = sin(t / 10000^(2i/d)), column 2i + 1 = cos(...)
    angle = t / 10_000 ** (2 * i / 8)
    assert table[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert table[0].tolist() == [0.0, 1.0] * 4


def test_the_ldebm_energy_blocks_are_pre_activation_residuals():
    # h + W lrelu(h): with W = 0 a block is the identity; with W = I and h < 0 it adds 0.2 h.
    block = PreActResidual(3, "leaky_relu", normalise=False)
    with torch.no_grad():
        block.body[1].weight.copy_(torch.eye(3))
        block.body[1].bias.zero_()
    h = torch.tensor([[-1.0, 2.0, 0.5]])
    assert block(h).tolist()[0] == pytest.approx([-1.2, 4.0, 1.0])
    net = DiffusionEnergyNet(2, 4, levels=6, hidden=8, blocks=2, spectral=True)
    assert net(torch.zeros(5, 2), torch.arange(5)).shape == (5, 4)
