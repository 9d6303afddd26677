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


def clel_train_config(params: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """Training config of one image EBM (``model`` a key of ``clel.models``)."""
    clel, profile = params["clel"], clel_profile(params)
    assert profile is not None
    size = clel["sizes"][profile["size"]]
    downsamplings = clel["datasets"][dataset]["downsamplings"]
    model_cfg = dict(clel["models"][model])
    if "lr" in profile:
        model_cfg["optimizer"] = {**model_cfg["optimizer"], "lr": profile["lr"]}
    encoder_optimizer = model_cfg.pop("encoder_optimizer", None)
    arch = {"energy": {**size["energy"], "downsamplings": downsamplings}}
    if model_cfg["guidance"]:
        arch["energy"]["projection_dim"] = size["encoder"]["latent_dim"]
        arch["encoder"] = {**size["encoder"], "downsamplings": downsamplings}
    return {
        "dataset": dataset_config(params, dataset),
        "model": {
            "name": model,
            "arch": "image_ebm",
            **model_cfg,
            **({"optimizers": {"encoder": encoder_optimizer}} if encoder_optimizer else {}),
            "augment": clel["datasets"][dataset].get("augment", {}),
            "sgld": profile["sgld"],
            "replay_buffer": profile["replay_buffer"],
            "ema": profile["ema"],
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


def clel_evaluate_config(params: Mapping[str, Any], classifier: str, data: str) -> dict[str, Any]:
    """FID settings (for ``latentrepro evaluate``); the classifier and data paths fill in the
    own extractor, an ``inception`` extractor names its weights file in params."""
    profile = clel_profile(params)
    assert profile is not None
    extractor = dict(profile["extractor"])
    if extractor["kind"] == "classifier":
        extractor.update(checkpoint=classifier, data=data)
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
        if profile["fid"]["samples"] > buffer:
            problems.append(
                f"{where}.fid.samples: {profile['fid']['samples']} exceeds replay_buffer.size "
                f"{buffer} (evaluation samples are distinct buffer chains)"
            )
    if problems:
        raise ParamsError("invalid params.yaml:\n  " + "\n  ".join(problems))
