"""DVC drives the same DAG as Snakemake, and the two agree in both directions."""

import re
from pathlib import Path

import pytest
import yaml

from .conftest import BIN, SNAKEMAKE, git_snapshot, run

pytestmark = pytest.mark.integration
DVC = str(BIN / "dvc")


def stages(project: Path) -> dict:
    return yaml.safe_load((project / "dvc.yaml").read_text())["stages"]


def snakemake_outputs(project: Path, target: str) -> dict[str, str]:
    """output file -> rule, for every job the target needs (as if nothing existed yet)."""
    out = run([str(BIN / "snakemake"), target, "--forceall", "--summary"], project).stdout
    rows = [line.split("\t") for line in out.splitlines()[1:] if "\t" in line]
    return {row[0]: row[2] for row in rows}


def declared_outs(stage: dict) -> list[str]:
    entries = stage.get("outs", []) + stage.get("metrics", [])
    return [next(iter(o)) if isinstance(o, dict) else o for o in entries]


def _under(path: str, prefixes: list[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def test_dvc_stages_agree_with_the_snakemake_dag(project):
    """Each stage's command builds what its outs declare (and what earlier stages declare, for
    the jobs it needs first), its deps exist in a fresh clone, and the stages together build
    exactly what Snakemake's default target builds."""
    built: set[str] = set()
    earlier: list[str] = []
    for name, stage in stages(project).items():
        for dep in stage["deps"]:
            assert (project / dep).exists(), f"stage {name}: dep {dep} is not in a fresh clone"
        target = re.search(r"snakemake (\w+)", stage["cmd"]).group(1)
        outputs = snakemake_outputs(project, target)
        mine = declared_outs(stage)
        new = {path: rule for path, rule in outputs.items() if path not in built}
        assert new, f"stage {name} builds nothing new"
        for path, rule in outputs.items():
            assert _under(path, mine + earlier), (
                f"stage {name}: rule {rule} writes {path}, in no outs of it or an earlier stage"
            )
        for out in mine:
            assert any(_under(p, [out]) for p in new), f"stage {name}: nothing built in {out}"
        built |= set(outputs)
        earlier += mine
    assert built == set(snakemake_outputs(project, "all"))


def test_dvc_dry_runs_on_a_fresh_clone(project):
    git_snapshot(project)
    dry = run([DVC, "repro", "--dry"], project).stdout
    assert [f"Running stage '{s}'" in dry for s in stages(project)] == [True] * len(stages(project))
    exp = run(
        [DVC, "exp", "run", "--dry", "-S", "overrides.yaml:++profiles.smoke.train.epochs=6"],
        project,
    )
    assert "Running stage 'train'" in exp.stdout
    assert not (project / "data").exists() and not (project / "results").exists()


def mtimes(project: Path) -> dict[str, int]:
    return {
        str(p.relative_to(project)): p.stat().st_mtime_ns
        for top in ("data", "results")
        for p in (project / top).rglob("*")
        if p.is_file()
    }


def test_dvc_and_snakemake_agree_both_ways(copy_of_smoke_run):
    """After Snakemake, `dvc repro` rebuilds nothing (each stage's Snakemake has nothing to
    do) and records the lock; after `dvc repro`, Snakemake has nothing to do; an experiment
    override goes to overrides.yaml and reruns training, not the data preparation."""
    project = copy_of_smoke_run
    before = mtimes(project)
    # Without a dvc.lock DVC runs every stage once; each stage's Snakemake (whose messages go
    # to stderr) finds nothing to do, and the lock it records makes the next repro a no-op.
    first = run([DVC, "repro"], project)
    said = first.stdout + first.stderr
    assert said.count("Nothing to be done") == len(stages(project)), said
    assert mtimes(project) == before, "dvc repro after snakemake rebuilt something"
    assert "Running stage" not in run([DVC, "repro"], project).stdout
    dry = run([*SNAKEMAKE, "-n"], project)
    assert "Nothing to be done" in dry.stdout + dry.stderr

    params = (project / "params.yaml").read_bytes()
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "lock"], project)
    exp = run([DVC, "exp", "run", "-S", "overrides.yaml:++profiles.smoke.train.epochs=2"], project)
    assert "Running stage 'train'" in exp.stdout
    assert (project / "params.yaml").read_bytes() == params, "dvc exp run rewrote params.yaml"
    overrides = yaml.safe_load((project / "overrides.yaml").read_text())
    assert overrides == {"profiles": {"smoke": {"train": {"epochs": 2}}}}
    after = mtimes(project)
    raw = "data/raw/synthetic_text/manifest.json"
    model = "results/checkpoints/synthetic_text/vae/seed0/model.pt"
    assert after[raw] == before[raw], "the override re-downloaded"
    assert after[model] != before[model], "the override did not retrain"
