"""Hole measures: KL(p || qbar) with prior samples and continuous units."""

import math

import pytest
import torch

from latentrepro.evaluation.text_vae import hole_measures
from latentrepro.metrics import continuous_units, prior_to_aggregate_kl


def test_posteriors_equal_to_the_prior_leave_no_hole():
    z = torch.randn(500, 3)
    kl, per_dim = prior_to_aggregate_kl(z, torch.zeros(7, 3), torch.zeros(7, 3))
    assert kl == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(per_dim, torch.zeros(3), atol=1e-6, rtol=0)


def test_single_gaussian_matches_the_analytic_kl():
    # KL(N(0,1) || N(m, s^2)) = log s + (1 + m^2) / (2 s^2) - 1/2 per dimension.
    m, s = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 0.5, 2.0])
    analytic = torch.log(s) + (1 + m**2) / (2 * s**2) - 0.5
    z = torch.randn(200_000, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    kl, per_dim = prior_to_aggregate_kl(
        z, m.double().unsqueeze(0), (2 * torch.log(s)).double().unsqueeze(0), chunk_size=50_000
    )
    torch.testing.assert_close(per_dim, analytic.double(), atol=0.03, rtol=0)
    assert kl == pytest.approx(analytic.sum().item(), abs=0.05)


def test_continuous_units_count_dimensions_below_the_threshold():
    assert continuous_units(torch.tensor([0.0, 0.029, 0.03, 2.0, -0.01]), 0.03) == 3
    with pytest.raises(ValueError, match="threshold"):
        continuous_units(torch.zeros(2), 0.0)


def test_hole_measures_record_their_sample_count():
    mu = torch.cat([torch.zeros(50, 2), torch.full((50, 2), 3.0)])
    mu[:, 1] = torch.randn(100, generator=torch.Generator().manual_seed(1))
    logvar = torch.zeros(100, 2)
    logvar[:, 0] = math.log(0.01)  # dim 0: two spikes at 0 and 3 -> a hole; dim 1 ~ N(0, 2)
    out = hole_measures(mu, logvar, {"hole_samples": 400, "cu_threshold": 0.5}, seed=0)
    assert out["hole_samples"] == 400
    assert out["cu"] == 1
    assert out["kl_p_qbar"] > 0.5
