"""params.yaml validation of DG-VAE's settings: each bad value is named at validation time."""

import pytest
import yaml

from latentrepro.config import REPO_ROOT, ParamsError, runs, validate_params


@pytest.fixture
def params():
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def test_batch_chunk_must_divide_the_batch_size_of_every_profile_using_it(params):
    params["profiles"]["smoke"]["train"]["batch_size"] = 30  # 1 divides it; 4 and 32 do not
    with pytest.raises(ParamsError) as err:
        validate_params(params)
    message = str(err.value)
    assert (
        "models.dg_vae.regulariser.batch_chunk: |b| = 32 does not divide "
        "profiles.smoke.train.batch_size = 30" in message
    )
    assert "models.dg_vae_b4.regulariser.batch_chunk: |b| = 4" in message
    assert "dg_vae_b1" not in message
    assert message.count("models.dg_vae.regulariser.batch_chunk") == 1  # in two experiments


def test_a_profile_not_training_the_model_is_not_checked(params):
    params["profiles"]["cpu"]["train"]["batch_size"] = 24  # cpu trains no DG-VAE
    validate_params(params)


def test_fewer_than_one_sample_is_rejected(params):
    params["models"]["dg_vae"]["regulariser"]["samples"] = 0
    with pytest.raises(
        ParamsError, match=r"models\.dg_vae\.regulariser\.samples: 0 is less than the minimum of 1"
    ):
        validate_params(params)


def test_unknown_regulariser_is_rejected(params):
    params["models"]["dg_vae"]["regulariser"]["name"] = "density_gapp"
    with pytest.raises(
        ParamsError, match=r"models\.dg_vae\.regulariser\.name: 'density_gapp' is not one of"
    ):
        validate_params(params)


@pytest.mark.parametrize(
    ("name", "missing"),
    [("free_bits", "'lambda'"), ("bn_vae", "'gamma'"), ("delta_vae", "'delta'")],
)
def test_each_regulariser_needs_its_setting(params, name, missing):
    params["models"]["vae"]["regulariser"]["name"] = name
    with pytest.raises(ParamsError, match=rf"models\.vae\.regulariser: {missing} is a required"):
        validate_params(params)


def test_the_real_data_profile_runs_seven_methods_three_seeds_two_datasets(params):
    params["profile"] = "dgvae_cpu"
    grid = runs(validate_params(params))
    assert len(grid) == 42
    assert {r.dataset for r in grid} == {"ptb", "short_yelp_10k"}


def test_a_model_can_override_the_latent_size(params):
    from latentrepro.config import train_config

    validated = validate_params(params)
    assert train_config(validated, "synthetic_text", "dg_vae_2d")["arch"]["latent_dim"] == 2
    assert train_config(validated, "synthetic_text", "dg_vae")["arch"]["latent_dim"] == 8
