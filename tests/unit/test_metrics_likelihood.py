"""Tests for latentrepro.density and latentrepro.metrics.likelihood against independent (scipy / hand-derived) values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp as np_logsumexp

from latentrepro.metrics import (
    combine_iw_chunks,
    gaussian_kl,
    iw_log_likelihood,
    log_normal_diag,
    log_standard_normal,
    logmeanexp,
    mc_kl,
    perplexity,
)

# --------------------------------------------------------------------------- log densities


def test_log_normal_diag_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    d = 5
    mu = rng.normal(size=d)
    logvar = rng.normal(scale=0.7, size=d)
    x = rng.normal(size=(7, d))
    expected = stats.multivariate_normal(mean=mu, cov=np.diag(np.exp(logvar))).logpdf(x)
    got = log_normal_diag(torch.from_numpy(x), torch.from_numpy(mu), torch.from_numpy(logvar))
    assert got.shape == (7,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_log_normal_diag_broadcasts_samples_against_batch() -> None:
    rng = np.random.default_rng(1)
    k, b, d = 4, 3, 2
    mu = rng.normal(size=(b, d))
    logvar = rng.normal(scale=0.5, size=(b, d))
    x = rng.normal(size=(k, b, d))
    got = log_normal_diag(torch.from_numpy(x), torch.from_numpy(mu), torch.from_numpy(logvar))
    assert got.shape == (k, b)
    for j in range(b):
        dist = stats.multivariate_normal(mean=mu[j], cov=np.diag(np.exp(logvar[j])))
        np.testing.assert_allclose(got[:, j].numpy(), dist.logpdf(x[:, j]), rtol=1e-12)


def test_log_normal_diag_hand_value_1d() -> None:
    # N(x=1; mu=0, var=e^0=1) = exp(-1/2)/sqrt(2 pi)
    got = log_normal_diag(torch.tensor([[1.0]]), torch.tensor([0.0]), torch.tensor([0.0]))
    assert got.item() == pytest.approx(-0.5 - 0.5 * math.log(2 * math.pi), abs=1e-6)


def test_log_standard_normal_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 3))
    expected = stats.multivariate_normal(mean=np.zeros(3), cov=np.eye(3)).logpdf(x)
    got = log_standard_normal(torch.from_numpy(x))
    assert got.shape == (2, 6)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


# --------------------------------------------------------------------------- KL


def test_gaussian_kl_zero_at_standard_normal() -> None:
    kl = gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3))
    assert kl.shape == (4,)
    assert torch.equal(kl, torch.zeros(4))


def test_gaussian_kl_hand_computed_1d() -> None:
    # KL(N(1, 2) || N(0, 1)) = 1/2 (sigma^2 + m^2 - 1 - log sigma^2) = 1/2 (2 + 1 - 1 - log 2)
    expected = 1.0 - 0.5 * math.log(2.0)
    kl = gaussian_kl(
        torch.tensor([[1.0]], dtype=torch.float64),
        torch.tensor([[math.log(2.0)]], dtype=torch.float64),
    )
    assert kl.item() == pytest.approx(expected, rel=1e-12)


def test_gaussian_kl_sums_over_dims_of_independent_1d_terms() -> None:
    m = np.array([0.3, -1.2, 2.0])
    s2 = np.array([0.5, 1.7, 0.1])
    expected = float(np.sum(0.5 * (s2 + m**2 - 1.0 - np.log(s2))))
    kl = gaussian_kl(torch.from_numpy(m)[None], torch.from_numpy(np.log(s2))[None])
    assert kl.item() == pytest.approx(expected, rel=1e-12)


def test_gaussian_kl_and_mc_kl_agree_with_large_monte_carlo() -> None:
    g = torch.Generator().manual_seed(3)
    mu = torch.tensor([[0.5, -1.0, 0.2], [0.0, 0.0, 1.5]], dtype=torch.float64)
    logvar = torch.tensor([[0.3, -0.8, 0.0], [0.0, 0.5, -1.0]], dtype=torch.float64)
    k = 200_000
    eps = torch.randn((k, *mu.shape), generator=g, dtype=torch.float64)
    z = mu + torch.exp(0.5 * logvar) * eps
    # log q and log p written out independently of the library's density helpers
    log_q = (-0.5 * (math.log(2 * math.pi) + logvar + eps**2)).sum(-1)
    log_p = (-0.5 * (math.log(2 * math.pi) + z**2)).sum(-1)
    estimate = mc_kl(log_q, log_p)
    assert estimate.shape == (2,)
    analytic = gaussian_kl(mu, logvar)
    # standard error of the MC mean is ~ sqrt(Var/k) < 0.01 here
    np.testing.assert_allclose(estimate.numpy(), analytic.numpy(), atol=0.02)


def test_gaussian_kl_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))


def test_mc_kl_hand_value_and_shape_check() -> None:
    log_q = torch.tensor([[1.0, 0.0], [3.0, -2.0]])
    log_p = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    assert torch.allclose(mc_kl(log_q, log_p), torch.tensor([1.5, -1.0]))
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(2,\)"):
        mc_kl(log_q, log_p[0])


# --------------------------------------------------------------------------- logmeanexp


def test_logmeanexp_matches_numpy_and_is_stable() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 3))
    for dim in (0, 1, -1):
        expected = np.log(np.mean(np.exp(x), axis=dim))
        np.testing.assert_allclose(logmeanexp(torch.from_numpy(x), dim).numpy(), expected)
    big = torch.tensor([1000.0, 1000.0, 1000.0 + math.log(4.0)], dtype=torch.float64)
    # mean(e^1000 * [1, 1, 4]) = 2 e^1000
    assert logmeanexp(big, 0).item() == pytest.approx(1000.0 + math.log(2.0), rel=1e-15)
    small = torch.tensor([-1000.0, -math.inf], dtype=torch.float64)
    assert logmeanexp(small, 0).item() == pytest.approx(-1000.0 - math.log(2.0), rel=1e-15)


def test_logmeanexp_rejects_empty_dim() -> None:
    with pytest.raises(ValueError, match="empty"):
        logmeanexp(torch.zeros(0, 3), 0)


# --------------------------------------------------------------------------- IW log-likelihood
#
# Linear-Gaussian model: z ~ N(0, 1), x | z ~ N(z, s^2)  =>  x ~ N(0, 1 + s^2),
# exact posterior z | x ~ N(x / (1 + s^2), s^2 / (1 + s^2)).

S2 = 0.5  # observation noise variance s^2


def _norm_logpdf(v: torch.Tensor, mean: torch.Tensor | float, var: float) -> torch.Tensor:
    return -0.5 * (math.log(2 * math.pi * var) + (v - mean) ** 2 / var)


def _linear_gaussian_log_weights(
    x: torch.Tensor, q_mean: torch.Tensor, q_var: float, k: int, g: torch.Generator
) -> torch.Tensor:
    """[k, B] log w = log p(x|z) + log p(z) - log q(z|x), z ~ N(q_mean, q_var)."""
    z = q_mean + math.sqrt(q_var) * torch.randn((k, x.shape[0]), generator=g, dtype=x.dtype)
    return _norm_logpdf(x, z, S2) + _norm_logpdf(z, 0.0, 1.0) - _norm_logpdf(z, q_mean, q_var)


def test_iw_exact_posterior_gives_exact_log_likelihood_for_any_k() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.tensor([-2.0, -0.3, 0.0, 1.1, 3.0], dtype=torch.float64)
    truth = stats.norm(loc=0.0, scale=math.sqrt(1.0 + S2)).logpdf(x.numpy())
    post_mean = x / (1.0 + S2)
    post_var = S2 / (1.0 + S2)
    for k in (1, 7, 500):
        log_w = _linear_gaussian_log_weights(x, post_mean, post_var, k, g)
        est = iw_log_likelihood(log_w)
        assert est.shape == (5,)
        np.testing.assert_allclose(est.numpy(), truth, rtol=1e-10, atol=1e-10)


def test_iw_poor_proposal_is_below_truth_and_tightens_with_k() -> None:
    # q(z|x) = the prior N(0, 1): a valid but poor proposal. Burda et al. (2016): E[L_k] is
    # below log p(x) and non-decreasing in k. The k values and repetitions are chosen so the
    # bias at each k is many standard errors larger than the Monte Carlo noise of the mean.
    g = torch.Generator().manual_seed(6)
    x_values = torch.tensor([-1.5, 2.0], dtype=torch.float64)
    reps = 2000  # independent repetitions per data point, averaged to estimate E[L_k]
    x = x_values.repeat_interleave(reps)
    truth = stats.norm(loc=0.0, scale=math.sqrt(1.0 + S2)).logpdf(x_values.numpy())
    gaps = []
    for k in (1, 4, 16):
        log_w = _linear_gaussian_log_weights(x, torch.zeros_like(x), 1.0, k, g)
        est = iw_log_likelihood(log_w).reshape(len(x_values), reps).mean(dim=1).numpy()
        gaps.append(truth - est)
    gaps_arr = np.stack(gaps)
    assert np.all(gaps_arr > 0.0), gaps_arr  # below the truth
    assert np.all(np.diff(gaps_arr, axis=0) < 0.0), gaps_arr  # tightens as k grows
    assert np.all(gaps_arr[0] > 0.5), gaps_arr[0]  # the k=1 ELBO is clearly loose


def test_iw_poor_proposal_approaches_truth_at_large_k() -> None:
    g = torch.Generator().manual_seed(8)
    x_values = torch.tensor([-1.5, 0.4, 2.0], dtype=torch.float64)
    reps = 200
    x = x_values.repeat_interleave(reps)
    truth = stats.norm(loc=0.0, scale=math.sqrt(1.0 + S2)).logpdf(x_values.numpy())
    log_w = _linear_gaussian_log_weights(x, torch.zeros_like(x), 1.0, 1000, g)
    est = iw_log_likelihood(log_w).reshape(len(x_values), reps).mean(dim=1).numpy()
    np.testing.assert_allclose(est, truth, atol=0.02)


def test_iw_log_likelihood_hand_value() -> None:
    # weights 1, 3 -> mean 2
    log_w = torch.log(torch.tensor([[1.0], [3.0]], dtype=torch.float64))
    assert iw_log_likelihood(log_w).item() == pytest.approx(math.log(2.0), rel=1e-14)


def test_iw_log_likelihood_rejects_non_2d() -> None:
    with pytest.raises(ValueError, match=r"\(5,\)"):
        iw_log_likelihood(torch.zeros(5))


def test_combine_iw_chunks_equals_one_shot() -> None:
    g = torch.Generator().manual_seed(7)
    sizes = [3, 7, 1, 9]
    log_w = 5.0 * torch.randn((sum(sizes), 4), generator=g, dtype=torch.float64) - 50.0
    one_shot = iw_log_likelihood(log_w)
    expected = np_logsumexp(log_w.numpy(), axis=0) - math.log(sum(sizes))
    np.testing.assert_allclose(one_shot.numpy(), expected, rtol=1e-13)
    chunks = [iw_log_likelihood(c) for c in torch.split(log_w, sizes, dim=0)]
    combined = combine_iw_chunks(chunks, sizes)
    assert combined.shape == (4,)
    np.testing.assert_allclose(combined.numpy(), expected, rtol=1e-13)
    # a single chunk is returned unchanged
    assert torch.allclose(combine_iw_chunks([one_shot], [sum(sizes)]), one_shot, rtol=1e-14)


def test_combine_iw_chunks_validation() -> None:
    est = torch.zeros(3)
    with pytest.raises(ValueError, match="none"):
        combine_iw_chunks([], [])
    with pytest.raises(ValueError, match="2 chunk estimates but 1"):
        combine_iw_chunks([est, est], [4])
    with pytest.raises(ValueError, match="positive"):
        combine_iw_chunks([est, est], [4, 0])
    with pytest.raises(ValueError, match="shape"):
        combine_iw_chunks([est, torch.zeros(2)], [4, 4])


# --------------------------------------------------------------------------- perplexity


def test_perplexity_hand_computed() -> None:
    # 10 tokens (EOS included) each with probability 1/4 -> PPL 4
    assert perplexity(10 * math.log(4.0), 10) == pytest.approx(4.0, rel=1e-14)
    assert perplexity(0.0, 5) == 1.0
    # 3 sentences, total NLL 12 nats over 6 tokens -> e^2
    assert perplexity(12.0, 6) == pytest.approx(math.e**2, rel=1e-14)
    assert perplexity(1e6, 1) == math.inf


@pytest.mark.parametrize("tokens", [0, -3])
def test_perplexity_rejects_non_positive_tokens(tokens: int) -> None:
    with pytest.raises(ValueError, match=f"got {tokens}"):
        perplexity(1.0, tokens)
