"""A latent prior fitted directly as a density model of 2-D points (the points play the role of
z), the synthetic experiment of LDEBM (Yu et al., ICML 2022, Sec. 5.1)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from latentrepro.metrics.samples import mmd_squared
from latentrepro.models.priors import EBMPrior, build_prior


class PointDensityModel(nn.Module):
    """Trains an EBM prior by its contrastive maximum-likelihood surrogate.

    Validation scores samples, not likelihoods: the log-partition estimates of a sharply peaked
    2-D EBM are too biased to rank epochs, so the validation loss is the unbiased MMD^2 between
    as many prior samples as the batch has points (full Langevin budget) and the batch."""

    def __init__(self, prior: EBMPrior) -> None:
        super().__init__()
        self.prior = prior

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PointDensityModel:
        prior = build_prior(config["model"]["prior"], config["arch"].get("latent_dim", 2))
        if not isinstance(prior, EBMPrior):
            raise ValueError("prior.name: the point family fits EBM priors (lebm, svebm, ldebm)")
        return cls(prior)

    def training_step(
        self, batch: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        per_point, logs = self.prior.density_loss(batch["x"])
        loss = per_point.mean()
        return loss, {"loss": loss.item(), **logs}

    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        x = batch["x"]
        mmd2 = mmd_squared(self.prior.sample(x.size(0)), x)
        return {"loss": mmd2 * x.size(0), "count": float(x.size(0))}
