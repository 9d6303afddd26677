"""LDEBM's geometric clustering: pseudo-labels of separated groups, cluster-balanced epochs."""

import numpy as np
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score

from latentrepro.models.clustering import balanced_order, geometric_pseudo_labels


def test_pseudo_labels_recover_groups_in_different_directions():
    rng = np.random.default_rng(0)
    directions = np.array([[5, 0, 0, 0], [0, 5, 0, 0], [-5, -5, 0, 0]], dtype=float)
    truth = np.repeat(np.arange(3), 100)
    points = directions[truth] + 0.3 * rng.standard_normal((300, 4))
    labels = geometric_pseudo_labels(points, clusters=3, dims=3, seed=0)
    assert normalized_mutual_info_score(truth, labels) == pytest.approx(1.0)


def test_too_few_clusters_are_rejected():
    with pytest.raises(ValueError, match="K >= 2"):
        geometric_pseudo_labels(np.zeros((10, 3)), clusters=1, dims=2, seed=0)


def test_an_epoch_order_is_uniform_over_clusters_and_as_long_as_the_data():
    labels = torch.tensor([0] * 6000 + [1] * 2500 + [2] * 1000 + [3] * 400 + [4] * 100)
    order = balanced_order(labels, torch.Generator().manual_seed(0))
    assert order.shape == (10_000,)
    counts = torch.bincount(labels[order], minlength=5)
    # Each cluster contributes N // k + 1 = 2001 draws before the cut to N.
    assert counts.min().item() >= 2001 - 5 and counts.max().item() <= 2001
    # Clusters larger than their share are drawn without replacement, smaller ones with it.
    big = order[labels[order] == 0]
    assert big.unique().numel() == big.numel()
    assert order[labels[order] == 4].unique().numel() == 100


def test_an_epoch_order_skips_nothing_of_a_single_member_cluster():
    labels = torch.tensor([0] * 9 + [1])
    order = balanced_order(labels, torch.Generator().manual_seed(1))
    assert (labels[order] == 1).sum().item() >= 4  # 10 // 2 + 1 = 6 draws, cut to 10
