"""Free bits (Kingma et al., "Improved Variational Inference with Inverse Autoregressive Flow",
NeurIPS 2016, Appendix C.8): the KL term is not pushed below a target rate lambda.

    per dimension:  R = sum_d max(lambda, E_x KL(q(z_d|x) || p(z_d)))
    whole vector:   R = max(lambda, E_x KL(q(z|x) || p(z)))

The expectation over x is the minibatch mean, as in Kingma et al., so a dimension (or the vector)
whose average KL is under the target gets no gradient from this term. The per-dimension form
needs the per-dimension KL of a standard normal prior; the vector form works with any prior.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from latentrepro.density import gaussian_kl
from latentrepro.models.priors.base import Prior
from latentrepro.models.regularisers.base import Regulariser, kl_divergence

MODES = ("dim", "vector")


def free_bits_terms(kl: torch.Tensor, target: float) -> torch.Tensor:
    """Per-example terms whose batch mean is ``sum max(target, mean_x kl)``.

    ``kl`` is ``[B, G]`` (G groups: dimensions, or 1 for the whole vector). An example keeps its
    own KL in a group whose batch-mean KL exceeds the target and contributes the constant target
    elsewhere, so the mean over the batch equals the free-bits objective and so does its gradient.
    """
    active = kl.mean(dim=0, keepdim=True) > target
    return torch.where(active, kl, torch.full_like(kl, target)).sum(dim=-1)


class FreeBitsRegulariser(Regulariser):
    """w(progress) * free-bits KL with target ``target`` (nats per dimension or per vector)."""

    def __init__(self, schedule: Callable[[float], float], target: float, mode: str) -> None:
        super().__init__(schedule)
        if mode not in MODES:
            raise ValueError(f"regulariser.mode: unknown free-bits mode {mode!r}; known: {MODES}")
        if target < 0:
            raise ValueError(f"regulariser.lambda: the target rate must be >= 0, got {target}")
        self.target, self.mode = float(target), mode

    def forward(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        prior: Prior,
        progress: float,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        if self.mode == "dim":
            if not prior.standard_normal:
                raise ValueError("regulariser.mode: 'dim' free bits need the gaussian prior")
            kl = gaussian_kl(mu.unsqueeze(-1), logvar.unsqueeze(-1))  # [B, D]
        else:
            kl = kl_divergence(mu, logvar, z, prior).unsqueeze(-1)  # [B, 1]
        weight = self.schedule(progress)
        term = free_bits_terms(kl, self.target)
        return weight * term, {"kl": kl.sum(-1).mean().item(), "kl_weight": weight}
