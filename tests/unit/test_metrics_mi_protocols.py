"""He et al.'s length-grouped MI batches against the pooled estimate, and the one-pass joint and
marginal aggregate densities behind the hole measures."""

from __future__ import annotations

import math

import pytest
import torch

from latentrepro.evaluation.text_vae import (
    hole_measures,
    mi_name,
    protocol_names,
    split_mutual_information,
)
from latentrepro.metrics import (
    aggregate_posterior_log_density,
    batched_mutual_information,
    length_grouped_batches,
)
from latentrepro.metrics.holes import prior_to_aggregate_kl_with_error
from latentrepro.metrics.latent import aggregate_posterior_log_densities


def test_batches_group_equal_lengths_in_order_and_keep_short_remainders():
    lengths = torch.tensor([5, 3, 5, 3, 3, 7])
    batches = length_grouped_batches(lengths, batch_size=2)
    assert [b.tolist() for b in batches] == [[1, 3], [4], [0, 2], [5]]
    with pytest.raises(ValueError, match="batch_size"):
        length_grouped_batches(lengths, 0)


def separated(n: int, d: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Posteriors so far apart and so narrow that q(z_i) is q(z_i | x_i) / N."""
    mu = 1000.0 * torch.arange(n, dtype=torch.float64).unsqueeze(1).expand(n, d)
    return mu, torch.full((n, d), math.log(1e-4), dtype=torch.float64)


def test_batch_mi_is_the_size_weighted_mean_of_log_batch_size():
    # 31 lengths with 32 sentences each and one with 8: batches of 32 and one of 8.
    lengths = torch.cat([torch.full((32,), 10 + i) for i in range(31)] + [torch.full((8,), 99)])
    mu, logvar = separated(len(lengths))
    batches = length_grouped_batches(lengths, 32)
    assert sorted({len(b) for b in batches}) == [8, 32]
    mi = batched_mutual_information(mu, logvar, batches, generator=torch.Generator().manual_seed(0))
    expected = (31 * 32 * math.log(32) + 8 * math.log(8)) / 1000
    assert mi == pytest.approx(expected, abs=0.1)  # one-draw noise: sqrt(d / 2n) = 0.03
    pooled = split_mutual_information(mu, logvar, lengths, {"mi_aggregate": "split"}, 0)
    assert pooled == pytest.approx(math.log(1000), abs=0.1)


def test_single_sentence_batches_count_and_weigh_like_the_others():
    # Every length once: He et al.'s batches are all of size 1 and the MI is 0 in expectation
    # (the old consecutive-slice option skipped such batches but still divided by all n).
    lengths = torch.arange(400)
    mu, logvar = separated(400)
    settings = {"mi_aggregate": "he_batches", "mi_batch_size": 32}
    assert split_mutual_information(mu, logvar, lengths, settings, 0) == pytest.approx(0, abs=0.1)


def test_one_batch_of_everything_is_the_pooled_estimate():
    g = torch.Generator().manual_seed(3)
    mu, logvar = torch.randn(50, 4, generator=g), torch.randn(50, 4, generator=g) - 1
    lengths = torch.full((50,), 7)
    pooled = split_mutual_information(mu, logvar, lengths, {"mi_aggregate": "split"}, 5)
    batched = split_mutual_information(
        mu, logvar, lengths, {"mi_aggregate": "he_batches", "mi_batch_size": 64}, 5
    )
    assert batched == pytest.approx(pooled, rel=1e-6)


def test_the_mi_choice_is_named():
    assert mi_name({}) == "MI (pooled over split)"
    assert mi_name({"mi_aggregate": "he_batches"}) == "MI (He et al. batches of 32)"
    with pytest.raises(ValueError, match="mi_aggregate"):
        mi_name({"mi_aggregate": "batch"})
    names = protocol_names({"iw_samples": 500, "hole_samples": 128000, "max_sentences": 1000})
    assert names["holes"].startswith("KL(p||qbar) and CU from 128,000 prior draws; CU = dims")
    assert "collapsed dims counting as continuous" in names["holes"]
    assert names["nll"] == "NLL importance-weighted with k = 500"
    assert names["subset"] == "first 1,000 sentences of the split"
    assert "holes" not in protocol_names({"iw_samples": 5}, gaussian_prior=False)


def test_joint_and_marginal_densities_in_one_pass_match_the_separate_ones():
    g = torch.Generator().manual_seed(0)
    z, mu, logvar = (
        torch.randn(37, 3, generator=g),
        torch.randn(11, 3, generator=g),
        torch.zeros(11, 3),
    )
    joint, marginal = aggregate_posterior_log_densities(z, mu, logvar, chunk_size=8)
    torch.testing.assert_close(joint, aggregate_posterior_log_density(z, mu, logvar))
    torch.testing.assert_close(
        marginal, aggregate_posterior_log_density(z, mu, logvar, per_dim=True)
    )


def test_the_standard_error_of_the_hole_kl_shrinks_with_the_draws():
    # KL(N(0,1) || N(1,1)) = 1/2; log p - log q = 1/2 - z, so the per-draw std is 1.
    mu, logvar = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64)
    z = torch.randn(40_000, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    kl, _, error = prior_to_aggregate_kl_with_error(z, mu, logvar)
    assert kl == pytest.approx(0.5, abs=4 * 0.005)
    assert error == pytest.approx(1 / 200, rel=0.02)
    small = hole_measures(mu, logvar, {"hole_samples": 1000}, seed=0)
    large = hole_measures(mu, logvar, {"hole_samples": 128_000}, seed=0)
    assert small["kl_p_qbar_se"] / large["kl_p_qbar_se"] == pytest.approx(128**0.5, rel=0.05)
    assert large["hole_samples"] == 128_000
