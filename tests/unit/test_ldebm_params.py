"""Bad LDEBM settings in params.yaml stop validation with the parameter named."""

import pytest
import yaml
from torch import nn
from torch.nn.utils import parametrize

from latentrepro.config import REPO_ROOT, ParamsError, validate_params


@pytest.fixture
def params():
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def rejected(params) -> str:
    with pytest.raises(ParamsError) as err:
        validate_params(params)
    return str(err.value)


def test_a_diffusion_schedule_that_is_not_increasing_is_rejected(params):
    params["models"]["ldebm_2d"]["prior"]["diffusion"] = {"levels": [0, 200, 100, 300]}
    message = rejected(params)
    assert "models.ldebm_2d.prior.diffusion.levels: must be strictly increasing" in message


def test_fewer_than_two_symbols_are_rejected(params):
    params["models"]["svebm_ib"]["prior"]["symbols"] = 1
    assert "models.svebm_ib.prior.symbols: 1 is less than the minimum of 2" in rejected(params)


@pytest.mark.parametrize("step", [0, -0.1])
def test_a_non_positive_langevin_step_size_is_rejected(params, step):
    params["models"]["lebm_2d"]["prior"]["langevin"]["step_size"] = step
    message = rejected(params)
    assert "models.lebm_2d.prior.langevin.step_size" in message
    assert "less than or equal to the minimum of 0" in message


def test_every_ldebm_model_builds_from_the_shipped_params(params):
    from latentrepro.models.priors import EBMPrior, build_prior

    for name, model in validate_params(params)["models"].items():
        if model.get("prior", {"name": "gaussian"})["name"] != "gaussian":  # images: no prior
            assert isinstance(build_prior(model["prior"], 4), EBMPrior), name


def test_an_ebm_prior_with_a_kl_regulariser_is_rejected(params):
    params["models"]["ldebm"]["regulariser"] = {"name": "kl"}
    message = rejected(params)
    assert "models.ldebm.regulariser.name: prior 'ldebm' needs the 'ebm' regulariser" in message


def test_the_ebm_regulariser_with_a_gaussian_prior_is_rejected(params):
    params["models"]["vae"]["regulariser"] = {"name": "ebm"}
    message = rejected(params)
    assert "models.vae.regulariser.name: 'ebm' needs one of the priors" in message
    assert "got 'gaussian'" in message


def test_the_ebm_prior_names_are_the_registered_priors_that_build_an_ebm():
    from latentrepro.config import EBM_PRIORS
    from latentrepro.models.priors import PRIORS, EBMPrior, build_prior

    built = {name: build_prior({"name": name, "symbols": 4}, 2) for name in PRIORS}
    assert {name for name, prior in built.items() if isinstance(prior, EBMPrior)} == set(EBM_PRIORS)


def test_the_paper_models_have_the_authors_dailydialog_network_and_the_cpu_ones_do_not(params):
    from latentrepro.config import train_config
    from latentrepro.models.text.symbol_vae import SymbolTextVAE

    paper = train_config(validate_params(params), "dailydialog", "ldebm_paper")
    cpu = train_config(validate_params(params), "dailydialog", "ldebm")
    assert paper["arch"]["encoder_hidden_dim"] == 1024 and paper["arch"]["bidirectional"]
    assert cpu["arch"] == params["archs"]["symbol_vae"]["dailydialog"]
    encoder_rnn = next(
        m for m in SymbolTextVAE.from_config(paper, 50).encoder.modules() if isinstance(m, nn.LSTM)
    )
    assert (encoder_rnn.hidden_size, encoder_rnn.bidirectional, encoder_rnn.input_size) == (
        1024,
        True,
        512,
    )


def test_a_model_network_on_a_family_without_the_options_is_rejected(params):
    params["models"]["vae"]["archs"] = {"ptb": {"embed_dim": 8, "hidden_dim": 8, "latent_dim": 2}}
    assert "models.vae.arch" in rejected(params)


