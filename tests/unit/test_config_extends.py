"""Profiles and models that extend another: resolution, its errors, and show-config."""

import pytest
import yaml

from latentrepro.cli import main
from latentrepro.config import REPO_ROOT, ParamsError, load_params, merge_over, resolve_extends

PROFILES = {
    "base": {
        "device": "cpu",
        "seeds": [0],
        "train": {"epochs": 4, "batch_size": 32},
        "evaluate": {"iw_samples": 50, "generation": {"samples_train": 200, "decode": "greedy"}},
        "experiments": {
            "a": {"datasets": ["x"], "models": ["m"]},
            "b": {"datasets": ["y"], "models": ["m"]},
        },
    },
    "longer": {"extends": "base", "train": {"epochs": 40}},
    "grandchild": {
        "extends": "longer",
        "evaluate": {"generation": {"samples_train": 10}},
        "experiments": {"b": {"datasets": ["z"], "models": ["m"]}},
    },
}


def test_a_child_is_its_parent_with_its_own_keys_over_it():
    resolved = resolve_extends(PROFILES, "profiles")
    assert resolved["base"] == PROFILES["base"]
    assert resolved["longer"] == {**PROFILES["base"], "train": {"epochs": 40, "batch_size": 32}}
    grandchild = resolved["grandchild"]
    assert grandchild["train"] == {"epochs": 40, "batch_size": 32}  # through the chain
    assert grandchild["evaluate"] == {
        "iw_samples": 50,
        "generation": {"samples_train": 10, "decode": "greedy"},
    }
    # a profile's experiments are its own grid: replaced whole, not merged
    assert grandchild["experiments"] == {"b": {"datasets": ["z"], "models": ["m"]}}
    assert "extends" not in grandchild
    assert PROFILES["longer"]["extends"] == "base"  # the input is left as it was


def test_a_section_naming_another_component_replaces_the_parents():
    vae = {"regulariser": {"name": "kl", "schedule": {"name": "linear", "warmup": 0.1}}}
    beta = {"regulariser": {"schedule": {"name": "constant", "max": 0.4}}}
    free_bits = {"regulariser": {"name": "free_bits", "lambda": 4.0}}
    chunk = {"regulariser": {"batch_chunk": 1}}
    assert merge_over(vae, beta) == {
        "regulariser": {"name": "kl", "schedule": {"name": "constant", "max": 0.4}}
    }
    assert merge_over(vae, free_bits) == free_bits
    assert merge_over({"regulariser": {"name": "density_gap", "batch_chunk": 32}}, chunk) == {
        "regulariser": {"name": "density_gap", "batch_chunk": 1}
    }


def test_an_unknown_parent_and_a_circle_are_named():
    with pytest.raises(ParamsError, match=r"profiles.longer.extends: 'nothing' is not one of"):
        resolve_extends({"longer": {"extends": "nothing"}}, "profiles")
    with pytest.raises(ParamsError, match=r"profiles.b.extends: a circle \(a -> b -> a\)"):
        resolve_extends({"a": {"extends": "b"}, "b": {"extends": "a"}}, "profiles")


def test_params_yaml_profiles_resolve_to_their_written_values():
    """Values as params.yaml wrote them before profiles extended one another."""
    params = load_params(REPO_ROOT / "params.yaml")
    profiles, models = params["profiles"], params["models"]
    assert profiles["dgvae_cpu_ablation"]["train"] == {
        "epochs": 1, "batch_size": 32, "max_batches_per_epoch": 600, "max_valid_batches": 10
    }  # fmt: skip
    assert profiles["dgvae_cpu_ablation"]["seeds"] == [0]
    assert set(profiles["dgvae_cpu_ablation"]["experiments"]) == {"dgvae_ablation", "dgvae_density"}
    assert profiles["ldebm_cpu_dd_long"]["train"] == {
        "epochs": 5, "batch_size": 32, "max_batches_per_epoch": 400
    }  # fmt: skip
    assert profiles["ldebm_cpu_dd"]["evaluate"] == {
        "iw_samples": 5, "iw_chunk": 5, "batch_size": 100, "mi_aggregate": "split", "au_threshold": 0.01
    }  # fmt: skip
    assert models["dg_vae_b4"]["regulariser"] == {
        "name": "density_gap", "batch_chunk": 4, "samples": 32, "schedule": {"name": "linear", "warmup": 0.1}
    }  # fmt: skip
    assert models["beta_vae"]["optimizer"] == {
        "name": "sgd",
        "lr": 0.5,
        "momentum": 0.0,
        "clip_norm": 5.0,
    }
    assert models["ldebm_ptb_cpu"]["prior"]["energy"] == {
        "hidden": 200,
        "blocks": 2,
        "spectral_norm": False,
    }
    assert models["ldebm_ptb_cpu"]["prior"]["symbols"] == 20


def test_a_misspelled_key_of_a_child_is_reported_at_the_child(tmp_path):
    raw = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    raw["profiles"]["ldebm_cpu_dd_long"]["train"]["epoks"] = 3
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParamsError, match=r"profiles.ldebm_cpu_dd_long.train: unknown key 'epoks'"):
        load_params(path)


def test_show_config_prints_every_job_of_a_profile(capsys):
    assert main(["show-config", "dgvae_cpu_ablation"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["profile"] == "dgvae_cpu_ablation"
    jobs = shown["jobs"]
    # 6 ablation models + 2 density models on short Yelp 10k, one seed; train and evaluate
    # each, and the two reports that read them
    assert len([key for key in jobs if key.startswith(("train ", "evaluate "))]) == 16
    assert {key for key in jobs if key.startswith("render ")} == {
        "render dgvae_ablation_b", "render dgvae_density",
    }  # fmt: skip
    assert jobs["render dgvae_density"]["experiments"]["dgvae_density"]["models"] == [
        "vae_2d", "dg_vae_2d",
    ]  # fmt: skip
    job = jobs["train short_yelp_10k/dg_vae_b2/seed0"]
    assert job["model"]["regulariser"]["batch_chunk"] == 2 and job["train"]["epochs"] == 1
    assert jobs["evaluate short_yelp_10k/dg_vae/seed0"]["evaluate"]["iw_samples"] == 2
