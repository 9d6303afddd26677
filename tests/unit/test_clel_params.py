"""CLEL as ordinary models and experiments: resolution of image EBM jobs and the checks that
name a bad cross-reference (replay buffer, extractor, scorer, per-model settings)."""

from pathlib import Path

import pytest

from latentrepro.cli import with_extractor
from latentrepro.config import (
    REPO_ROOT,
    ParamsError,
    evaluate_config,
    evaluate_split,
    family_runs,
    load_params,
    sample_config,
    sample_runs,
    sample_tool,
    train_config,
    trained_run,
)
from latentrepro.models.image.settings import ema_schedule, image_ebm_parts

PARAMS = REPO_ROOT / "params.yaml"


def parts(params, dataset, model):
    config = train_config(params, dataset, model)
    return config, *image_ebm_parts(config)


def test_the_cpu_profile_runs_both_models_on_three_seeds_with_equal_budgets():
    params = load_params(PARAMS, {"profile": "cpu"})
    runs = family_runs(params, "image_ebm")
    assert {(r.model, r.seed) for r in runs} == {(m, s) for m in ("ebm", "clel") for s in (0, 1, 2)}
    (ebm, ebm_arch, ebm_model), (clel, clel_arch, clel_model) = (
        parts(params, "digits", m) for m in ("ebm", "clel")
    )
    assert ebm["train"] == clel["train"] and ebm_model["sgld"] == clel_model["sgld"]
    assert "epochs" not in ebm["train"]  # the experiment's iterations replace the epochs
    assert "encoder" not in ebm_arch and "projection_dim" not in ebm_arch["energy"]
    assert clel_arch["energy"]["projection_dim"] == clel_arch["encoder"]["latent_dim"]
    # both networks get the same Normalize stem and stride-2 stages
    for key in ("normalize", "downsamplings"):
        assert clel_arch["energy"][key] == clel_arch["encoder"][key] == ebm_arch["energy"][key]
    assert clel_model["optimizers"]["encoder"]["name"] == "sgd"
    assert ebm_model["optimizer"]["lr"] == clel_model["optimizer"]["lr"]
    # the classifier is trained once (seed 0) and is what both models' FID and the guided
    # samples are measured with
    assert trained_run(params, "digits", "fid_classifier").seed == 0
    assert sample_tool(params, "conditional", "digits", "clel") == trained_run(
        params, "digits", "fid_classifier"
    )
    assert [r.model for r in sample_runs(params, "conditional")] == ["clel"] * 3


@pytest.mark.parametrize(
    ("halflife", "batch", "expected"),
    [
        (20000, 64, {"decay": 0.5 ** (64 / 20000), "start": 312}),
        (0, 64, {"decay": 0.0, "start": 0}),
    ],
)
def test_the_ema_half_life_in_images_is_a_decay_per_step(halflife, batch, expected):
    # after halflife/batch steps the old weights weigh one half: decay^steps = 0.5
    schedule = ema_schedule(halflife, batch)
    assert schedule == pytest.approx(expected)
    if halflife:
        assert schedule["decay"] ** (halflife / batch) == pytest.approx(0.5)


def test_the_extractor_is_located_by_the_evaluate_command(tmp_path):
    classifier = {"fid": {}, "extractor": {"kind": "classifier", "model": "fid_classifier"}}
    located = with_extractor(classifier, "c.pt", Path("data/x"))["extractor"]
    assert located == {"kind": "classifier", "model": "fid_classifier", "checkpoint": "c.pt",
                       "data": "data/x"}  # fmt: skip
    inception = with_extractor({"extractor": {"kind": "inception"}}, "w", Path("d"))
    assert inception["extractor"]["weights"] == "w/weights-inception-2015-12-05-6726825d.pth"
    with pytest.raises(ValueError, match="needs --extractor"):
        with_extractor(classifier, None, Path("d"))
    assert with_extractor({"batch_size": 4}, None, Path("d")) == {"batch_size": 4}


def test_each_family_gets_its_own_slice_of_the_estimator_settings():
    params = load_params(PARAMS)
    image = evaluate_config(params, "digits", "clel")["evaluate"]
    assert set(image) == {"fid", "extractor"}
    assert set(evaluate_config(params, "digits", "fid_classifier")["evaluate"]) == {"batch_size"}
    text = evaluate_config(params, "synthetic_text", "vae")["evaluate"]
    assert "generation" not in text and "fid" not in text and text["iw_samples"] > 0
    symbols = evaluate_config(params, "synthetic_text", "ldebm")["evaluate"]
    assert symbols["generation"] == params["profiles"]["smoke"]["evaluate"]["generation"]
    assert evaluate_config(params, "grid16", "ldebm_2d")["evaluate"] == {}


def test_a_replay_buffer_smaller_than_the_batch_is_named():
    with pytest.raises(
        ParamsError, match=r"experiments.clel \(model 'ebm'\): replay_buffer.size 8"
    ):
        load_params(PARAMS, {"profiles.smoke.experiments.clel.model.replay_buffer.size": 8})


def test_guided_models_need_their_coupling_settings():
    clel = {
        "arch": "image_ebm", "guidance": True, "energy_penalty": 1.0, "ema_halflife": 0,
        "optimizer": {"name": "adam", "lr": 0.1},
        "sgld": {"steps": 1, "step_size": 1.0, "noise_std": 0.01},
        "replay_buffer": {"size": 100, "reinit_prob": 0.05},
    }  # fmt: skip
    with pytest.raises(ParamsError, match=r"models\.clel: 'beta' is a required property"):
        load_params(PARAMS, {"models.clel": clel})


