r"""The latent term of VAEs with EBM priors:
``w(progress) * KL surrogate - w_MI * I(y; z) + w_cls * CE(p(y | z), pseudo-label)``.

The KL surrogate comes from the prior (:meth:`EBMPrior.kl_surrogate`: LEBM/SVEBM contrastive
form, or LDEBM's recovery-likelihood form). The information bottleneck term of SVEBM-IB and
LDEBM is the mutual information between the symbol y and z on the minibatch,

.. math::

    I(y; z) = H\Big(\frac1B \sum_b p(y \mid z_b)\Big) - \frac1B \sum_b H\big(p(y \mid z_b)\big)

(Pang & Wu, ICML 2021, Sec. 3.3, Eq. (12); Yu et al., ICML 2022, Eq. (9)); subtracting it
rewards z that determine their symbol while using all symbols. LDEBM's clustering term is the
cross-entropy of p(y | z) against the batch's k-means pseudo-labels (Yu et al. 2022, Sec. 3.3).
Both read p(y | z) at :meth:`EBMPrior.symbol_input` of the posterior sample, one draw shared by
the two (yuPeiyu98/LDEBM @ 37ebc1f unsup_attr_discovery.py:792-812).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from latentrepro.models.priors.base import Prior
from latentrepro.models.priors.ebm import EBMPrior
from latentrepro.models.regularisers.base import Regulariser, build_schedule


def symbol_information(logits: torch.Tensor) -> torch.Tensor:
    """I(y; z) on the rows of ``logits`` ``[B, K]`` (nats, a scalar in [0, log K])."""
    log_p = logits.log_softmax(-1)
    p = log_p.exp()
    marginal = p.mean(0)
    h_marginal = -(marginal * marginal.clamp_min(1e-12).log()).sum()
    h_conditional = -(p * log_p).sum(-1).mean()
    return h_marginal - h_conditional


class EBMRegulariser(Regulariser):
    """``w(progress) * KL surrogate - mi_weight * I(y; z) + cluster_weight * CE`` per example
    (the batch-level terms are added to every example, so the batch mean is the objective)."""

    def __init__(
        self,
        schedule: Callable[[float], float],
        mi_weight: float = 0.0,
        cluster_weight: float = 0.0,
    ) -> None:
        super().__init__(schedule)
        if mi_weight < 0:
            raise ValueError(f"regulariser.mi_weight: must be >= 0, got {mi_weight}")
        if cluster_weight < 0:
            raise ValueError(f"regulariser.cluster.weight: must be >= 0, got {cluster_weight}")
        self.mi_weight, self.cluster_weight = mi_weight, cluster_weight

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> EBMRegulariser:
        """From a ``regulariser`` section: ``schedule``, ``mi_weight``, ``cluster.weight``."""
        return cls(
            build_schedule(cfg.get("schedule")),
            cfg.get("mi_weight", 0.0),
            cfg.get("cluster", {}).get("weight", 0.0),
        )

    def forward(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        prior: Prior,
        progress: float,
        targets: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """``targets``: the batch's pseudo-labels for the cluster term (None: no cluster term)."""
        if not isinstance(prior, EBMPrior):
            raise ValueError("regulariser.name: 'ebm' needs an EBM prior (lebm, svebm or ldebm)")
        kl, logs = prior.kl_surrogate(mu, logvar, z)
        weight = self.schedule(progress)
        term = weight * kl
        logs = {**logs, "kl_surrogate": kl.mean().item(), "kl_weight": weight}
        clustered = targets is not None and self.cluster_weight > 0
        if self.mi_weight or clustered:
            logits = prior.symbol_logits(prior.symbol_input(z))
            if self.mi_weight:
                mi = symbol_information(logits)
                term = term - self.mi_weight * mi
                logs["symbol_mi"] = mi.item()
            if clustered:
                ce = F.cross_entropy(logits, targets)
                term = term + self.cluster_weight * ce
                logs["cluster_ce"] = ce.item()
        return term, logs
