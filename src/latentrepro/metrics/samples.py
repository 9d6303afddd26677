r"""Scores of samples from a 2-D density model against held-out data: MMD and mode coverage.

MMD (Gretton et al., "A Kernel Two-Sample Test", JMLR 2012, Lemma 6, the unbiased estimator):

.. math::

    \widehat{\mathrm{MMD}}^2 = \frac{1}{m(m-1)}\sum_{i \ne j} k(x_i, x_j)
      + \frac{1}{n(n-1)}\sum_{i \ne j} k(y_i, y_j) - \frac{2}{mn}\sum_{i,j} k(x_i, y_j)

with a Gaussian kernel averaged over bandwidths, :math:`k(x, y) = \frac1{|H|}\sum_{h \in H}
\exp(-\lVert x - y\rVert^2 / (2h^2))`.

Mode coverage: a sample *lands on* component k when its nearest data point is within ``radius``
and belongs to k; component k is *covered* when at least ``min_share`` of the uniform share
``n / K`` of the samples land on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: Kernel bandwidths of the reported MMD (the data have unit-order scale).
MMD_BANDWIDTHS = (0.1, 0.5, 1.0)
#: Mode coverage: a sample within this distance of a data point lands on that point's component.
MODE_RADIUS = 0.1
#: ... and a component is covered with at least this fraction of its uniform share of samples.
MODE_MIN_SHARE = 0.25


def mmd_squared(
    x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float] = MMD_BANDWIDTHS
) -> float:
    """Unbiased MMD^2 between samples ``x`` ``[m, D]`` and ``y`` ``[n, D]`` (m, n >= 2)."""
    if x.size(0) < 2 or y.size(0) < 2:
        raise ValueError("mmd_squared: need at least 2 points in each sample")

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        d2 = torch.cdist(a.double(), b.double()).pow(2)
        return sum(torch.exp(-d2 / (2 * h * h)) for h in bandwidths) / len(bandwidths)

    m, n = x.size(0), y.size(0)
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())


def mode_coverage(
    samples: torch.Tensor,
    data: torch.Tensor,
    labels: torch.Tensor,
    radius: float = MODE_RADIUS,
    min_share: float = MODE_MIN_SHARE,
) -> tuple[float, float]:
    """``(fraction of components covered, fraction of samples landing on the data)``."""
    components = labels.unique()
    distances = torch.cdist(samples.double(), data.double())
    nearest, index = distances.min(dim=1)
    landed = nearest <= radius
    counts = torch.stack([(landed & (labels[index] == k)).sum() for k in components])
    needed = min_share * samples.size(0) / len(components)
    covered = (counts >= needed).float().mean().item()
    return covered, landed.float().mean().item()
