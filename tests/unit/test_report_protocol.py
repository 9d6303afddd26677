"""Tables name their estimators (MI header, caption) and say why a cell is empty."""

from __future__ import annotations

import json

import pytest

from latentrepro.cli import undefined_as_null
from latentrepro.report.experiments import build_report
from latentrepro.report.tables import collect_metrics, summarise, table_protocol, write_table

NAMES = {
    "mi": "MI (He et al. batches of 32)",
    "holes": "KL(p||qbar) and CU from 128,000 prior draws",
}


def record(dataset, model, seed, names=NAMES, null_reasons=None, **metrics):
    return {
        "dataset": dataset,
        "model": model,
        "seed": seed,
        "metrics": metrics,
        "null_reasons": null_reasons or {},
        "estimators": {"names": {**names, "sentences": f"{dataset}: test sentences whole"}},
    }


def test_the_header_and_caption_name_the_estimators_and_empty_cells(tmp_path):
    why = "the LDEBMPrior prior has no trustworthy normalised log p(z)"
    records = [
        record("ptb", "dg_vae", 0, mi=1.0, nll=100.0),
        record("ptb", "dg_vae", 1, mi=2.0, nll=102.0),
        record(
            "ptb", "ldebm", 0, mi=3.0, nll=None, ppl=None, null_reasons={"nll": why, "ppl": why}
        ),
    ]
    protocol = table_protocol(records)
    assert protocol.labels == {"mi": "MI (He et al. batches of 32)"}
    md, _, tex = write_table(*summarise(collect_metrics(records)), tmp_path / "t", protocol)
    text = md.read_text()
    caption, table = text.split("\n\n", 1)
    assert "KL(p||qbar) and CU from 128,000 prior draws" in caption
    assert "ptb: test sentences whole" in caption
    assert f"— for NLL, PPL of ldebm: {why}" in caption
    assert "MI (He et al. batches of 32)" in table.splitlines()[0]
    ldebm_row = next(line for line in table.splitlines() if "ldebm" in line)
    assert "—" in ldebm_row and "nan" not in ldebm_row
    assert r"\caption{" in tex.read_text()


def test_a_table_of_runs_estimated_differently_is_refused():
    other = {**NAMES, "mi": "MI (pooled over split)"}
    records = [record("ptb", "vae", 0, mi=1.0), record("ptb", "vae", 1, names=other, mi=3.0)]
    with pytest.raises(
        ValueError, match=r"mi on ptb: 'MI \(He et al.*ptb/vae/seed0.*ptb/vae/seed1"
    ):
        table_protocol(records)


def test_names_that_differ_by_dataset_are_given_per_dataset():
    records = [record("ptb", "vae", 0, mi=1.0), record("yelp", "vae", 0, mi=1.0)]
    notes = table_protocol(records).notes
    assert "ptb: ptb: test sentences whole, yelp: yelp: test sentences whole" in notes


def test_undefined_metrics_become_null_with_a_reason():
    values, why = undefined_as_null(
        {"nll": float("nan"), "wkl": float("inf"), "au": 3}, {"nll": "no normaliser"}
    )
    assert values == {"nll": None, "wkl": None, "au": 3}
    assert why == {"nll": "no normaliser", "wkl": "the estimate was inf (no reason given)"}


def test_the_report_keeps_a_column_left_empty_for_a_reason(tmp_path):
    why = "no trustworthy normaliser"
    paths = []
    for seed in (0, 1):
        path = tmp_path / f"m{seed}.json"
        path.write_text(
            json.dumps(record("d", "ldebm", seed, mi=0.5, nll=None, null_reasons={"nll": why}))
        )
        paths.append(path)
    build_report(
        {"exp": {"datasets": ["d"], "models": ["ldebm"]}}, paths, [], [],
        tmp_path / "tables", tmp_path / "figures", tmp_path / "summary.json",
    )  # fmt: skip
    markdown = (tmp_path / "tables" / "exp.md").read_text()
    header = markdown.split("\n\n", 1)[1].splitlines()[0]
    assert [cell.strip() for cell in header.strip("|").split("|")][2:] == [
        "NLL", "MI (He et al. batches of 32)", "seeds",
    ]  # fmt: skip
    assert f"— for NLL of ldebm: {why}" in markdown
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["exp"]["d/ldebm"]["nll"] is None
