"""Resolution of params.yaml's ``clel`` section into per-job configurations (paper P3).

The section is separate from the generic text-VAE grid: image EBMs, the FID classifier and the
conditional-sampling figure form their own experiment (workflow/rules/clel.smk). As with
:mod:`latentrepro.config`, each resolver returns exactly what one job depends on, so Snakemake
reruns only the affected jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentrepro.config import Run, active_profile, dataset_config


def clel_profile(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``clel.profiles`` entry of the active profile, or None when it runs no CLEL jobs."""
    return params.get("clel", {}).get("profiles", {}).get(params["profile"])


def clel_runs(params: Mapping[str, Any]) -> list[Run]:
    """Every (dataset, model, seed) of the active CLEL profile, sorted."""
    profile = clel_profile(params)
    if profile is None:
        return []
    return sorted(
        Run(dataset, model, seed)
        for dataset in profile["datasets"]
        for model in profile["models"]
        for seed in profile["seeds"]
    )


def run_paths(runs: list[Run], pattern: str) -> list[str]:
    """``pattern`` formatted with the dataset, model and seed of every run."""
    return [pattern.format(dataset=r.dataset, model=r.model, seed=r.seed) for r in runs]


#: Where the workflow puts the FID Inception weights (registry entry ``inception_fid``).
INCEPTION_DIR = "weights/inception_fid"


def ema_schedule(halflife: float, batch_size: int) -> dict[str, float]:
    """EMA decay and copy period of a half-life in training images (hankook/CLEL@ccccf50
    ``train.py`` ~39-40: decay 0.5^(batch/halflife), averaging after halflife/batch steps)."""
    if halflife == 0:
        return {"decay": 0.0, "start": 0}
    return {"decay": 0.5 ** (batch_size / halflife), "start": int(halflife / batch_size)}


def clel_train_config(params: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """Training config of one image EBM (``model`` a key of ``clel.models``)."""
    clel, profile = params["clel"], clel_profile(params)
    assert profile is not None
    size, data = clel["sizes"][profile["size"]], clel["datasets"][dataset]
    stem = {"downsamplings": data["downsamplings"], "normalize": data.get("normalize")}
    model_cfg = dict(clel["models"][model])
    overrides = {key: profile[key] for key in ("lr", "warmup_steps") if key in profile}
    model_cfg["optimizer"] = {**model_cfg["optimizer"], **overrides}
    encoder_optimizer = model_cfg.pop("encoder_optimizer", None)
    arch = {"energy": {**size["energy"], **stem}}
    if model_cfg["guidance"] and "beta" in profile:
        model_cfg["beta"] = profile["beta"]
    if model_cfg["guidance"]:
        arch["energy"]["projection_dim"] = size["encoder"]["latent_dim"]
        arch["encoder"] = {**size["encoder"], **stem}
    return {
        "dataset": dataset_config(params, dataset),
        "model": {
            "name": model,
            "arch": "image_ebm",
            **model_cfg,
            **({"optimizers": {"encoder": encoder_optimizer}} if encoder_optimizer else {}),
            "augment": data.get("augment", {}),
            "sgld": profile["sgld"],
            "replay_buffer": profile["replay_buffer"],
            "ema": ema_schedule(profile["ema_halflife"], profile["train"]["batch_size"]),
        },
        "arch": arch,
        "train": profile["train"],
        "device": active_profile(params)["device"],
    }


def classifier_train_config(params: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """Training config of the FID feature classifier of ``dataset``."""
    clel, profile = params["clel"], clel_profile(params)
    assert profile is not None
    classifier = dict(clel["classifier"])
    optimizer = classifier.pop("optimizer")
    return {
        "dataset": dataset_config(params, dataset),
        "model": {"name": "fid_classifier", "arch": "image_classifier", "optimizer": optimizer},
        "arch": {
            **classifier,
            "label": clel["datasets"][dataset]["label"],
            "downsamplings": clel["datasets"][dataset]["downsamplings"],
        },
        "train": profile["classifier_train"],
        "device": active_profile(params)["device"],
    }


def inception_weights(params: Mapping[str, Any]) -> str:
    """Path of the fetched FID Inception weights file."""
    from latentrepro.data.registry import get_dataset

    (file,) = get_dataset("inception_fid").files
    return f"{params['data']['root']}/{INCEPTION_DIR}/{file.path}"


def clel_evaluate_config(params: Mapping[str, Any], classifier: str, data: str) -> dict[str, Any]:
    """FID settings (for ``latentrepro evaluate``); the classifier and data paths fill in the
    own extractor, the fetched weights file the ``inception`` one."""
    profile = clel_profile(params)
    assert profile is not None
    extractor = dict(profile["extractor"])
    if extractor["kind"] == "classifier":
        extractor.update(checkpoint=classifier, data=data)
    else:
        extractor["weights"] = inception_weights(params)
    return {
        "evaluate": {"fid": profile["fid"], "extractor": extractor},
        "device": active_profile(params)["device"],
    }


def classifier_evaluate_config(params: Mapping[str, Any]) -> dict[str, Any]:
    profile = clel_profile(params)
    assert profile is not None
    return {
        "evaluate": {"batch_size": profile["fid"]["batch_size"]},
        "device": active_profile(params)["device"],
    }


def check_clel_params(params: Mapping[str, Any]) -> None:
    """Cross-references of the ``clel`` section the schema cannot express; raises
    :class:`~latentrepro.config.ParamsError` naming every offending key."""
    from latentrepro.config import ParamsError
    from latentrepro.data.registry import REGISTRY

    clel = params.get("clel")
    if clel is None:
        return
    problems = []
    for pname, profile in clel["profiles"].items():
        where = f"clel.profiles.{pname}"
        for dataset in profile["datasets"]:
            if dataset not in clel["datasets"]:
                problems.append(f"{where}.datasets: {dataset!r} has no entry under clel.datasets")
            if dataset not in params["datasets"]:
                problems.append(f"{where}.datasets: {dataset!r} has no entry under datasets")
            if dataset not in REGISTRY or REGISTRY[dataset].kind != "images":
                problems.append(f"{where}.datasets: {dataset!r} is not a registered image dataset")
        for model in profile["models"]:
            if model not in clel["models"]:
                problems.append(f"{where}.models: {model!r} has no entry under clel.models")
        if profile["size"] not in clel["sizes"]:
            problems.append(f"{where}.size: {profile['size']!r} has no entry under clel.sizes")
        buffer, batch = profile["replay_buffer"]["size"], profile["train"]["batch_size"]
        if buffer < batch:
            problems.append(
                f"{where}.replay_buffer.size: {buffer} is smaller than the batch "
                f"(train.batch_size {batch}); each step draws a batch of distinct entries"
            )
        for dataset in profile["datasets"]:
            stats = clel["datasets"].get(dataset, {}).get("normalize")
            if stats and len(stats["mean"]) != len(stats["std"]):
                problems.append(
                    f"clel.datasets.{dataset}.normalize: {len(stats['mean'])} means but "
                    f"{len(stats['std'])} stds"
                )
        if profile["fid"]["protocol"] == "replay" and profile["fid"]["samples"] > buffer:
            problems.append(
                f"{where}.fid.samples: {profile['fid']['samples']} exceeds replay_buffer.size "
                f"{buffer} (evaluation samples are distinct buffer chains)"
            )
    if problems:
        raise ParamsError("invalid params.yaml:\n  " + "\n  ".join(problems))
