"""Tests for latentrepro.metrics.latent against brute-force / analytic expectations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp as np_logsumexp

from latentrepro.metrics import (
    active_units,
    aggregate_posterior_log_density,
    log_normal_diag,
    mutual_information,
)


def _random_posteriors(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn((n, d), generator=g, dtype=torch.float64)
    logvar = 0.5 * torch.randn((n, d), generator=g, dtype=torch.float64) - 0.5
    return mu, logvar


# --------------------------------------------------------------------------- aggregate posterior


def _brute_force_mixture(
    z: np.ndarray, mu: np.ndarray, logvar: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(joint [M], per-dim [M, D]) log density of the uniform mixture, via scipy, in loops."""
    m, d = z.shape
    n = mu.shape[0]
    comp = np.empty((m, n, d))
    for i in range(m):
        for j in range(n):
            comp[i, j] = stats.norm(loc=mu[j], scale=np.exp(0.5 * logvar[j])).logpdf(z[i])
    joint = np_logsumexp(comp.sum(axis=2), axis=1) - math.log(n)
    per_dim = np_logsumexp(comp, axis=1) - math.log(n)
    return joint, per_dim


def test_aggregate_density_matches_brute_force_mixture() -> None:
    for seed, (m, n, d) in enumerate([(6, 5, 3), (1, 9, 2), (11, 2, 4)]):
        mu, logvar = _random_posteriors(n, d, seed)
        z = 1.5 * torch.randn((m, d), generator=torch.Generator().manual_seed(100 + seed)).double()
        joint_expected, per_dim_expected = _brute_force_mixture(
            z.numpy(), mu.numpy(), logvar.numpy()
        )
        joint = aggregate_posterior_log_density(z, mu, logvar)
        per_dim = aggregate_posterior_log_density(z, mu, logvar, per_dim=True)
        assert joint.shape == (m,)
        assert per_dim.shape == (m, d)
        np.testing.assert_allclose(joint.numpy(), joint_expected, rtol=1e-10)
        np.testing.assert_allclose(per_dim.numpy(), per_dim_expected, rtol=1e-10)


