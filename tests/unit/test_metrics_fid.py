"""FID: the matrix square root, the Frechet distance against analytic Gaussian cases, and the
running statistics (reset between evaluations, singular covariances, bad input)."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from latentrepro.metrics.fid import (
    FeatureStatistics,
    SingularCovarianceWarning,
    fid_from_fits,
    frechet_distance,
    sqrtm_psd,
)


def random_spd(dim, seed, jitter=0.1):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim + 3, generator=g, dtype=torch.float64)
    return a @ a.T / dim + jitter * torch.eye(dim, dtype=torch.float64)


def test_sqrtm_of_a_diagonal_matrix_by_hand():
    root = sqrtm_psd(torch.diag(torch.tensor([4.0, 9.0, 0.0])))
    assert torch.allclose(root, torch.diag(torch.tensor([2.0, 3.0, 0.0], dtype=torch.float64)))


def test_sqrtm_matches_scipy_and_squares_back():
    a = random_spd(6, 0)
    root = sqrtm_psd(a)
    assert root.dtype == torch.float64
    assert np.allclose(root.numpy(), scipy.linalg.sqrtm(a.numpy()).real, atol=1e-10)
    assert torch.allclose(root @ root, a, atol=1e-10)


def test_sqrtm_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match="matrix: expected a square matrix"):
        sqrtm_psd(torch.ones(2, 3))


def test_fid_of_diagonal_gaussians_is_the_closed_form():
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, -1.0, 2.5])
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    expected = ((mu1 - mu2) ** 2).sum() + (a + b - 2 * (a * b).sqrt()).sum()
    got = frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b))
    assert got == pytest.approx(float(expected), rel=1e-12)


def test_fid_of_commuting_covariances_scales_like_the_eigenvalues():
    # S2 = 4 S1 commutes with S1: Tr(S1 + 4 S1 - 2 * 2 S1) = Tr(S1).
    s1 = random_spd(5, 1)
    assert frechet_distance(torch.zeros(5), s1, torch.zeros(5), 4 * s1) == pytest.approx(
        float(torch.trace(s1)), rel=1e-10
    )


def test_fid_of_general_covariances_matches_the_scipy_formula():
    s1, s2 = random_spd(8, 2), random_spd(8, 3)
    mu1, mu2 = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    cross = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected = float(((mu1 - mu2) ** 2).sum()) + np.trace(s1.numpy() + s2.numpy() - 2 * cross)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_fid_rejects_nan_statistics_and_mismatched_shapes():
    s = torch.eye(2)
    with pytest.raises(ValueError, match="sigma2: feature statistics contain NaN"):
        frechet_distance(torch.zeros(2), s, torch.zeros(2), torch.full((2, 2), float("nan")))
    with pytest.raises(ValueError, match="differ in shape"):
        frechet_distance(torch.zeros(2), s, torch.zeros(3), torch.eye(3))


def test_running_statistics_equal_numpy_and_do_not_depend_on_batching():
    x = torch.randn(500, 4, generator=torch.Generator().manual_seed(0)) * 3 + 1
    stats = FeatureStatistics(4)
    for chunk in x.split(77):
        stats.update(chunk)
    fit = stats.compute()
    assert fit.count == 500
    assert np.allclose(fit.mean.numpy(), x.double().mean(0).numpy())
    assert np.allclose(fit.cov.numpy(), np.cov(x.double().numpy(), rowvar=False))


def test_reset_forgets_earlier_evaluations():
    """The authors' script let generated statistics pile up across rounds; reset must not."""
    g = torch.Generator().manual_seed(1)
    first, second = torch.randn(300, 3, generator=g) + 5, torch.randn(300, 3, generator=g)
    stats = FeatureStatistics(3)
    stats.update(first)
    stats.compute()
    stats.reset()
    stats.update(second)
    fresh = FeatureStatistics(3)
    fresh.update(second)
    assert torch.allclose(stats.compute().mean, fresh.compute().mean)
    assert torch.allclose(stats.compute().cov, fresh.compute().cov)


def test_fid_of_sampled_gaussians_approaches_the_mean_shift():
    g = torch.Generator().manual_seed(2)
    shift = torch.tensor([2.0, 0.0, -1.0])
    a, b = FeatureStatistics(3), FeatureStatistics(3)
    a.update(torch.randn(20000, 3, generator=g))
    b.update(torch.randn(20000, 3, generator=g) + shift)
    assert fid_from_fits(a.compute(), b.compute()) == pytest.approx(5.0, abs=0.1)


def test_fewer_samples_than_dimensions_warns_and_stays_finite():
    stats = FeatureStatistics(16)
    stats.update(torch.randn(10, 16))
    with pytest.warns(SingularCovarianceWarning, match="10 samples of 16-d features"):
        fit = stats.compute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularCovarianceWarning)
        value = fid_from_fits(fit, fit)
    assert np.isfinite(value) and value == pytest.approx(0.0, abs=1e-8)


def test_bad_features_are_refused():
    stats = FeatureStatistics(2)
    with pytest.raises(ValueError, match=r"features: expected shape \[B, 2\]"):
        stats.update(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="features: NaN or infinite"):
        stats.update(torch.tensor([[0.0, float("nan")]]))
    stats.update(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="at least 2 samples, got 1"):
        stats.compute()
