"""CLEL: an image EBM guided by a jointly trained contrastive encoder (Lee et al., ICLR 2023).

The energy network's output f(x) is split into a norm and a direction (papers.md P3): the norm
gives the density part E(x) = 0.5 ||f(x)||^2 (sampled with SGLD as in the baseline), the
direction of g(f(x)) is coupled to the encoder's latent through ``-beta * cos(g(f(x)), z)`` with
z = h(strong_aug(x)) a separate view computed without gradient. The encoder h trains with
SimCLR's NT-Xent loss (Chen et al. 2020) on two further strong views of the data, with the
energy network's own projections g(f(x-)) of the generated samples, detached, as extra
negatives (hankook/CLEL@ccccf50 ``models/ebm.py`` ~17-27, ~96-120; config ``use_neg: true``).
The generated samples never pass through the encoder, so its batch norm sees real images only.

Loss = mean(E+ - E-) + alpha mean(E+^2 + E-^2) - beta mean cos(g(f(x+)), z+) + NT-Xent.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from latentrepro.models.image.ebm import ImageEBM
from latentrepro.models.image.networks import ContrastiveEncoder


def nt_xent(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float, extra_negatives: torch.Tensor | None
) -> torch.Tensor:
    """SimCLR's NT-Xent: each of the 2B views must pick its partner view among the other
    2B - 1 views and the ``extra_negatives`` (all compared by cosine similarity / temperature)."""
    views = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.size(0)
    logits = views @ views.T
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=views.device), -torch.inf)
    if extra_negatives is not None:
        logits = torch.cat([logits, views @ F.normalize(extra_negatives, dim=1).T], dim=1)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(views.device)
    return F.cross_entropy(logits / temperature, targets)


class CLEL(ImageEBM):
    """The baseline EBM plus the encoder, the cosine coupling and the contrastive loss."""

    def __init__(
        self, shape: tuple[int, int, int], arch: dict[str, Any], model: dict[str, Any]
    ) -> None:
        if not arch["energy"].get("projection_dim"):
            raise ValueError("energy.projection_dim: CLEL needs the projection g (set it > 0)")
        if arch["encoder"]["latent_dim"] != arch["energy"]["projection_dim"]:
            raise ValueError(
                "encoder.latent_dim must equal energy.projection_dim "
                f"({arch['encoder']['latent_dim']} != {arch['energy']['projection_dim']})"
            )
        super().__init__(shape, arch, model)
        self.encoder = ContrastiveEncoder(shape[0], arch["encoder"])
        self.beta = float(model["beta"])
        self.temperature = float(model["temperature"])
        if self.temperature <= 0:
            raise ValueError(f"temperature: must be positive, got {self.temperature}")

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"model": list(self.net.parameters()), "encoder": list(self.encoder.parameters())}

    def guidance_loss(
        self, x_pos: torch.Tensor, f_pos: torch.Tensor, f_neg: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.no_grad():
            target = self.encoder(self.augment(x_pos))
        cosine = F.cosine_similarity(self.net.project(f_pos), target, dim=1).mean()
        views = self.encoder(self.augment(torch.cat([x_pos, x_pos])))
        z1, z2 = views.chunk(2)
        contrastive = nt_xent(z1, z2, self.temperature, self.net.project(f_neg).detach())
        loss = contrastive - self.beta * cosine
        return loss, {"simclr": contrastive.item(), "cosine": cosine.item()}

    @torch.no_grad()
    def latent_direction(self, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Unit-norm encoder latents of (unaugmented) images, in eval mode."""
        was_training = self.encoder.training
        self.encoder.eval()
        z = torch.cat(
            [self.encoder(x[i : i + batch_size]) for i in range(0, x.size(0), batch_size)]
        )
        self.encoder.train(was_training)
        return F.normalize(z, dim=1)

    def guided_energy(
        self, x: torch.Tensor, directions: torch.Tensor, weight: float
    ) -> torch.Tensor:
        """E(x) - weight * sum_k cos(g(f(x)), d_k): sampling toward every direction d_k at once
        (one direction: conditional; several: compositional generation, CLEL Sec. 4)."""
        f = self.sampler_net(x)
        g = F.normalize(self.sampler_net.project(f), dim=1)
        return self.norm_energy(f) - weight * (g @ F.normalize(directions, dim=1).T).sum(dim=1)
