"""The smoke DAG end to end with Snakemake, in a temporary copy of the project."""

import json

import pytest
import yaml

from latentrepro.config import runs, validate_params

from .conftest import SNAKEMAKE, run

pytestmark = pytest.mark.integration


def test_smoke_dag_runs_and_is_then_up_to_date(smoke_run):
    project = smoke_run
    table = (project / "results/tables/text_vae.md").read_text()
    assert "synthetic_text" in table and "vae" in table
    for ext in ("csv", "tex"):
        assert (project / f"results/tables/text_vae.{ext}").stat().st_size > 0
    for kind in ("curves", "latents"):
        assert (project / f"results/figures/text_vae_{kind}.png").read_bytes()[:4] == b"\x89PNG"
    record = json.loads(
        (project / "results/metrics/runs/synthetic_text/vae/seed0.json").read_text()
    )
    assert set(record["metrics"]) >= {"nll", "ppl", "kl", "mi", "au"}
    assert record["estimators"]["iw_samples"] == 50
    assert len(record["provenance"]["data"]["sha256"]) == 64
    assert record["provenance"]["train_config_hash"]
    # The plain VAE's IW bound is at least as tight as its ELBO (up to estimator noise).
    assert record["metrics"]["nll"] <= record["metrics"]["neg_elbo"] + 0.5
    assert not (project / "results/resume").exists() or not any(
        (project / "results/resume").rglob("*.pt")
    )

    dry = run([*SNAKEMAKE, "-n"], project)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # Where files come from is not provenance: pointing at a mirror reruns nothing.
    dry = run([*SNAKEMAKE, "-n", "--config", f"data={{mirror: {project}}}"], project)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # Changing an estimator setting on the command line (a string there, an integer in the
    # schema) re-evaluates the runs of the families that read it (the text VAEs; not the 2-D
    # point models or the image models) and re-reports, but retrains (and re-samples) nothing.
    override = "profiles={smoke: {evaluate: {iw_samples: 20}}}"
    planned = planned_jobs(run([*SNAKEMAKE, "-n", "--config", override], project).stdout)
    params = validate_params(yaml.safe_load((project / "params.yaml").read_text()))
    text = [
        r for r in runs(params) if params["models"][r.model]["arch"] in ("lstm_vae", "symbol_vae")
    ]
    assert 0 < len(text) < len(runs(params))
    assert planned.pop("evaluate") == len(text)
    # What remains is reporting: the generic report and the reports' tables and figures.
    assert planned.pop("report") == planned.pop("all") == 1
    assert not {"download", "tokenize", "train", "sample"} & set(planned)
    assert all(rule.startswith("report_") for rule in planned), planned


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> number of jobs."""
    table = dry_run_output.split("Job stats:")[1].strip().split("\n\n")[0].splitlines()[2:]
    rows = [line.split() for line in table]
    return {rule: int(count) for rule, count in rows if rule != "total"}


def test_misspelled_key_stops_before_any_job(project):
    text = (
        (project / "params.yaml")
        .read_text()
        .replace("max_batches_per_epoch: null", "max_batchez: null", 1)
    )
    (project / "params.yaml").write_text(text)
    result = run(SNAKEMAKE, project, check=False)
    assert result.returncode != 0
    assert "profiles.smoke.train: unknown key 'max_batchez'" in result.stdout + result.stderr
    assert not (project / "data").exists() and not (project / "results").exists()
