r"""The latent term of VAEs with EBM priors: w(progress) * KL surrogate - w_MI * I(y; z).

The KL surrogate comes from the prior (:meth:`EBMPrior.kl_surrogate`: LEBM/SVEBM contrastive
form, or LDEBM's recovery-likelihood form). The information bottleneck term of SVEBM-IB and
LDEBM is the mutual information between the symbol y and z on the minibatch,

.. math::

    I(y; z) = H\Big(\frac1B \sum_b p(y \mid z_b)\Big) - \frac1B \sum_b H\big(p(y \mid z_b)\big)

(Pang & Wu, ICML 2021, Sec. 3.3, Eq. (12); Yu et al., ICML 2022, Eq. (9)); subtracting it
rewards z that determine their symbol while using all symbols.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from latentrepro.models.priors.base import Prior
from latentrepro.models.priors.ebm import EBMPrior
from latentrepro.models.regularisers import Regulariser


def symbol_information(logits: torch.Tensor) -> torch.Tensor:
    """I(y; z) on the rows of ``logits`` ``[B, K]`` (nats, a scalar in [0, log K])."""
    log_p = logits.log_softmax(-1)
    p = log_p.exp()
    marginal = p.mean(0)
    h_marginal = -(marginal * marginal.clamp_min(1e-12).log()).sum()
    h_conditional = -(p * log_p).sum(-1).mean()
    return h_marginal - h_conditional


class EBMRegulariser(Regulariser):
    """``w(progress) * KL surrogate - mi_weight * I(y; z)`` per example."""

    def __init__(self, schedule: Callable[[float], float], mi_weight: float = 0.0) -> None:
        super().__init__(schedule)
        if mi_weight < 0:
            raise ValueError(f"regulariser.mi_weight: must be >= 0, got {mi_weight}")
        self.mi_weight = mi_weight

    def forward(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        prior: Prior,
        progress: float,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        if not isinstance(prior, EBMPrior):
            raise ValueError("regulariser.name: 'ebm' needs an EBM prior (lebm, svebm or ldebm)")
        kl, logs = prior.kl_surrogate(mu, logvar, z)
        weight = self.schedule(progress)
        term = weight * kl
        logs = {**logs, "kl_surrogate": kl.mean().item(), "kl_weight": weight}
        if self.mi_weight:
            mi = symbol_information(prior.symbol_logits(z))
            term = term - self.mi_weight * mi
            logs["symbol_mi"] = mi.item()
        return term, logs
