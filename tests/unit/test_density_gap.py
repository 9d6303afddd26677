"""DG-VAE's density-gap term: |b| = 1 is the Monte Carlo KL, chunks aggregate in log space."""

import math

import pytest
import torch

from latentrepro.metrics import (
    aggregate_posterior_log_density,
    gaussian_kl,
    log_normal_diag,
    log_standard_normal,
    mc_kl,
)
from latentrepro.models.priors import GaussianPrior
from latentrepro.models.regularisers import ConstantSchedule, build_regulariser
from latentrepro.models.regularisers.density_gap import DensityGapRegulariser, density_gap


def posteriors(b=12, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g), 0.5 * torch.randn(b, d, generator=g)


def test_chunks_of_one_give_the_monte_carlo_kl_on_the_same_samples():
    mu, logvar = posteriors()
    eps = torch.randn(7, *mu.shape, generator=torch.Generator().manual_seed(1))
    z = mu + (0.5 * logvar).exp() * eps
    expected = mc_kl(log_normal_diag(z, mu, logvar), log_standard_normal(z))
    torch.testing.assert_close(density_gap(mu, logvar, eps, chunk=1), expected)


def test_chunks_of_one_converge_to_the_analytic_kl():
    mu, logvar = posteriors(b=3, d=2)
    eps = torch.randn(200_000, 3, 2, generator=torch.Generator().manual_seed(2))
    got = density_gap(mu.double(), logvar.double(), eps.double(), chunk=1)
    torch.testing.assert_close(got, gaussian_kl(mu, logvar).double(), atol=0.02, rtol=0)


def reference_gap(mu, logvar, eps, chunk):
    """Loop over chunks and samples with the metrics' per-dimension mixture density."""
    out = torch.empty(mu.size(0))
    for start in range(0, mu.size(0), chunk):
        rows = slice(start, start + chunk)
        for i in range(start, min(start + chunk, mu.size(0))):
            z = mu[i] + (0.5 * logvar[i]).exp() * eps[:, i]  # [M, D]
            log_q = aggregate_posterior_log_density(z, mu[rows], logvar[rows], per_dim=True)
            log_p = -0.5 * (math.log(2 * math.pi) + z.pow(2))
            out[i] = (log_q - log_p).sum(-1).mean()
    return out


@pytest.mark.parametrize("chunk", [2, 4, 5, 12])
def test_chunked_gap_matches_a_loop_over_chunks(chunk):
    mu, logvar = posteriors()
    eps = torch.randn(6, *mu.shape, generator=torch.Generator().manual_seed(3))
    got = density_gap(mu, logvar, eps, chunk)
    torch.testing.assert_close(got, reference_gap(mu, logvar, eps, chunk), atol=1e-5, rtol=1e-5)


def test_posteriors_equal_to_the_prior_have_no_gap():
    mu, logvar = torch.zeros(8, 3), torch.zeros(8, 3)
    eps = torch.randn(4, 8, 3)
    torch.testing.assert_close(density_gap(mu, logvar, eps, 4), torch.zeros(8))


def test_far_apart_sharp_posteriors_stay_finite():
    """Raw mixture densities underflow here (exp(-5e7)); log-sum-exp does not."""
    mu = torch.tensor([[-1e3], [1e3]])
    logvar = torch.full((2, 1), -8.0)
    eps = torch.randn(5, 2, 1)
    gap = density_gap(mu, logvar, eps, chunk=2)
    # Each sample sits on its own component: log qbar = log q(z|x) - log 2.
    z = mu + (0.5 * logvar).exp() * eps
    expected = log_normal_diag(z.unsqueeze(-1), mu.unsqueeze(-1), logvar.unsqueeze(-1))
    expected = (expected.squeeze(-1) - math.log(2) - log_standard_normal(z)).mean(0)
    assert torch.isfinite(gap).all()
    torch.testing.assert_close(gap, expected, rtol=1e-5, atol=1e-2)


def test_the_batch_mean_is_the_mean_over_chunks_and_gradients_flow():
    mu, logvar = posteriors(b=8, d=3)
    mu.requires_grad_(True)
    eps = torch.randn(3, 8, 3)
    per_example = density_gap(mu, logvar, eps, chunk=4)
    chunks = [reference_gap(mu[i : i + 4], logvar[i : i + 4], eps[:, i : i + 4], 4) for i in (0, 4)]
    assert per_example.mean().item() == pytest.approx(torch.cat(chunks).mean().item(), rel=1e-5)
    per_example.mean().backward()
    assert torch.isfinite(mu.grad).all() and mu.grad.abs().sum() > 0


def test_a_short_last_batch_gets_a_shorter_chunk():
    mu, logvar = posteriors(b=10, d=2)
    eps = torch.randn(4, 10, 2)
    got = density_gap(mu, logvar, eps, chunk=4)
    expected = torch.cat(
        [
            reference_gap(mu[:8], logvar[:8], eps[:, :8], 4),
            reference_gap(mu[8:], logvar[8:], eps[:, 8:], 2),
        ]
    )
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_regulariser_weights_the_gap_and_logs_it():
    reg = DensityGapRegulariser(ConstantSchedule(0.5), batch_chunk=4, samples=3)
    mu, logvar = posteriors(b=8, d=3)
    torch.manual_seed(5)
    term, logs = reg(mu, logvar, mu, GaussianPrior(3), progress=0.3)
    torch.manual_seed(5)
    eps = torch.randn(3, 8, 3)
    torch.testing.assert_close(term, 0.5 * density_gap(mu, logvar, eps, 4))
    assert logs["kl_weight"] == 0.5
    assert logs["dg"] == pytest.approx(density_gap(mu, logvar, eps, 4).mean().item(), rel=1e-5)


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        ({"batch_chunk": 0, "samples": 4}, r"regulariser\.batch_chunk: must be >= 1"),
        ({"batch_chunk": 4, "samples": 0}, r"regulariser\.samples: need M >= 1"),
    ],
)
def test_bad_settings_are_named(cfg, needle):
    with pytest.raises(ValueError, match=needle):
        build_regulariser({"name": "density_gap", **cfg}, 3)
