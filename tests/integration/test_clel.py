"""The CLEL part of the smoke DAG: digits -> classifier -> EBM and CLEL -> FID -> tables, on the
generic rules (CLEL is an ordinary model family with ordinary experiments)."""

import json
import re

import pytest

pytestmark = pytest.mark.integration


def test_clel_smoke_targets_name_their_fid_protocol(smoke_run):
    table = (smoke_run / "results/tables/clel_fid.md").read_text()
    assert "FID [own classifier, 64-d penultimate features" in table
    assert "| ebm " in table and "| clel " in table and "reference (test split)" in table
    reported = (smoke_run / "results/tables/clel_reported_elsewhere.md").read_text()
    assert "secondary sources, unverified" in reported
    record = json.loads((smoke_run / "results/metrics/runs/digits/clel/seed0.json").read_text())
    assert record["split"] == "test"
    assert record["metrics"]["generated_samples"] == 500
    assert record["metrics"]["reference_samples"] == 300
    assert record["estimators"]["extractor"]["kind"] == "classifier"
    assert 0 < record["metrics"]["fid"] < 1e4
    assert record["metrics"]["fid_protocol"] == "replay"
    conditional = (smoke_run / "results/tables/clel_conditional.md").read_text()
    assert (
        "conditional accuracy" in conditional
        and "clel, all classes (chance 0.10 / 0.05)" in conditional
    )
    scores = json.loads(
        (smoke_run / "results/samples/conditional/digits/clel/seed0.json").read_text()
    )
    assert len(scores["metrics"]["conditional_accuracy"]) == 10
    assert "not the CLEL encoder" in scores["scorer"]
    for name in ("clel_samples", "clel_conditional", "clel_curves", "fid_classifier_latents"):
        assert (smoke_run / f"results/figures/{name}.png").read_bytes()[:4] == b"\x89PNG"
    # the experiments' generic tables, the FID's extractor and protocol in the caption
    generic = (smoke_run / "results/tables/clel.md").read_text()
    assert re.search(r"\| digits +\| clel +\|", generic) and "FID: own classifier" in generic
    classifier = (smoke_run / "results/tables/fid_classifier.md").read_text()
    assert "error" in classifier
