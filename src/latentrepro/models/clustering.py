"""The geometric clustering regulariser of LDEBM (Yu et al., ICML 2022, Sec. 3.3; papers.md P1):
posterior means are PCA-whitened to a few dimensions, L2-normalised and clustered by k-means
into K groups; every training batch of the epoch is then drawn uniformly over the clusters, and
the symbol logits are fitted to the cluster ids with cross-entropy.

The authors' code (yuPeiyu98/LDEBM @ 37ebc1f modules/clustering.py) whitens with faiss
``PCAMatrix(eigen_power=-0.5)``, runs faiss k-means (k random data points as initial centroids,
20 iterations, :240-278) and samples with DeepCluster's ``UnifLabelSampler`` (:35-78). That
sampler returns indices into the original data, but the dataset it indexes holds the data sorted
by cluster (``cluster_assign``, :200-218), so the items drawn are in effect uniform over the data
and not over the clusters (with clusters of 6,000 / 2,500 / 1,000 / 400 / 100 points, it draws
6,114 / 2,456 / 936 / 425 / 69 of 10,000). :func:`balanced_order` draws what the sampler means to
draw; ``regulariser.cluster.sampling: data`` reproduces what the authors' code does.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

#: Lloyd iterations of the k-means (faiss ``niter`` in the authors' code).
KMEANS_ITERATIONS = 20


def geometric_pseudo_labels(points: np.ndarray, clusters: int, dims: int, seed: int) -> np.ndarray:
    """Cluster ids ``[N]`` of ``points`` ``[N, D]``: PCA-whiten to ``min(dims, D)`` dimensions,
    L2-normalise, k-means with ``clusters`` centres started at as many random points and run for
    :data:`KMEANS_ITERATIONS` iterations (seeded)."""
    if clusters < 2:
        raise ValueError(f"clusters: need K >= 2, got {clusters}")
    if len(points) < clusters:
        raise ValueError(f"clusters: {len(points)} points cannot form {clusters} clusters")
    whitened = PCA(n_components=min(dims, points.shape[1]), whiten=True).fit_transform(points)
    norms = np.linalg.norm(whitened, axis=1, keepdims=True)
    unit = whitened / np.maximum(norms, 1e-12)
    kmeans = KMeans(
        n_clusters=clusters, init="random", n_init=1, max_iter=KMEANS_ITERATIONS, tol=0.0,
        random_state=seed,
    )  # fmt: skip
    return kmeans.fit_predict(unit)


def balanced_order(labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """An epoch's order of ``len(labels)`` indices drawn uniformly over the non-empty clusters:
    each cluster contributes ``N // k + 1`` of its members (with replacement only when it has no
    more members than that), the draws are shuffled together and cut to N (what DeepCluster's
    ``UnifLabelSampler`` means to draw)."""
    n = labels.numel()
    clusters = [torch.nonzero(labels == k).squeeze(1) for k in torch.unique(labels).tolist()]
    per_cluster = n // len(clusters) + 1
    draws = []
    for members in clusters:
        if len(members) <= per_cluster:
            pick = torch.randint(len(members), (per_cluster,), generator=generator)
        else:
            pick = torch.randperm(len(members), generator=generator)[:per_cluster]
        draws.append(members[pick])
    pooled = torch.cat(draws)
    return pooled[torch.randperm(len(pooled), generator=generator)][:n]