def test_an_experiment_budget_replaces_the_profile_budget_for_its_jobs_only(params):
    from latentrepro.config import train_config

    params["profile"] = "paper"
    valid = validate_params(params)
    assert train_config(valid, "dailydialog", "ldebm_paper")["train"]["batch_size"] == 128
    assert train_config(valid, "dailydialog", "ldebm_paper")["train"]["epochs"] == 50
    assert train_config(valid, "ptb", "ldebm_ptb")["train"]["epochs"] == 60
    assert train_config(valid, "dailydialog", "svebm_ib_paper")["train"]["batch_size"] == 30
    # A model of another paper keeps the profile's budget.
    assert train_config(valid, "ptb", "vae")["train"] == params["profiles"]["paper"]["train"]


def test_one_job_in_two_experiments_with_different_budgets_is_rejected(params):
    experiments = params["profiles"]["paper"]["experiments"]
    experiments["ldebm_again"] = {
        "datasets": ["dailydialog"],
        "models": ["ldebm_paper"],
        "train": {"epochs": 3},
    }
    message = rejected(params)
    assert "profiles.paper.experiments: 'ldebm_paper' on 'dailydialog' is in experiments" in message
    assert "'ldebm_attributes' and 'ldebm_again'" in message


def test_an_unknown_key_in_an_experiment_budget_is_rejected(params):
    params["profiles"]["paper"]["experiments"]["ldebm_attributes"]["train"]["epoch"] = 3
    assert "profiles.paper.experiments.ldebm_attributes.train: unknown key 'epoch'" in rejected(
        params
    )


def test_every_ldebm_model_uses_the_papers_diffusion_schedule(params):
    from latentrepro.sampling.diffusion import PAPER_LEVELS

    for name, model in validate_params(params)["models"].items():  # extends resolved
        if model.get("prior", {}).get("name") == "ldebm":
            levels = model["prior"].get("diffusion", {}).get("levels", PAPER_LEVELS)
            assert tuple(levels) == PAPER_LEVELS, name


def test_the_paper_ldebm_prior_samples_with_300_langevin_steps(params):
    from latentrepro.models.priors import build_prior

    prior = build_prior(validate_params(params)["models"]["ldebm_paper"]["prior"], 32)
    assert prior.schedule.pairs * prior.steps == 300 and prior.schedule.top == 5


def test_a_step_size_for_the_ldebm_sampler_is_rejected():
    from latentrepro.models.priors import build_prior

    with pytest.raises(ValueError, match=r"prior\.langevin: LDEBM's Langevin steps follow"):
        build_prior({"name": "ldebm", "symbols": 4, "langevin": {"steps": 5, "step_size": 0.5}}, 2)


def test_the_paper_sentiment_control_is_the_authors_network_energy_and_budget(params):
    from latentrepro.config import train_config
    from latentrepro.models.text.symbol_vae import SymbolTextVAE

    params["profile"] = "paper"
    valid = validate_params(params)
    ldebm = train_config(valid, "yelp_sentiment", "ldebm_control_paper")
    svebm = train_config(valid, "yelp_sentiment", "svebm_ib_control")
    # sent_control.py / ibebm sentence_attribute_control.py: batch 128, 24 x 3,500 updates
    for job in (ldebm, svebm):
        assert (job["train"]["batch_size"], job["train"]["epochs"]) == (128, 24)
        assert job["arch"] == ldebm["arch"]
    vae = SymbolTextVAE.from_config(ldebm, 9339)
    grus = [m for m in vae.modules() if isinstance(m, nn.GRU)]
    # bi-GRU 512 over embeddings 512; the decoder GRU 512 reads [embedding, z] (SC:250-273)
    assert [(g.input_size, g.hidden_size, g.bidirectional) for g in grus] == [
        (512, 512, True),
        (512 + 40, 512, False),
    ]
    assert (vae.prior.symbols, vae.prior.steps) == (2, 50)
    linears = [m for m in vae.prior.modules() if isinstance(m, nn.Linear)]
    assert linears and all(parametrize.is_parametrized(m, "weight") for m in linears)
