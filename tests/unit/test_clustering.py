"""LDEBM's geometric clustering: pseudo-labels of separated groups, balanced resampling."""

import numpy as np
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score

from latentrepro.models.clustering import ClusterResampler, geometric_pseudo_labels


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


def test_resampling_is_uniform_over_clusters():
    labels = np.array([0] * 90 + [1] * 10)
    index = ClusterResampler(labels).draw(20_000, torch.Generator().manual_seed(0))
    share = (torch.as_tensor(labels)[index] == 1).float().mean().item()
    assert share == pytest.approx(0.5, abs=0.02)
    assert index[torch.as_tensor(labels)[index] == 1].unique().numel() == 10
