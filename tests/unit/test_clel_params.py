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
