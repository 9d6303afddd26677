"""A disposable copy of the project (the files git would ship) for running the workflow in,
and one smoke-DAG run shared by every integration test that only reads its results.

No test here has a wall-clock limit of its own: a correct run on a loaded machine may take
many times its idle time. pytest-timeout (pyproject.toml) is the hang guard.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from latentrepro.config import REPO_ROOT

BIN = Path(sys.executable).parent
SNAKEMAKE = [str(BIN / "snakemake"), "--cores", "2"]


def project_files() -> list[str]:
    """Tracked plus untracked-but-not-ignored files, as a clean clone would have them."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if (REPO_ROOT / line).is_file()]


def copy_project(dest: Path) -> Path:
    for rel in project_files():
        if rel.startswith(("tests/", "benchmarks/")):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)
    return dest


def run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("DVC_NO_ANALYTICS", None)
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def git_snapshot(project: Path) -> None:
    """Make the copy a git repository with one commit (DVC experiments need one)."""
    run(["git", "init", "-q"], project)
    run(["git", "config", "user.name", "latentrepro test"], project)
    run(["git", "config", "user.email", "test@latentrepro.invalid"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "snapshot"], project)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole smoke DAG, run once by Snakemake in a git-snapshotted copy. Tests read it;
    one that changes anything works on its own copy (:func:`copy_of_smoke_run`)."""
    project = copy_project(tmp_path_factory.mktemp("smoke") / "project")
    git_snapshot(project)
    run(SNAKEMAKE, project)
    return project


@pytest.fixture
def copy_of_smoke_run(smoke_run: Path, tmp_path: Path) -> Path:
    """A private copy of the finished smoke run (outputs, Snakemake metadata, git)."""
    dest = tmp_path / "project"
    shutil.copytree(smoke_run, dest, symlinks=True)
    return dest
