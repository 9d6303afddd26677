"""A disposable copy of the project (the files git would ship) for running the workflow in."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from latentrepro.config import REPO_ROOT

BIN = Path(sys.executable).parent


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


def run(
    cmd: list[str], cwd: Path, check: bool = True, timeout: int = 600
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("DVC_NO_ANALYTICS", None)
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")
