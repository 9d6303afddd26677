"""Frechet Inception Distance (Heusel et al. 2017), computed in float64.

FID = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}) between Gaussian fits of two feature
sets. The cross term uses Tr((S_1 S_2)^{1/2}) = Tr((S_1^{1/2} S_2 S_1^{1/2})^{1/2}): the inner
matrix is symmetric positive semi-definite, so both square roots come from symmetric
eigendecompositions with tiny negative eigenvalues (round-off) clipped to zero. This avoids the
complex-valued ``scipy.linalg.sqrtm`` of a non-symmetric product and its imaginary residue.

:class:`FeatureStatistics` accumulates the mean and covariance over batches (float64 sums) and
must be :meth:`~FeatureStatistics.reset` between evaluations: CLEL's evaluation script let the
generated-sample statistics pile up across evaluation rounds (papers.md, P3 "Known defect").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch


class SingularCovarianceWarning(UserWarning):
    """FID on no more samples than feature dimensions: the covariance is singular."""


def sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix (float64, eigenvalues >= 0)."""
    if matrix.dim() != 2 or matrix.size(0) != matrix.size(1):
        raise ValueError(f"matrix: expected a square matrix, got shape {list(matrix.shape)}")
    sym = 0.5 * (matrix + matrix.T).double()
    eigvals, eigvecs = torch.linalg.eigh(sym)
    return (eigvecs * eigvals.clamp_min(0.0).sqrt()) @ eigvecs.T


def frechet_distance(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64."""
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"feature statistics differ in shape: mu {list(mu1.shape)} vs {list(mu2.shape)}, "
            f"sigma {list(sigma1.shape)} vs {list(sigma2.shape)}"
        )
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    for name, value in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not torch.isfinite(value).all():
            raise ValueError(f"{name}: feature statistics contain NaN or infinite values")
    root1 = sqrtm_psd(sigma1)
    inner = root1 @ sigma2 @ root1
    eigvals = torch.linalg.eigvalsh(0.5 * (inner + inner.T)).clamp_min(0.0)
    cross = eigvals.sqrt().sum()
    value = (mu1 - mu2).square().sum() + torch.trace(sigma1) + torch.trace(sigma2) - 2.0 * cross
    return max(float(value), 0.0)


@dataclass
class GaussianFit:
    """Mean, covariance (unbiased, N - 1) and sample count of a feature set."""

    mean: torch.Tensor
    cov: torch.Tensor
    count: int


class FeatureStatistics:
    """Running float64 sums of features for a Gaussian fit; :meth:`reset` starts over."""

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim: feature dimension must be positive, got {dim}")
        self.dim = dim
        self.reset()

    def reset(self) -> None:
        """Forget every feature seen so far."""
        self.count = 0
        self._sum = torch.zeros(self.dim, dtype=torch.float64)
        self._outer = torch.zeros(self.dim, self.dim, dtype=torch.float64)

    def update(self, features: torch.Tensor) -> None:
        """Add a batch of features ``[B, dim]``."""
        if features.dim() != 2 or features.size(1) != self.dim:
            raise ValueError(
                f"features: expected shape [B, {self.dim}], got {list(features.shape)}"
            )
        if not torch.isfinite(features).all():
            raise ValueError("features: NaN or infinite values (check the images and extractor)")
        f = features.detach().to("cpu", torch.float64)
        self.count += f.size(0)
        self._sum += f.sum(0)
        self._outer += f.T @ f

    def compute(self) -> GaussianFit:
        """The Gaussian fit; warns when the covariance is singular (count <= dim)."""
        if self.count < 2:
            raise ValueError(f"FID needs at least 2 samples, got {self.count}")
        if self.count <= self.dim:
            warnings.warn(
                f"FID on {self.count} samples of {self.dim}-d features: the covariance is "
                "singular (rank < dimension), so the estimate is unreliable; use more samples "
                "than feature dimensions",
                SingularCovarianceWarning,
                stacklevel=2,
            )
        mean = self._sum / self.count
        cov = (self._outer - self.count * torch.outer(mean, mean)) / (self.count - 1)
        return GaussianFit(mean, 0.5 * (cov + cov.T), self.count)


def fid_from_fits(a: GaussianFit, b: GaussianFit) -> float:
    """FID between two Gaussian fits."""
    return frechet_distance(a.mean, a.cov, b.mean, b.cov)
