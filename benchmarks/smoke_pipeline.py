"""Wall time of the smoke DAG from nothing, and of the no-op dry run after it.

Targets (issue 2): the whole smoke DAG under 5 minutes on a 2-core CPU machine, and
`snakemake -n` afterwards under 5 seconds. Run from the repository root:

    .venv/bin/python benchmarks/smoke_pipeline.py

It works in a temporary copy of the project, so the working tree's results are untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def copy_project(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for rel in files:
        if (ROOT / rel).is_file() and not rel.startswith(("tests/", "benchmarks/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)


def timed(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        copy_project(project)
        full = timed([str(BIN / "snakemake"), "--cores", "all"], project)
        noop = timed([str(BIN / "snakemake"), "--cores", "all", "-n"], project)
        jobs = sorted(
            p.relative_to(project / "results/benchmarks")
            for p in (project / "results/benchmarks").rglob("*.tsv")
        )
        per_job = []
        for rel in jobs:
            lines = (project / "results/benchmarks" / rel).read_text().splitlines()
            seconds = float(lines[1].split("\t")[0])
            rss = lines[1].split("\t")[2]
            per_job.append((str(rel.with_suffix("")), seconds, rss))
    print("| what | seconds | target | peak RSS (MB) |\n|---|---:|---:|---:|")
    print(f"| smoke DAG, from nothing, {os.cpu_count()} cores | {full:.1f} | 300 | |")
    print(f"| `snakemake -n` afterwards | {noop:.2f} | 5 | |")
    for name, seconds, rss in per_job:
        print(f"| job {name} | {seconds:.1f} | | {rss} |")


if __name__ == "__main__":
    main()
