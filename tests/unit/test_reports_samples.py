"""The generic sample and render stages: registries that agree with the schema, reports that
read exactly their experiments' runs, and a renderer held to the files it declares."""

import json
from pathlib import Path

import pytest
import yaml

from latentrepro.cli import main
from latentrepro.config import (
    REPO_ROOT,
    SAMPLE_TOOLS,
    SCHEMA_PATH,
    active_reports,
    load_params,
    report_config,
    report_runs,
    report_samples,
    sample_runs,
)
from latentrepro.evaluation.samples import SAMPLERS
from latentrepro.report import renderers
from latentrepro.report.renderers import RENDERERS, Renderer, ReportInputs, render

PARAMS = REPO_ROOT / "params.yaml"


def test_the_registries_are_the_kinds_the_schema_allows():
    defs = yaml.safe_load(SCHEMA_PATH.read_text())["$defs"]
    assert set(defs["report"]["properties"]["render"]["enum"]) == set(RENDERERS)
    assert set(defs["samples"]["properties"]) == set(SAMPLERS)
    assert set(defs["report"]["properties"]["samples"]["enum"]) == set(SAMPLERS)
    assert {k for k, s in SAMPLERS.items() if s.uses_tool} == set(SAMPLE_TOOLS)
    for renderer in RENDERERS.values():
        assert set(renderer.reads) <= set(renderers.INPUTS)


def test_a_report_reads_the_runs_of_its_experiments_only():
    params = load_params(PARAMS)
    grid = params["profiles"]["smoke"]["experiments"]
    ablation = {(r.dataset, r.model) for r in report_runs(params, "dgvae_ablation_b")}
    assert ablation == {("synthetic_text", m) for m in grid["dgvae_ablation"]["models"]}
    # interpolation samples: vae and dg_vae of dgvae_main, not the ablation's dg_vae_b* models
    drawn = report_samples(params, "dgvae_interpolation")
    assert {(r.dataset, r.model) for r in drawn} == {("synthetic_text", "vae"),
                                                     ("synthetic_text", "dg_vae")}  # fmt: skip
    assert report_samples(params, "clel") == sample_runs(params, "conditional")
    config = report_config(params, "dgvae_ablation_b")
    assert config["models"]["dg_vae_b4"]["regulariser"]["batch_chunk"] == 4
    assert list(config["experiments"]) == ["dgvae_ablation"]


def test_a_profile_builds_only_the_reports_it_has_runs_for():
    assert set(active_reports(load_params(PARAMS, {"profile": "cpu"}))) == {"clel"}
    assert set(active_reports(load_params(PARAMS, {"profile": "dgvae_cpu"}))) == {
        "dgvae_interpolation"
    }
    ablation = load_params(PARAMS, {"profile": "dgvae_cpu_ablation"})
    assert set(active_reports(ablation)) == {"dgvae_ablation_b", "dgvae_density"}


def test_a_renderer_that_writes_less_than_it_declares_is_an_error(tmp_path, monkeypatch):
    def draw(inputs, config, results):
        path = results / "tables" / f"{config['name']}.md"
        path.parent.mkdir(parents=True)
        path.write_text("x")
        return [path]

    fake = Renderer(draw, reads=(), writes=("tables/{name}.md", "figures/{name}.png"))
    monkeypatch.setitem(RENDERERS, "fake", fake)
    with pytest.raises(
        ValueError, match=r"reports.toy: renderer 'fake' did not write \['figures/toy.png'\]"
    ):
        render(ReportInputs(), {"name": "toy", "render": "fake"}, tmp_path)
    fake = Renderer(draw, reads=(), writes=("tables/{name}.md",))
    monkeypatch.setitem(RENDERERS, "fake", fake)
    assert render(ReportInputs(), {"name": "toy", "render": "fake"}, tmp_path / "b")


def test_the_sample_command_refuses_a_kind_without_its_tool(tmp_path, capsys):
    argv = ["sample", "conditional", "--checkpoint", "c.pt", "--data", str(tmp_path)]
    argv += ["--seed", "0", "--settings", json.dumps({}), "--out", str(tmp_path / "s.pt")]
    assert main([*argv, "--record", str(tmp_path / "s.json")]) == 2
    assert "sample conditional: needs --tool" in capsys.readouterr().err
    argv[1] = "interpolation"
    assert main([*argv, "--record", str(tmp_path / "s.json"), "--tool", "x.pt"]) == 2
    assert "sample interpolation: takes no --tool" in capsys.readouterr().err
    assert not list(Path(tmp_path).glob("s.*"))  # nothing half-written
