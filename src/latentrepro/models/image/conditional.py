"""Conditional and compositional sampling from CLEL's latent (Lee et al. ICLR 2023, Sec. 4),
and their scores under an independent classifier.

Attribute directions are prototypes in the encoder's latent space: the normalised mean of the
unit latents of the training images that have the attribute. Sampling runs SGLD on
E(x) - w * sum_k cos(g(f(x)), d_k) (:meth:`CLEL.guided_energy`): one direction gives
conditional samples (a class), two at once compositional ones. The second attribute is "bright
for its class" (mean pixel value above the median of the training images of the same class),
since the image datasets carry no attribute labels besides the class; its direction is the
prototype of all such images, which is balanced over the classes.

Scores (:func:`score_guided`): a classifier trained on the labelled training images (not the
CLEL encoder) labels every sample. Conditional accuracy of class k is the fraction of the
samples guided toward k that it assigns to k; compositional joint success is the fraction of
samples guided toward (k, bright) that are assigned to k *and* are bright for class k. Chance is
given two ways: uniform (1/K and 1/(2K)) and empirical, the same rates among samples run from
the same starts under the unguided energy.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from latentrepro.data.images import ImageSplit
from latentrepro.models.image.clel import CLEL
from latentrepro.sampling.sgld import SGLDConfig, sgld


def prototypes(latents: torch.Tensor, members: torch.Tensor, centred: bool = False) -> torch.Tensor:
    """Unit mean of the unit ``latents`` rows selected by each row of the boolean ``members``;
    ``centred``: unit (member mean - mean of all rows), the direction that tells the members
    from the rest rather than the one all latents share."""
    if not members.any(dim=1).all():
        raise ValueError("prototypes: an attribute has no member images")
    unit = F.normalize(latents, dim=1)
    weights = members.float() / members.sum(dim=1, keepdim=True)
    means = weights @ unit
    return F.normalize(means - unit.mean(dim=0) if centred else means, dim=1)


def brightness(x: torch.Tensor) -> torch.Tensor:
    """Mean pixel value per image."""
    return x.mean(dim=(1, 2, 3))


def class_medians(split: ImageSplit, label: str) -> torch.Tensor:
    """Median brightness of the training images of each class ``[K]``."""
    labels, values = split.labels[label], brightness(split.x)
    return torch.stack([values[labels == k].median() for k in range(int(labels.max()) + 1)])


@torch.no_grad()
def attribute_directions(
    model: CLEL, split: ImageSplit, label: str, centred: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class prototypes ``[K, d]`` and the bright-for-its-class prototype ``[d]`` (centred:
    see :func:`prototypes`)."""
    latents = model.latent_direction(split.x)
    labels = split.labels[label]
    classes = torch.arange(int(labels.max()) + 1)
    by_class = prototypes(latents, labels.unsqueeze(0) == classes.unsqueeze(1), centred)
    bright_images = brightness(split.x) > class_medians(split, label)[labels]
    bright = prototypes(latents, bright_images.unsqueeze(0), centred)[0]
    return by_class, bright


def guided_samples(
    model: CLEL, split: ImageSplit, label: str, settings: dict[str, Any]
) -> dict[str, torch.Tensor]:
    """Per class: ``per_row`` samples toward the class (``conditional``, ``[K, n, C, H, W]``)
    and toward the class and brightness together (``compositional``), and ``unguided`` samples
    ``[n, C, H, W]``, all from the same starts so that they differ only by the guidance.

    Settings: ``steps``, ``weight``, ``per_row``; ``centred`` (default false): centred
    prototypes (:func:`prototypes`); ``starts``: ``buffer`` (default; the first replay-buffer
    images) or ``uniform`` (U(0, 1) noise); ``prototype_images``: use only the first that many
    images of ``split`` for the directions (default all)."""
    model.eval()
    if settings.get("prototype_images"):
        n = int(settings["prototype_images"])
        split = ImageSplit(split.x[:n], {key: v[:n] for key, v in split.labels.items()})
    by_class, bright = attribute_directions(model, split, label, bool(settings.get("centred")))
    config = SGLDConfig(
        settings["steps"], model.sgld.step_size, model.sgld.noise_std, model.sgld.grad_clip
    )
    n = settings["per_row"]
    kind = settings.get("starts", "buffer")
    if kind == "buffer":
        starts = model.buffer.images[:n]
    elif kind == "uniform":
        starts = torch.rand_like(model.buffer.images[:n])
    else:
        raise ValueError(f"conditional.starts: unknown kind {kind!r}; known: buffer, uniform")
    weight = float(settings["weight"])
    rows: dict[str, list[torch.Tensor]] = {"conditional": [], "compositional": []}
    for direction in by_class:
        for name, dirs in (
            ("conditional", direction[None]),
            ("compositional", torch.stack([direction, bright])),
        ):
            energy = lambda x, d=dirs: model.guided_energy(x, d, weight)  # noqa: E731
            rows[name].append(sgld(energy, starts, config))
    out = {name: torch.stack(samples) for name, samples in rows.items()}
    out["unguided"] = sgld(model.sampling_energy, starts, config)
    return out


@torch.no_grad()
def score_guided(
    samples: dict[str, torch.Tensor],
    classifier: torch.nn.Module,
    medians: torch.Tensor,
    batch_size: int = 500,
) -> dict[str, Any]:
    """Per-class conditional accuracy and compositional joint success of :func:`guided_samples`
    under ``classifier`` (logits), with uniform and empirical (unguided) chance levels."""

    def predict(x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [classifier(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
        )

    conditional, compositional = samples["conditional"], samples["compositional"]
    classes, per_class = conditional.shape[:2]
    target = torch.arange(classes).repeat_interleave(per_class)
    hit = predict(conditional.flatten(0, 1)) == target
    comp = compositional.flatten(0, 1)
    joint = (predict(comp) == target) & (brightness(comp) > medians[target])
    free = samples["unguided"]
    free_class = predict(free)
    free_bright = brightness(free) > medians[free_class]
    per_class_rate = torch.stack([(free_class == k).float().mean() for k in range(classes)])
    joint_rate = torch.stack(
        [((free_class == k) & free_bright).float().mean() for k in range(classes)]
    )
    return {
        "classes": classes,
        "samples_per_class": per_class,
        "conditional_accuracy": hit.float().view(classes, per_class).mean(1).tolist(),
        "compositional_joint_success": joint.float().view(classes, per_class).mean(1).tolist(),
        "unguided_class_rate": per_class_rate.tolist(),
        "unguided_joint_rate": joint_rate.tolist(),
        "mean_conditional_accuracy": hit.float().mean().item(),
        "mean_compositional_joint_success": joint.float().mean().item(),
        "chance_conditional": 1.0 / classes,
        "chance_compositional": 0.5 / classes,
        "unguided_bright_rate": free_bright.float().mean().item(),
    }