def test_aggregate_density_single_component_is_the_gaussian() -> None:
    mu, logvar = _random_posteriors(1, 4, seed=3)
    z = torch.randn((8, 4), generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    joint = aggregate_posterior_log_density(z, mu, logvar)
    np.testing.assert_allclose(joint.numpy(), log_normal_diag(z, mu, logvar).numpy(), rtol=1e-12)
    scipy_expected = stats.multivariate_normal(
        mean=mu[0].numpy(), cov=np.diag(np.exp(logvar[0].numpy()))
    ).logpdf(z.numpy())
    np.testing.assert_allclose(joint.numpy(), scipy_expected, rtol=1e-12)
    # with N = 1 the mixture factorises, so the per-dimension marginals sum to the joint
    per_dim = aggregate_posterior_log_density(z, mu, logvar, per_dim=True)
    np.testing.assert_allclose(per_dim.sum(dim=1).numpy(), joint.numpy(), rtol=1e-12)


def test_aggregate_density_of_identical_components_is_one_component() -> None:
    mu, logvar = _random_posteriors(1, 3, seed=5)
    z = torch.randn((5, 3), generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    many = aggregate_posterior_log_density(z, mu.expand(7, 3), logvar.expand(7, 3))
    one = aggregate_posterior_log_density(z, mu, logvar)
    np.testing.assert_allclose(many.numpy(), one.numpy(), rtol=1e-12)


@pytest.mark.parametrize("per_dim", [False, True])
def test_aggregate_density_chunking_does_not_change_result(per_dim: bool) -> None:
    mu, logvar = _random_posteriors(13, 3, seed=7)
    z = torch.randn((29, 3), generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    full = aggregate_posterior_log_density(z, mu, logvar, per_dim=per_dim, chunk_size=10_000)
    for chunk in (1, 4, 29):
        chunked = aggregate_posterior_log_density(z, mu, logvar, per_dim=per_dim, chunk_size=chunk)
        np.testing.assert_allclose(chunked.numpy(), full.numpy(), rtol=1e-13)


def test_aggregate_density_empty_query() -> None:
    mu, logvar = _random_posteriors(3, 2, seed=9)
    z = torch.zeros((0, 2), dtype=torch.float64)
    assert aggregate_posterior_log_density(z, mu, logvar).shape == (0,)
    assert aggregate_posterior_log_density(z, mu, logvar, per_dim=True).shape == (0, 2)


def test_aggregate_density_validation() -> None:
    mu, logvar = _random_posteriors(3, 2, seed=10)
    z = torch.zeros((4, 2), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(3, 5\)"):
        aggregate_posterior_log_density(z, mu, torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        aggregate_posterior_log_density(z, mu[0], logvar[0])
    with pytest.raises(ValueError, match=r"z \(4, 3\)"):
        aggregate_posterior_log_density(torch.zeros(4, 3), mu, logvar)
    with pytest.raises(ValueError, match="chunk_size"):
        aggregate_posterior_log_density(z, mu, logvar, chunk_size=0)
    with pytest.raises(ValueError, match=r"\(0, 2\)"):
        aggregate_posterior_log_density(z, mu[:0], logvar[:0])


# --------------------------------------------------------------------------- mutual information


def test_mi_identical_posteriors_is_zero_up_to_mc_noise() -> None:
    # With identical rows log q(z_i|x_j) is the same for every j, so log qbar(z_i) =
    # log q(z_i|x_i) exactly and the estimate reduces to (mean_i ||eps_i||^2 - D) / 2: zero
    # in expectation, with standard deviation sqrt(D / (2N)) ≈ 0.027 for N=2000, D=3.
    n, d = 2000, 3
    mu = torch.tensor([[0.7, -1.0, 2.0]], dtype=torch.float64).expand(n, d)
    logvar = torch.tensor([[0.0, -2.0, 1.0]], dtype=torch.float64).expand(n, d)
    values = [
        mutual_information(mu, logvar, generator=torch.Generator().manual_seed(s)) for s in range(3)
    ]
    assert all(abs(v) < 0.15 for v in values), values
    assert abs(float(np.mean(values))) < 0.1, values


def test_mi_well_separated_posteriors_approaches_log_n() -> None:
    # 256 posteriors 50 apart with sd 0.1: qbar(z_i) ≈ q(z_i|x_i) / N, so MI ≈ log N
    # (MC noise sd ≈ sqrt(D / (2N)) ≈ 0.06).
    n = 256
    mu = torch.zeros((n, 2), dtype=torch.float64)
    mu[:, 0] = 50.0 * torch.arange(n, dtype=torch.float64)
    logvar = torch.full((n, 2), math.log(0.01), dtype=torch.float64)
    mi = mutual_information(mu, logvar, generator=torch.Generator().manual_seed(11))
    assert mi == pytest.approx(math.log(n), abs=0.3)


def test_mi_matches_quadrature_for_1d_gaussian_mixture() -> None:
    # Five distinct 1-D posteriors, each repeated R times (x uniform over the rows). Then
    # I(x; z) = h(qbar) - mean_j h(q_j), with h(N(m, s^2)) = 1/2 log(2 pi e s^2) and h(qbar)
    # the entropy of the 5-component mixture, integrated numerically on a fine grid.
    means = np.array([-2.0, -0.5, 0.0, 1.5, 3.0])
    variances = np.array([0.5, 1.0, 0.3, 0.8, 0.2])
    grid = np.linspace(-12.0, 14.0, 200_001)
    mixture = np.mean(
        [stats.norm(m, math.sqrt(v)).pdf(grid) for m, v in zip(means, variances, strict=True)],
        axis=0,
    )
    integrand = np.where(mixture > 0, -mixture * np.log(np.where(mixture > 0, mixture, 1.0)), 0)
    h_mixture = float(np.sum((integrand[1:] + integrand[:-1]) * np.diff(grid)) / 2)
    h_components = float(np.mean(0.5 * np.log(2 * math.pi * math.e * variances)))
    true_mi = h_mixture - h_components
    assert 0.3 < true_mi < math.log(5)  # sanity: an intermediate amount of information

    reps = 400
    mu = torch.from_numpy(np.repeat(means, reps))[:, None]
    logvar = torch.from_numpy(np.log(np.repeat(variances, reps)))[:, None]
    values = [
        mutual_information(mu, logvar, generator=torch.Generator().manual_seed(s)) for s in range(3)
    ]
    assert float(np.mean(values)) == pytest.approx(true_mi, abs=0.04), (values, true_mi)


def test_mi_within_bounds_and_grows_with_separation() -> None:
    n = 200
    base = torch.randn((n, 2), generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    logvar = torch.zeros_like(base)
    for seed in range(3):
        values = [
            mutual_information(scale * base, logvar, generator=torch.Generator().manual_seed(seed))
            for scale in (0.0, 1.0, 3.0, 30.0, 300.0)
        ]
        assert all(-0.3 < v < math.log(n) + 0.3 for v in values), values
        # same noise at every scale, so the ordering is not blurred by independent draws
        assert all(a < b for a, b in itertools.pairwise(values)), values


def test_mi_deterministic_and_chunk_invariant() -> None:
    mu, logvar = _random_posteriors(37, 4, seed=13)
    ref = mutual_information(mu, logvar, generator=torch.Generator().manual_seed(14))
    again = mutual_information(mu, logvar, generator=torch.Generator().manual_seed(14))
    assert ref == again
    for chunk in (1, 5, 36, 37, 1000):
        value = mutual_information(
            mu, logvar, generator=torch.Generator().manual_seed(14), chunk_size=chunk
        )
        assert value == pytest.approx(ref, abs=1e-12)
    other = mutual_information(mu, logvar, generator=torch.Generator().manual_seed(15))
    assert other != ref
    assert isinstance(ref, float)


def test_mi_does_not_track_gradients_and_accepts_float32() -> None:
    mu, logvar = _random_posteriors(16, 2, seed=16)
    mu32 = mu.float().requires_grad_()
    value = mutual_information(mu32, logvar.float(), generator=torch.Generator().manual_seed(0))
    assert isinstance(value, float)
    assert math.isfinite(value)
    assert mu32.grad is None


def test_mi_validation() -> None:
    mu, logvar = _random_posteriors(4, 3, seed=17)
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        mutual_information(mu, logvar[:, :2])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        mutual_information(mu[0], logvar[0])
    with pytest.raises(ValueError, match="chunk_size"):
        mutual_information(mu, logvar, chunk_size=0)


# --------------------------------------------------------------------------- active units


def test_active_units_hand_built() -> None:
    # Column [-a, 0, a] has mean 0 and unbiased variance (a^2 + a^2) / (3 - 1) = a^2.
    a = torch.tensor([0.0, 0.095, 0.105, 1.0, 0.11], dtype=torch.float64)
    mu = torch.stack([-a, torch.zeros_like(a), a])
    count, variances = active_units(mu)
    expected = np.array([0.0, 0.009025, 0.011025, 1.0, 0.0121])
    np.testing.assert_allclose(variances.numpy(), expected, rtol=1e-12, atol=1e-15)
    # active: 0.011025, 1.0, 0.0121. The last one is active only with the unbiased (N-1)
    # variance: the population variance would be 2 * 0.0121 / 3 ≈ 0.0081 < 0.01.
    assert count == 3
    assert isinstance(count, int)


def test_active_units_threshold_is_inclusive_and_configurable() -> None:
    mu = torch.tensor([[-0.5, -2.0], [0.0, 0.0], [0.5, 2.0]], dtype=torch.float64)
    # variances exactly 0.25 and 4.0
    assert active_units(mu, threshold=0.25)[0] == 2
    assert active_units(mu, threshold=0.2500001)[0] == 1
    assert active_units(mu, threshold=5.0)[0] == 0


def test_active_units_two_rows_and_constant_dims() -> None:
    mu = torch.tensor([[1.0, 3.0, 0.0], [1.0, 3.2, 1.0]], dtype=torch.float64)
    count, variances = active_units(mu)
    # N=2: variance = (x1 - x2)^2 / 2
    np.testing.assert_allclose(variances.numpy(), [0.0, 0.02, 0.5], rtol=1e-10, atol=1e-15)
    assert count == 2


def test_active_units_validation() -> None:
    with pytest.raises(ValueError, match=r"N >= 2.*\(1, 4\)"):
        active_units(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        active_units(torch.zeros(4))
