"""docs/extending.md, checked: a prior defined and registered here, in the test module, runs
through `latentrepro train` -> `evaluate` -> `report` with no other change to the package."""

import json
import math

import torch

from latentrepro.cli import main
from latentrepro.config import REPO_ROOT, load_params, train_config
from latentrepro.density import gaussian_kl, log_normal_diag
from latentrepro.models.priors import PRIORS, Prior


class ShiftedGaussianPrior(Prior):
    """p(z) = N(m, I) with a learnt mean m: KL(N(mu, s^2) || N(m, I)) is the standard normal's
    KL at mu - m (Kingma & Welling 2014, Appendix B, shifted)."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.mean = torch.nn.Parameter(torch.zeros(latent_dim))

    def log_prob(self, z):
        return log_normal_diag(z, self.mean, torch.zeros_like(self.mean))

    def sample(self, n, generator=None):
        noise = torch.randn(n, self.latent_dim, generator=generator, device=self.mean.device)
        return self.mean + noise

    def analytic_kl(self, mu, logvar):
        return gaussian_kl(mu - self.mean, logvar)


def test_the_toy_prior_kl_is_the_closed_form():
    prior = ShiftedGaussianPrior(3)
    with torch.no_grad():
        prior.mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(prior.mean, torch.ones(3))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(prior.analytic_kl(mu, logvar), expected, atol=1e-5)


def test_a_registered_prior_runs_train_evaluate_report(tmp_path, monkeypatch):
    monkeypatch.setitem(
        PRIORS, "shifted_gaussian", lambda cfg, latent_dim: ShiftedGaussianPrior(latent_dim)
    )
    raw, data = tmp_path / "raw", tmp_path / "processed" / "synthetic_text"
    options = {"num_classes": 2, "train": 64, "valid": 32, "test": 32, "seed": 0}
    assert (
        main(["download", "synthetic_text", "--root", str(raw), "--options", json.dumps(options)])
        == 0
    )
    tokenize = [
        "tokenize",
        "synthetic_text",
        "--raw",
        str(raw / "synthetic_text"),
        "--out",
        str(data),
    ]
    assert main([*tokenize, "--vocab-size", "60", "--max-length", "10"]) == 0

    # the smoke profile's vae, with the new prior in place of the Gaussian, for one epoch
    config = train_config(load_params(REPO_ROOT / "params.yaml"), "synthetic_text", "vae")
    config["model"].update(name="toy_vae", prior={"name": "shifted_gaussian"})
    config["train"] = {"epochs": 1, "batch_size": 16, "max_batches_per_epoch": None}
    run = tmp_path / "results"
    checkpoint = run / "checkpoints/synthetic_text/toy_vae/seed0/model.pt"
    history = run / "curves/synthetic_text/toy_vae/seed0.csv"
    assert main([
        "train", "--config", json.dumps(config), "--data", str(data), "--seed", "0",
        "--out", str(checkpoint), "--history", str(history), "--resume", str(tmp_path / "resume.pt"),
        "--no-progress",
    ]) == 0  # fmt: skip
    saved = torch.load(checkpoint, weights_only=False)
    assert "prior.mean" in saved["state_dict"]  # the toy prior's parameter was trained and saved

    settings = {"device": "cpu", "evaluate": {"iw_samples": 4, "iw_chunk": 2, "batch_size": 16,
                                              "mi_aggregate": "split", "au_threshold": 0.01}}  # fmt: skip
    metrics = run / "metrics/runs/synthetic_text/toy_vae/seed0.json"
    latents = run / "latents/synthetic_text/toy_vae/seed0.pt"
    assert main([
        "evaluate", "--checkpoint", str(checkpoint), "--data", str(data),
        "--manifest", str(raw / "synthetic_text" / "manifest.json"), "--settings", json.dumps(settings),
        "--seed", "0", "--out", str(metrics), "--latents", str(latents),
    ]) == 0  # fmt: skip
    record = json.loads(metrics.read_text())
    assert math.isfinite(record["metrics"]["nll"]) and record["metrics"]["kl"] >= 0
    # not N(0, I): the hole measures, which draw from the standard normal, are not reported
    assert "kl_p_qbar" not in record["metrics"]

    experiments = {"toy": {"datasets": ["synthetic_text"], "models": ["toy_vae"]}}
    tables, figures = run / "tables", run / "figures"
    assert main([
        "report", "--experiments", json.dumps(experiments), "--metrics", str(metrics),
        "--histories", str(history), "--latents", str(latents), "--tables", str(tables),
        "--figures", str(figures), "--summary", str(run / "summary.json"),
    ]) == 0  # fmt: skip
    table = (tables / "toy.csv").read_text()
    assert "toy_vae" in table and "nll" in table
