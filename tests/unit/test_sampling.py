"""Langevin dynamics and the diffusion schedule against analytic Gaussian results."""

import math

import pytest
import torch

from latentrepro.sampling import DiffusionSchedule, NonFiniteSampleError, langevin, sample_levels
from latentrepro.sampling.diffusion import PAPER_LEVELS


def test_langevin_on_a_gaussian_energy_reaches_its_mean_and_variance():
    # E(z) = (z - m)^2 / (2 v): unadjusted Langevin with step s has the stationary variance
    # v / (1 - s^2 / (4 v)) (the exact AR(1) fixed point), mean m.
    mean, var, step = 1.0, 0.25, 0.1
    torch.manual_seed(0)
    z = langevin(lambda z: (z - mean).pow(2).sum(-1) / (2 * var), torch.zeros(20_000, 2), 400, step)
    assert z.mean().item() == pytest.approx(mean, abs=0.01)
    assert z.var(0).mean().item() == pytest.approx(var / (1 - step**2 / (4 * var)), rel=0.03)


def test_per_chain_step_sizes_and_zero_noise_give_gradient_descent():
    z0 = torch.tensor([[4.0], [4.0]])
    steps = torch.tensor([[0.1], [1.0]])
    z = langevin(lambda z: 0.5 * z.pow(2).sum(-1), z0, 1, steps, noise=0.0)
    # z - s^2/2 * z
    assert z.squeeze(1).tolist() == pytest.approx([4.0 * (1 - 0.005), 4.0 * 0.5])


def test_langevin_stops_with_a_clear_error_on_non_finite_samples():
    with pytest.raises(NonFiniteSampleError, match=r"non-finite at step \d+ of 50"):
        langevin(lambda z: -z.pow(4).sum(-1), torch.full((3, 2), 2.0), 50, 1.0)


@pytest.mark.parametrize("bad", [0.0, -0.5])
def test_a_non_positive_step_size_is_rejected_naming_it(bad):
    with pytest.raises(ValueError, match=r"langevin\.step_size"):
        langevin(lambda z: z.pow(2).sum(-1), torch.zeros(2, 2), 5, bad)


def test_paper_schedule_matches_a_hand_computed_linear_beta_schedule():
    schedule = DiffusionSchedule.linear(PAPER_LEVELS)
    betas = [1e-4 + (0.02 - 1e-4) * i / 999 for i in range(1000)]
    alpha_bar = [math.prod(1 - b for b in betas[: i + 1]) for i in PAPER_LEVELS]
    assert schedule.levels == 6
    assert schedule.sigma_bar.tolist() == pytest.approx([math.sqrt(1 - a) for a in alpha_bar], 1e-5)
    expected_a = [math.sqrt(alpha_bar[i + 1] / alpha_bar[i]) for i in range(6)]
    assert schedule.a.tolist() == pytest.approx(expected_a, rel=1e-5)
    assert (schedule.a**2 + schedule.sigma**2).tolist() == pytest.approx([1.0] * 6, rel=1e-6)
    # s_t^2 = (sigma_bar_t / sigma_bar_0) * 2e-3 * sigma_{t+1}^2
    t = 3
    sigma_next_sq = 1 - alpha_bar[t + 1] / alpha_bar[t]
    ratio = math.sqrt(1 - alpha_bar[t]) / math.sqrt(1 - alpha_bar[0])
    assert schedule.step[t].item() ** 2 == pytest.approx(ratio * 2e-3 * sigma_next_sq, rel=1e-4)


@pytest.mark.parametrize("levels", [[0, 100, 100, 200], [0, 300, 200], [5]])
def test_a_schedule_that_is_not_increasing_is_rejected_naming_the_parameter(levels):
    with pytest.raises(ValueError, match=r"diffusion\.levels"):
        DiffusionSchedule.linear(levels)


def test_forward_diffusion_has_the_analytic_marginal_variance():
    schedule = DiffusionSchedule.linear([0, 200, 400])
    torch.manual_seed(0)
    path = schedule.diffuse(2.0 * torch.randn(50_000, 1))
    cumulative = 1.0
    for t in range(1, 3):
        cumulative *= schedule.a[t - 1].item() ** 2
        expected = cumulative * 4.0 + 1 - cumulative
        assert path[t].var().item() == pytest.approx(expected, rel=0.03)


def test_level_sampler_with_a_flat_energy_undoes_the_scaling_of_each_level(monkeypatch):
    # f = 0, no noise: every recovery's Langevin is gradient descent towards x_{t+1} started at
    # x_{t+1}, so it stays there and x_t = x_{t+1} / a_{t+1}; the result is x_T / prod(a).
    schedule = DiffusionSchedule.linear([0, 100, 300])
    x_top = torch.tensor([[0.5, -1.0]])

    def flat(y, t):
        return torch.zeros(y.shape[:-1])

    import latentrepro.sampling.diffusion as diffusion

    noiseless = diffusion.langevin
    monkeypatch.setattr(
        diffusion,
        "langevin",
        lambda energy, z, steps, step, generator=None: noiseless(energy, z, steps, step, 0.0),
    )
    x0 = sample_levels(flat, schedule, x_top, steps=5)
    assert x0.tolist()[0] == pytest.approx((x_top / schedule.a.prod()).tolist()[0], rel=1e-5)
