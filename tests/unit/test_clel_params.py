"""The clel section of params.yaml: resolution into job configs and cross-reference errors."""

import pytest

from latentrepro.clel_config import (
    check_clel_params,
    clel_evaluate_config,
    clel_runs,
    clel_train_config,
)
from latentrepro.config import REPO_ROOT, ParamsError, load_params

PARAMS = REPO_ROOT / "params.yaml"


def test_the_cpu_profile_runs_both_models_on_three_seeds_with_equal_budgets():
    params = load_params(PARAMS, {"profile": "cpu"})
    runs = clel_runs(params)
    assert {(r.model, r.seed) for r in runs} == {(m, s) for m in ("ebm", "clel") for s in (0, 1, 2)}
    ebm, clel = (clel_train_config(params, "digits", m) for m in ("ebm", "clel"))
    assert ebm["train"] == clel["train"] and ebm["model"]["sgld"] == clel["model"]["sgld"]
    assert "encoder" not in ebm["arch"] and "projection_dim" not in ebm["arch"]["energy"]
    assert clel["arch"]["energy"]["projection_dim"] == clel["arch"]["encoder"]["latent_dim"]
    assert clel["model"]["optimizers"]["encoder"]["name"] == "sgd"
    assert ebm["model"]["optimizer"]["lr"] == params["clel"]["profiles"]["cpu"]["lr"]


def test_the_own_extractor_gets_the_classifier_and_data_paths():
    params = load_params(PARAMS)
    settings = clel_evaluate_config(params, "c.pt", "data/x")["evaluate"]
    assert settings["extractor"] == {"kind": "classifier", "checkpoint": "c.pt", "data": "data/x"}


def test_a_replay_buffer_smaller_than_the_batch_is_named():
    params = load_params(PARAMS, {"clel.profiles.smoke.replay_buffer.size": 8})
    with pytest.raises(ParamsError, match=r"clel.profiles.smoke.replay_buffer.size: 8 is smaller"):
        check_clel_params(params)


def test_clel_models_need_their_coupling_settings():
    with pytest.raises(ParamsError, match="beta"):
        load_params(
            PARAMS,
            {
                "clel.models.clel": {
                    "guidance": True,
                    "energy_penalty": 1.0,
                    "optimizer": {"name": "adam", "lr": 0.1},
                }
            },
        )


def test_the_paper_profile_is_the_authors_budget_schedules_and_fid_protocol():
    params = load_params(PARAMS, {"profile": "paper"})
    config = clel_train_config(params, "cifar10", "clel")
    assert config["train"]["iterations"] == 100_000 and "epochs" not in config["train"]
    model = config["model"]
    assert model["optimizer"]["warmup_steps"] == 2000
    assert model["optimizers"]["encoder"]["anneal"] == "cosine"
    assert model["ema"] == {"decay": 0.5 ** (64 / 20000), "start": 312}
    assert model["sgld"]["grad_clip"] == model["sgld"]["step_size"] == 100.0
    assert model["replay_buffer"]["augment"] and model["dequantize"]
    assert config["arch"]["energy"]["normalize"]["mean"] == [0.4914, 0.4822, 0.4465]
    settings = clel_evaluate_config(params, "c.pt", "data/x")["evaluate"]
    assert settings["fid"] == {
        "protocol": "authors", "samples": 50_000, "rounds": 10, "batch_size": 512, "sgld_steps": 60,
    }  # fmt: skip
    assert settings["extractor"]["weights"].endswith(
        "weights/inception_fid/weights-inception-2015-12-05-6726825d.pth"
    )
    assert params["clel"]["datasets"]["cifar10"]["reference_split"] == "train+valid"


def test_epochs_and_iterations_together_are_a_params_error():
    with pytest.raises(ParamsError, match=r"clel.profiles.paper.train"):
        load_params(
            PARAMS, {"clel.profiles.paper.train": {"epochs": 2, "iterations": 5, "batch_size": 4}}
        )


def test_the_authors_protocol_needs_its_rounds():
    fid = {"protocol": "authors", "samples": 100, "batch_size": 10, "sgld_steps": 1}
    with pytest.raises(ParamsError, match="rounds"):
        load_params(PARAMS, {"clel.profiles.smoke.fid": fid})


def test_the_fashion_profile_overrides_beta_for_clel_only_and_keeps_budgets_equal():
    params = load_params(PARAMS, {"profile": "fashion_cpu"})
    assert {(r.dataset, r.seed) for r in clel_runs(params)} == {
        ("fashion_mnist", s) for s in (0, 1, 2)
    }
    ebm, clel = (clel_train_config(params, "fashion_mnist", m) for m in ("ebm", "clel"))
    assert clel["model"]["beta"] == 1.0 and "beta" not in ebm["model"]
    assert params["clel"]["models"]["clel"]["beta"] == 0.01  # the paper's value stays
    assert ebm["train"] == clel["train"] and ebm["model"]["sgld"] == clel["model"]["sgld"]
    assert ebm["arch"]["energy"]["normalize"] == {"mean": [0.2858], "std": [0.3529]}
    assert clel["model"]["ema"] == {"decay": 0.5 ** (64 / 3200), "start": 50}
