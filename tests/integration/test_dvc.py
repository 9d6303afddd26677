"""DVC drives the same DAG as Snakemake: stages agree with it, reruns are minimal."""

import re

import pytest
import yaml

from latentrepro.config import REPO_ROOT

from .conftest import BIN, run

pytestmark = pytest.mark.integration
DVC = str(BIN / "dvc")


def stages() -> dict:
    return yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def snakemake_outputs(project, target: str) -> dict[str, str]:
    """output file -> rule, for every job the target needs (as if nothing existed yet)."""
    out = run([str(BIN / "snakemake"), target, "--forceall", "--summary"], project).stdout
    rows = [line.split("\t") for line in out.splitlines()[1:] if "\t" in line]
    return {row[0]: row[2] for row in rows}


def _under(path: str, prefixes: list[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def test_dvc_stages_agree_with_the_snakemake_dag(project):
    """Each stage's command builds exactly the files its `outs` declare, after its deps."""
    declared = {
        name: [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
        + [next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics", [])]
        for name, stage in stages().items()
    }
    built_before: set[str] = set()
    produced_by_earlier: list[str] = []
    for name, stage in stages().items():
        target = re.search(r"snakemake (\w+)", stage["cmd"]).group(1)
        outputs = snakemake_outputs(project, target)
        new = {path: rule for path, rule in outputs.items() if path not in built_before}
        assert new, f"stage {name} builds nothing new"
        for path, rule in new.items():
            assert _under(path, declared[name]), (
                f"stage {name}: rule {rule} writes {path}, not in its outs"
            )
        for out in declared[name]:
            assert any(_under(p, [out]) for p in new), (
                f"stage {name} declares {out} but builds nothing there"
            )
        for dep in stage.get("deps", []):
            if not (REPO_ROOT / dep).exists():
                assert _under(dep, produced_by_earlier), (
                    f"stage {name}: dep {dep} is no earlier stage's out"
                )
        built_before |= set(outputs)
        produced_by_earlier += declared[name]


def test_dvc_repro_then_nothing_then_only_the_affected_stages(project):
    run(["git", "init", "-q"], project)
    # dvc exp commits too: give the copy an identity of its own (CI may have none).
    run(["git", "config", "user.name", "latentrepro test"], project)
    run(["git", "config", "user.email", "test@latentrepro.invalid"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "snapshot"], project)

    first = run([DVC, "repro"], project)
    assert "Running stage 'report'" in first.stdout
    assert (project / "results/tables/text_vae.md").exists()
    status = run([DVC, "status"], project).stdout
    assert "Data and pipelines are up to date" in status

    second = run([DVC, "repro"], project).stdout
    assert "Running stage" not in second

    raw_manifest = project / "data/raw/synthetic_text/manifest.json"
    model = project / "results/checkpoints/synthetic_text/vae/seed0/model.pt"
    raw_mtime, model_mtime = raw_manifest.stat().st_mtime_ns, model.stat().st_mtime_ns
    exp = run([DVC, "exp", "run", "-S", "profiles.smoke.train.epochs=2"], project).stdout
    assert "Running stage 'train'" in exp
    assert "Running stage 'download'" not in exp and "Running stage 'tokenize'" not in exp
    assert raw_manifest.stat().st_mtime_ns == raw_mtime
    assert model.stat().st_mtime_ns != model_mtime
