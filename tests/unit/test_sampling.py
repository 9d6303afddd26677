"""Langevin dynamics and the diffusion schedule against analytic Gaussian results."""

import itertools
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
    # 6 pairs: 5 recoveries and the top (index 5, the pair 500 -> 999).
    assert (schedule.pairs, schedule.top) == (6, 5)
    assert schedule.is_recovery.tolist() == [1, 1, 1, 1, 1, 0]
    assert schedule.sigma_bar.tolist() == pytest.approx([math.sqrt(1 - a) for a in alpha_bar], 1e-9)
    # Level 0 is z diffused by the first beta: a-bar_0 = sqrt(1 - 1e-4), sigma-bar_0 = 0.01.
    assert schedule.marginal_scale.tolist() == pytest.approx(
        [math.sqrt(a) for a in alpha_bar], 1e-9
    )
    assert schedule.sigma_bar[0].item() == pytest.approx(0.01, rel=1e-6)
    # The authors' a_s: products of sqrt(1 - beta) over each pair's steps.
    expected_a = [
        math.prod(math.sqrt(1 - b) for b in betas[i + 1 : j + 1])
        for i, j in itertools.pairwise(PAPER_LEVELS)
    ]
    assert schedule.a.tolist() == pytest.approx(expected_a, rel=1e-9)
    assert schedule.a[-1].item() == pytest.approx(0.0228, abs=1e-4)
    assert schedule.scale.tolist() == pytest.approx([*expected_a[:-1], 1.0], rel=1e-9)
    assert (schedule.a**2 + schedule.sigma**2).tolist() == pytest.approx([1.0] * 6, rel=1e-12)
    # s_t^2 = (sigma_bar_t / sigma_bar_0) * 2e-3 * sigma_{t+1}^2, the top's too.
    for t in (3, 5):
        sigma_next_sq = 1 - alpha_bar[t + 1] / alpha_bar[t]
        ratio = math.sqrt(1 - alpha_bar[t]) / math.sqrt(1 - alpha_bar[0])
        assert schedule.step[t].item() ** 2 == pytest.approx(ratio * 2e-3 * sigma_next_sq, 1e-9)


@pytest.mark.parametrize("levels", [[0, 100, 100, 200], [0, 300, 200], [5], [0, 999]])
def test_a_schedule_that_is_not_increasing_or_has_no_recovery_is_rejected(levels):
    with pytest.raises(ValueError, match=r"diffusion\.levels"):
        DiffusionSchedule.linear(levels)


def _noiseless(monkeypatch):
    import latentrepro.sampling.diffusion as diffusion

    noisy = diffusion.langevin
    monkeypatch.setattr(
        diffusion,
        "langevin",
        lambda energy, z, steps, step, generator=None: noisy(energy, z, steps, step, 0.0),
    )


def test_a_flat_energy_sampler_shrinks_at_the_top_and_undoes_each_recovery(monkeypatch):
    # f = 0, no noise. The top stage descends ||y||^2 / (2 sigma_L^2) from x_L, so each step
    # multiplies y by 1 - s^2 / (2 sigma_L^2), and x_{L-1} = y (no division by a_L). Every
    # recovery descends towards x_{t+1} from x_{t+1}, so stays there: x_t = x_{t+1} / a_{t+1}.
    _noiseless(monkeypatch)
    schedule = DiffusionSchedule.linear([0, 100, 300, 999])
    x_top = torch.tensor([[0.5, -1.0]], dtype=torch.float64)

    def flat(y, t):
        return torch.zeros(y.shape[:-1], dtype=y.dtype)

    x0 = sample_levels(flat, schedule, x_top, steps=5)
    s, sigma = schedule.step[-1].item(), schedule.sigma[-1].item()
    shrink = (1 - s**2 / (2 * sigma**2)) ** 5
    expected = x_top * shrink / (schedule.a[0] * schedule.a[1])
    assert x0.tolist()[0] == pytest.approx(expected.tolist()[0], rel=1e-9)


def test_every_stage_runs_its_own_number_of_langevin_steps():
    schedule = DiffusionSchedule.linear(PAPER_LEVELS)
    calls = []

    def flat(y, t):
        calls.append(t[0].item())
        return torch.zeros(y.shape[:-1], dtype=y.dtype)

    sample_levels(flat, schedule, torch.zeros(3, 2, dtype=torch.float64), steps=50)
    assert len(calls) == 300  # 6 stages x 50 (the paper's sampler)
    assert calls[0] == 5 and calls[-1] == 0 and calls[50] == 4
