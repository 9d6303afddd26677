"""Conditional and compositional sampling from CLEL's latent (Lee et al. ICLR 2023, Sec. 4).

Attribute directions are prototypes in the encoder's latent space: the normalised mean of the
unit latents of the training images that have the attribute. Sampling runs SGLD on
E(x) - w * sum_k cos(g(f(x)), d_k) (:meth:`CLEL.guided_energy`): one direction gives
conditional samples (a class), two at once compositional ones. The second attribute used here is
"high intensity" (mean pixel value above the training median: bold strokes for digits), since
the image datasets carry no attribute labels besides the class.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from latentrepro.data.images import ImageSplit
from latentrepro.models.image.clel import CLEL
from latentrepro.sampling.sgld import SGLDConfig, sgld


def prototypes(latents: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    """Unit mean of the unit ``latents`` rows selected by each row of the boolean ``members``."""
    if not members.any(dim=1).all():
        raise ValueError("prototypes: an attribute has no member images")
    weights = members.float() / members.sum(dim=1, keepdim=True)
    return F.normalize(weights @ F.normalize(latents, dim=1), dim=1)


@torch.no_grad()
def attribute_directions(
    model: CLEL, split: ImageSplit, label: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class prototypes ``[K, d]`` and the high-intensity prototype ``[d]``."""
    latents = model.latent_direction(split.x)
    labels = split.labels[label]
    classes = torch.arange(int(labels.max()) + 1)
    by_class = prototypes(latents, labels.unsqueeze(0) == classes.unsqueeze(1))
    intensity = split.x.mean(dim=(1, 2, 3))
    bright = prototypes(latents, (intensity > intensity.median()).unsqueeze(0))[0]
    return by_class, bright


def guided_samples(
    model: CLEL, split: ImageSplit, label: str, settings: dict[str, Any]
) -> dict[str, torch.Tensor]:
    """Per class: ``per_row`` samples toward the class (``conditional``) and toward the class
    and high intensity together (``compositional``), all rows from the same replay-buffer starts
    so that rows differ only by the guidance."""
    model.eval()
    by_class, bright = attribute_directions(model, split, label)
    config = SGLDConfig(settings["steps"], model.sgld.step_size, model.sgld.noise_std)
    starts = model.buffer.images[: settings["per_row"]]
    weight = float(settings["weight"])
    rows: dict[str, list[torch.Tensor]] = {"conditional": [], "compositional": []}
    for direction in by_class:
        for name, dirs in (
            ("conditional", direction[None]),
            ("compositional", torch.stack([direction, bright])),
        ):
            energy = lambda x, d=dirs: model.guided_energy(x, d, weight)  # noqa: E731
            rows[name].append(sgld(energy, starts, config))
    return {name: torch.stack(samples) for name, samples in rows.items()}
