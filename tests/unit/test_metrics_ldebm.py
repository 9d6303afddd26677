"""Symbol agreement, sample scores and text-generation scores on hand-computed cases."""

import math

import pytest
import torch

from latentrepro.metrics.clustering import symbol_agreement
from latentrepro.metrics.generation import corpus_bleu, unigram_kl
from latentrepro.metrics.samples import mmd_squared, mode_coverage


def test_symbol_agreement_hand_cases():
    labels = torch.tensor([0, 0, 1, 1])
    assert symbol_agreement(labels, torch.tensor([1, 1, 0, 0])) == pytest.approx(
        {"nmi": 1.0, "homogeneity": 1.0}
    )
    # One symbol per example: homogeneous; NMI = 2 I / (H(L) + H(S)) = 2 log 2 / (log 2 + log 4).
    assert symbol_agreement(labels, torch.tensor([0, 1, 2, 3])) == pytest.approx(
        {"nmi": 2 / 3, "homogeneity": 1.0}
    )
    assert symbol_agreement(labels, torch.tensor([5, 5, 5, 5]))["homogeneity"] == pytest.approx(0)


def test_symbol_agreement_rejects_misaligned_inputs():
    with pytest.raises(ValueError, match="equal length"):
        symbol_agreement(torch.tensor([0, 1]), torch.tensor([0, 1, 2]))


def test_mmd_of_two_point_masses_matches_the_kernel_by_hand():
    a, b = torch.tensor([[0.0, 0.0]] * 2), torch.tensor([[0.3, 0.4]] * 2)
    bandwidths = (0.5, 1.0)
    k_ab = sum(math.exp(-0.25 / (2 * h * h)) for h in bandwidths) / 2
    assert mmd_squared(a, b, bandwidths) == pytest.approx(2 - 2 * k_ab)
    torch.manual_seed(0)
    x, y = torch.randn(500, 2), torch.randn(500, 2)
    assert abs(mmd_squared(x, y)) < 0.01 < mmd_squared(x, y + 1.0)


def test_mode_coverage_counts_components_with_enough_nearby_samples():
    data = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    labels = torch.tensor([0, 1, 2])
    # 8 samples: 4 on mode 0, 1 on mode 1, 3 far away. Uniform share 8/3; 25% of it is 0.67.
    samples = torch.tensor(
        [[0.05, 0.0]] * 4 + [[5.0, 0.05]] + [[9.0, 9.0]] * 3, dtype=torch.float32
    )
    covered, on_data = mode_coverage(samples, data, labels, radius=0.1, min_share=0.25)
    assert covered == pytest.approx(2 / 3)
    assert on_data == pytest.approx(5 / 8)


def test_bleu_and_unigram_kl_hand_cases():
    sentences = [["the", "cat", "sat", "on", "the", "mat"]]
    assert corpus_bleu(sentences, sentences) == pytest.approx(100.0)
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert unigram_kl([["a", "a", "b", "b"]], [["a", "b", "b", "b"]]) == pytest.approx(expected)
    assert unigram_kl([["c"]], [["a"]]) == math.inf
