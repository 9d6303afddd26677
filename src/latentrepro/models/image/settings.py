"""From an image EBM's resolved training config to its constructors' arguments.

params.yaml writes an image EBM as one ``archs.image_ebm.<dataset>`` entry (the Normalize stem,
the stride-2 stages, the energy network, the encoder, the augmentation) and one model entry
(losses, sampler, buffer, optimisers, EMA half-life). :func:`image_ebm_parts` puts them in the
shape :class:`~latentrepro.models.image.ImageEBM` and :class:`~latentrepro.models.image.CLEL`
take: both networks get the stem, a guided model's energy network gets the projection g onto
the encoder's latent, and the EMA half-life in images becomes a decay per step.
"""

from __future__ import annotations

from typing import Any


def ema_schedule(halflife: float, batch_size: int) -> dict[str, float]:
    """EMA decay and copy period of a half-life in training images (hankook/CLEL@ccccf50
    ``train.py`` ~39-40: decay 0.5^(batch/halflife), averaging after halflife/batch steps)."""
    if halflife == 0:
        return {"decay": 0.0, "start": 0}
    return {"decay": 0.5 ** (batch_size / halflife), "start": int(halflife / batch_size)}


def image_ebm_parts(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(arch, model)`` for the image EBM constructors from a resolved training config."""
    settings, model = config["arch"], dict(config["model"])
    stem = {"downsamplings": settings["downsamplings"], "normalize": settings.get("normalize")}
    arch = {"energy": {**settings["energy"], **stem}}
    if model["guidance"]:
        arch["energy"]["projection_dim"] = settings["encoder"]["latent_dim"]
        arch["encoder"] = {**settings["encoder"], **stem}
    model["augment"] = settings.get("augment", {})
    model["ema"] = ema_schedule(model.pop("ema_halflife"), config["train"]["batch_size"])
    return arch, model
