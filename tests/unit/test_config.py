"""params.yaml validation and resolution."""

import copy

import pytest
import yaml

from latentrepro.config import (
    REPO_ROOT,
    ParamsError,
    config_hash,
    load_params,
    runs,
    train_config,
    validate_params,
)


@pytest.fixture
def params():
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def test_shipped_params_are_valid(params):
    validated = validate_params(params)
    assert validated["profile"] == "smoke"
    assert runs(validated), "the smoke profile trains at least one run"


def test_misspelled_nested_key_is_named(params):
    params["profiles"]["smoke"]["train"]["epochz"] = 3
    with pytest.raises(ParamsError) as err:
        validate_params(params)
    message = str(err.value)
    assert "profiles.smoke.train" in message
    assert "'epochz'" in message


def test_wrong_type_is_named(params):
    params["profiles"]["smoke"]["train"]["epochs"] = "three"
    with pytest.raises(
        ParamsError, match=r"profiles\.smoke\.train\.epochs: 'three' is not of type 'integer'"
    ):
        validate_params(params)


def test_every_problem_is_reported_at_once(params):
    params["data"]["mirorr"] = "/x"
    params["models"]["vae"]["optimizer"]["lr"] = -1
    with pytest.raises(ParamsError) as err:
        validate_params(params)
    assert "'mirorr'" in str(err.value)
    assert "models.vae.optimizer.lr" in str(err.value)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda p: p.update(profile="nope"), "profile: 'nope' is not one of profiles"),
        (
            lambda p: p["profiles"]["smoke"]["experiments"]["text_vae"]["models"].append("ghost"),
            "'ghost' has no entry under models",
        ),
        (
            lambda p: p["archs"]["lstm_vae"].pop("synthetic_text"),
            "needs archs.lstm_vae.synthetic_text",
        ),
    ],
)
def test_cross_references_are_checked(params, edit, needle):
    edit(params)
    with pytest.raises(ParamsError, match=needle):
        validate_params(params)


def test_overrides_use_dotted_keys(tmp_path, params):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    loaded = load_params(path, {"profiles.smoke.train.epochs": 7})
    assert loaded["profiles"]["smoke"]["train"]["epochs"] == 7
    with pytest.raises(ParamsError, match="'nowhere' is not a section"):
        load_params(path, {"nowhere.epochs": 7})


def test_train_config_depends_only_on_its_own_model(params):
    params["models"]["other"] = copy.deepcopy(params["models"]["vae"])
    before = train_config(validate_params(params), "synthetic_text", "vae")
    params["models"]["other"]["optimizer"]["lr"] = 0.01
    params["profiles"]["smoke"]["evaluate"]["iw_samples"] = 7
    after = train_config(validate_params(params), "synthetic_text", "vae")
    assert before == after
    params["models"]["vae"]["optimizer"]["lr"] = 0.01
    assert train_config(validate_params(params), "synthetic_text", "vae") != before


def test_config_hash_ignores_key_order():
    assert config_hash({"a": 1, "b": {"c": 2, "d": 3}}) == config_hash(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_runs_cover_the_grid_without_repeats(params):
    experiments = params["profiles"]["smoke"]["experiments"]
    params["profiles"]["smoke"]["experiments"] = {"text_vae": experiments["text_vae"]}
    params["profiles"]["smoke"]["seeds"] = [0, 1]
    params["profiles"]["smoke"]["experiments"] = {
        "text_vae": {"datasets": ["synthetic_text"], "models": ["vae"]}
    }
    params["profiles"]["smoke"]["experiments"]["again"] = {
        "datasets": ["synthetic_text"],
        "models": ["vae"],
    }
    grid = runs(validate_params(params))
    assert [(r.dataset, r.model, r.seed) for r in grid] == [
        ("synthetic_text", "vae", 0),
        ("synthetic_text", "vae", 1),
    ]


# --config overrides, as Snakemake hands them over: nested scalars are strings.
def test_command_line_strings_are_coerced_to_the_schema_types(params):
    overrides = {
        "profiles": {
            "smoke": {
                "train": {"epochs": "60", "max_batches_per_epoch": "null"},
                "seeds": ["0", "3"],
                "evaluate": {"au_threshold": "0.05", "mi_aggregate": "he_batches"},
            }
        },
        "data": {"mirror": "null", "root": "2024"},
    }
    smoke = validate_params(params, overrides=overrides)["profiles"]["smoke"]
    assert smoke["train"]["epochs"] == 60 and smoke["train"]["max_batches_per_epoch"] is None
    assert smoke["train"]["batch_size"] == 32, "an override replaces only the keys it names"
    assert smoke["seeds"] == [0, 3]
    assert smoke["evaluate"]["au_threshold"] == 0.05
    assert smoke["evaluate"]["mi_aggregate"] == "he_batches"
    validated = validate_params(params, overrides=overrides)
    assert validated["data"] == {"mirror": None, "root": "2024"}, "a string key stays a string"


def test_a_bad_override_is_blamed_on_the_command_line(params):
    with pytest.raises(ParamsError) as err:
        validate_params(params, overrides={"profiles": {"smoke": {"train": {"epochs": "six"}}}})
    message = str(err.value)
    assert "invalid params.yaml with --config overrides" in message
    assert "profiles.smoke.train.epochs: 'six' is not of type 'integer' (from --config)" in message

    with pytest.raises(ParamsError, match=r"unknown key 'epochz'.* \(from --config\)"):
        validate_params(params, overrides={"profiles": {"smoke": {"train": {"epochz": "6"}}}})


def test_a_bad_file_value_is_not_blamed_on_an_override_next_to_it(params):
    params["profiles"]["smoke"]["train"]["batch_size"] = "big"
    with pytest.raises(ParamsError) as err:
        validate_params(params, overrides={"profiles": {"smoke": {"train": {"epochs": "6"}}}})
    (line,) = [p for p in str(err.value).splitlines() if "batch_size" in p]
    assert "'big' is not of type 'integer'" in line and "--config" not in line


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_naming_the_key(params, value):
    # NaN compares false with every schema bound, and inf passes every lower bound.
    params["models"]["vae"]["optimizer"]["lr"] = value
    params["models"]["lebm_2d"]["optimizer"]["betas"] = [0.5, value]
    with pytest.raises(ParamsError) as err:
        validate_params(params)
    lines = str(err.value).splitlines()[1:]
    # Each key once, with its value; the schema's own message where a bound caught it.
    assert sorted(line.split(":")[0].strip() for line in lines) == [
        "models.lebm_2d.optimizer.betas.1",
        "models.vae.optimizer.lr",
    ]
    assert all(f": {value} " in line for line in lines)
    if value != value:  # NaN: no schema bound catches it
        assert all(line.endswith("is not a finite number") for line in lines)


def test_a_non_finite_override_is_refused(tmp_path, params):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match=r"profiles\.smoke\.evaluate\.au_threshold: inf"):
        load_params(path, {"profiles.smoke.evaluate.au_threshold": yaml.safe_load(".inf")})
