"""The geometric clustering regulariser of LDEBM (Yu et al., ICML 2022, Sec. 3.3; papers.md P1):
posterior means are PCA-whitened to a few dimensions, L2-normalised and clustered by k-means
into K groups; training then resamples the data uniformly over clusters and fits the symbol
logits to the cluster ids with cross-entropy."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA


def geometric_pseudo_labels(points: np.ndarray, clusters: int, dims: int, seed: int) -> np.ndarray:
    """Cluster ids ``[N]`` of ``points`` ``[N, D]``: PCA-whiten to ``min(dims, D)`` dimensions,
    L2-normalise, k-means with ``clusters`` centres (``n_init=1``, seeded)."""
    if clusters < 2:
        raise ValueError(f"clusters: need K >= 2, got {clusters}")
    if len(points) < clusters:
        raise ValueError(f"clusters: {len(points)} points cannot form {clusters} clusters")
    whitened = PCA(n_components=min(dims, points.shape[1]), whiten=True).fit_transform(points)
    norms = np.linalg.norm(whitened, axis=1, keepdims=True)
    unit = whitened / np.maximum(norms, 1e-12)
    return KMeans(n_clusters=clusters, n_init=1, random_state=seed).fit_predict(unit)


class ClusterResampler:
    """Draws indices uniformly over the non-empty clusters, then uniformly within a cluster."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.members = [
            torch.nonzero(self.labels == k).squeeze(1) for k in torch.unique(self.labels).tolist()
        ]

    def draw(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` indices into the clustered set."""
        which = torch.randint(len(self.members), (n,), generator=generator)
        out = torch.empty(n, dtype=torch.long)
        for k in which.unique().tolist():
            slots = torch.nonzero(which == k).squeeze(1)
            pool = self.members[k]
            out[slots] = pool[torch.randint(len(pool), (len(slots),), generator=generator)]
        return out