def test_an_experiments_model_settings_are_checked_as_models_are():
    with pytest.raises(
        ParamsError, match=r"experiments.clel \(model 'clel'\): sgld: unknown key 'stpes'"
    ):
        load_params(PARAMS, {"profiles.smoke.experiments.clel.model.sgld": {"stpes": 3}})
    with pytest.raises(ParamsError, match=r"per_model: 'vae' is not a model of the experiment"):
        load_params(PARAMS, {"profiles.smoke.experiments.clel.per_model": {"vae": {}}})


def test_the_extractor_and_the_scorer_must_be_classifier_runs_of_the_dataset():
    with pytest.raises(ParamsError, match=r"extractor\.model: 'vae' is not an image_classifier"):
        load_params(
            PARAMS,
            {"profiles.smoke.experiments.clel.evaluate.extractor": {"kind": "classifier", "model": "vae"}},
        )  # fmt: skip
    with pytest.raises(
        ParamsError, match=r"samples\.conditional\.scorer\): no experiment of the profile trains"
    ):
        load_params(
            PARAMS,
            {"profiles.smoke.experiments.fid_classifier.datasets": ["fashion_mnist"]},
        )
    with pytest.raises(ParamsError, match=r"'ebm' is not a guided image_ebm model"):
        load_params(PARAMS, {"samples.conditional.models": ["ebm", "clel"]})


def test_an_experiments_own_sample_settings_need_a_kind_that_draws_from_it():
    with pytest.raises(ParamsError, match=r"samples\.interpolation does not draw from experiment"):
        load_params(PARAMS, {"profiles.smoke.experiments.clel.samples.interpolation": {"pairs": 2}})
    with pytest.raises(
        ParamsError,
        match=r"experiments\.clel\.samples\.conditional\.steps: 0 is less than the minimum",
    ):
        load_params(PARAMS, {"profiles.smoke.experiments.clel.samples.conditional.steps": 0})


def test_one_job_in_two_experiments_must_get_the_same_model_settings():
    second = {"datasets": ["digits"], "models": ["fid_classifier"], "model": {"optimizer": {"lr": 0.5}},
              "train": {"epochs": 4, "batch_size": 64, "max_batches_per_epoch": None},
              "evaluate": {"batch_size": 250}}  # fmt: skip
    with pytest.raises(
        ParamsError, match="experiments 'fid_classifier' and 'again' with different model"
    ):
        load_params(PARAMS, {"profiles.smoke.experiments.again": second})


def test_the_paper_profile_is_the_authors_budget_schedules_and_fid_protocol():
    # hankook/CLEL@ccccf50 configs/cifar10.yaml, train.py ~39-40, test_fid.py ~46-57
    params = load_params(PARAMS, {"profile": "paper"})
    config, arch, model = parts(params, "cifar10", "clel")
    assert config["train"]["iterations"] == 100_000 and "epochs" not in config["train"]
    assert model["optimizer"]["warmup_steps"] == 2000
    assert model["optimizers"]["encoder"]["anneal"] == "cosine"
    assert model["ema"] == {"decay": 0.5 ** (64 / 20000), "start": 312}
    assert model["sgld"]["grad_clip"] == model["sgld"]["step_size"] == 100.0
    assert model["replay_buffer"]["augment"] and model["dequantize"]
    assert arch["energy"]["normalize"]["mean"] == [0.4914, 0.4822, 0.4465]
    settings = evaluate_config(params, "cifar10", "clel")["evaluate"]
    assert settings["fid"] == {
        "protocol": "authors", "samples": 50_000, "rounds": 10, "batch_size": 512, "sgld_steps": 60,
    }  # fmt: skip
    assert settings["extractor"] == {"kind": "inception"}
    assert evaluate_split(params, "cifar10", "clel") == "train+valid"  # all 50k training images
    assert evaluate_split(params, "cifar10", "fid_classifier") == "test"


def test_epochs_and_iterations_together_are_a_params_error():
    with pytest.raises(ParamsError, match=r"profiles.paper.experiments.clel.train"):
        load_params(PARAMS, {"profiles.paper.experiments.clel.train.epochs": 2})


def test_the_authors_protocol_needs_its_rounds():
    fid = {"protocol": "authors", "samples": 100, "batch_size": 10, "sgld_steps": 1}
    with pytest.raises(ParamsError, match="rounds"):
        load_params(PARAMS, {"profiles.smoke.experiments.clel.evaluate.fid": fid})


def test_the_fashion_profile_overrides_beta_for_clel_only_and_keeps_budgets_equal():
    params = load_params(PARAMS, {"profile": "fashion_cpu"})
    assert {(r.dataset, r.seed) for r in family_runs(params, "image_ebm")} == {
        ("fashion_mnist", s) for s in (0, 1, 2)
    }
    assert [r.seed for r in family_runs(params, "image_classifier")] == [0]
    (ebm, _, ebm_model), (clel, _, clel_model) = (
        parts(params, "fashion_mnist", m) for m in ("ebm", "clel")
    )
    assert clel_model["beta"] == 1.0 and "beta" not in ebm_model
    assert params["models"]["clel"]["beta"] == 0.01  # the paper's value stays
    assert ebm["train"] == clel["train"] and ebm_model["sgld"] == clel_model["sgld"]
    assert clel_model["ema"] == {"decay": 0.5 ** (64 / 3200), "start": 50}
    settings = sample_config(params, "conditional", "fashion_mnist", "clel")
    # the paper's settings with the experiment's own over them; the runs and the scorer are
    # the job's inputs, not its settings
    assert settings == {"steps": 60, "weight": 100.0, "per_row": 50, "centred": True,
                        "starts": "uniform"}  # fmt: skip
