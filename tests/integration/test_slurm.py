"""The SLURM profile on a real SLURM: `make test-slurm` (scripts/slurm-local.sh starts a
single-node cluster). Skipped where no SLURM controller answers.

The smoke DAG runs once locally and once through `snakemake --profile workflow/profiles/slurm`;
the jobs must have gone through sbatch and completed, every output under data/ and results/
must equal the local run's file by file (measured times and memory aside), a second run must
submit nothing, and a training job must get the resources params.yaml gives it. The fixture
writes what SLURM saw to evidence.txt in its temporary folder (keep it with --basetemp).
"""

import csv
import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

from .conftest import SNAKEMAKE, copy_project, run

pytestmark = [pytest.mark.integration, pytest.mark.slurm, pytest.mark.timeout(10800)]

# Every job asks for 1 CPU, 1500 MB and 15 minutes, training jobs for 3000 MB, 20 minutes and
# a GPU (the test cluster's node has a fake one): values neither params.yaml nor the executor
# profile has, so that scontrol shows they came from the profile's resources.
OVERRIDE = (
    "profiles={smoke: {resources: {default: {cpus: 1, mem_mb: 1500, runtime: 15},"
    " train: {mem_mb: 3000, runtime: 20, gpus: 1}}}}"
)
SLURM = [
    "--profile", "workflow/profiles/slurm",
    "--slurm-status-command", "squeue",  # the test cluster keeps no accounting database
    "--slurm-init-seconds-before-status-checks", "5",
    "--slurm-keep-successful-logs",
    "--jobs", "4",
    "--config", OVERRIDE,
]  # fmt: skip


def slurm_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    return subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not slurm_answers():
        pytest.skip("no SLURM controller answers: scripts/slurm-local.sh start")
    base = tmp_path_factory.mktemp("slurm")
    local, cluster = copy_project(base / "local"), copy_project(base / "cluster")
    # The local run computes while the cluster run waits on its status polls.
    with (base / "local.log").open("w") as log:
        local_run = subprocess.Popen(
            [*SNAKEMAKE, "--config", OVERRIDE], cwd=local, stdout=log, stderr=subprocess.STDOUT
        )
        first = run([SNAKEMAKE[0], *SLURM], cluster)
        assert local_run.wait() == 0, (base / "local.log").read_text()
    jobs = submitted_jobs(cluster)
    second = run([SNAKEMAKE[0], *SLURM], cluster)
    (base / "evidence.txt").write_text(evidence(jobs, first, second))
    return {"local": local, "cluster": cluster, "first": first, "second": second, "jobs": jobs}


def submitted_jobs(project: Path) -> dict[str, list[str]]:
    """rule -> SLURM job ids, from the executor's per-job logs (.snakemake/slurm_logs)."""
    jobs: dict[str, list[str]] = {}
    for log in sorted((project / ".snakemake/slurm_logs").rglob("*.log")):
        rule = next(p for p in log.relative_to(project).parts if p.startswith("rule_"))
        jobs.setdefault(rule.removeprefix("rule_"), []).append(log.stem)
    return jobs


def show_job(job_id: str) -> str:
    return subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
    ).stdout


def evidence(jobs: dict[str, list[str]], first, second) -> str:
    """What SLURM saw: every submitted job (squeue keeps finished ones for MinJobAge; the test
    cluster has no accounting database for sacct), one training job in full, the two runs."""
    ids = ",".join(i for group in jobs.values() for i in group)
    # The comment names the rule and wildcards (the job name is the workflow's id).
    fields = (
        "JobID:7,Comment:52,State:11,NumCPUs:6,MinMemory:11,TimeLimit:12,tres-per-job:14,TimeUsed:9"
    )
    queue = subprocess.run(
        ["squeue", "-t", "all", "-j", ids, "-O", fields], capture_output=True, text=True
    )
    return (
        f"$ squeue -t all -j <the {len(ids.split(','))} job ids> -O '{fields}'\n"
        f"{queue.stdout}{queue.stderr}\n"
        f"$ scontrol show job {jobs['train'][0]}\n{show_job(jobs['train'][0])}\n"
        f"first run (stderr tail):\n{first.stderr[-3000:]}\n"
        f"second run:\n{second.stdout}{second.stderr}"
    )


def test_every_job_went_through_sbatch_and_completed(runs):
    jobs = runs["jobs"]
    planned = planned_jobs(runs["local"])
    assert {rule: len(ids) for rule, ids in jobs.items()} == planned
    for job_id in (i for group in jobs.values() for i in group):
        assert "JobState=COMPLETED" in show_job(job_id), job_id


def planned_jobs(local: Path) -> dict[str, int]:
    """rule -> jobs that a run from nothing executes (target rules without a command excluded)."""
    out = run([*SNAKEMAKE, "-n", "--forceall", "--config", OVERRIDE], local).stdout
    table = out.split("Job stats:")[1].strip().split("\n\n")[0].splitlines()[2:]
    counts = {row.split()[0]: int(row.split()[1]) for row in table}
    counts.pop("total")
    counts.pop("all")
    return counts


#: Not compared: logs, Snakemake's per-job benchmarks (times, memory), resume files (removed
#: when a job ends) and directory-output timestamps.
UNCOMPARED = ("logs/", "results/benchmarks/", "results/resume/")
#: Measured, not computed: wall seconds per epoch in every training history, and the CLEL cost
#: table's seconds per iteration and peak memory (from those histories and benchmarks).
MEASURED_COLUMNS = {"seconds", "s / iteration", "peak RSS of the training job (MB)"}


def output_files(project: Path) -> list[Path]:
    """Every file the DAG wrote under data/ and results/, relative to ``project``."""
    files = (p for tree in ("data", "results") for p in (project / tree).rglob("*") if p.is_file())
    return sorted(
        rel
        for rel in (p.relative_to(project) for p in files)
        if not str(rel).startswith(UNCOMPARED) and rel.name != ".snakemake_timestamp"
    )


def same(a: Any, b: Any) -> bool:
    """Equal values, tensors bit for bit (NaN equal to NaN)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if (a.dtype, a.shape) != (b.dtype, b.shape):
            return False
        return torch.equal(a, b) or (
            a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
            and torch.equal(a.nan_to_num(), b.nan_to_num())
        )  # fmt: skip
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [
            {k: v for k, v in row.items() if k not in MEASURED_COLUMNS}
            for row in csv.DictReader(handle)
        ]


def differs(ours: Path, theirs: Path) -> bool:
    """Whether one output differs from the local run's. torch files are compared as loaded
    (the archive inside names the temporary file it was written to); JSON without the git
    revision of the checkout that ran it; CSV without measured columns; the rest byte for byte.
    """
    if ours.suffix == ".pt":
        return not same(*(torch.load(p, weights_only=False) for p in (ours, theirs)))
    if ours.suffix == ".json":
        records = [json.loads(p.read_text()) for p in (ours, theirs)]
        for record in records:
            if isinstance(record, dict) and isinstance(record.get("provenance"), dict):
                record["provenance"].pop("git_revision", None)
        return not same(*records)
    if ours.suffix == ".csv":
        return read_csv(ours) != read_csv(theirs)
    if ours.name.startswith("clel_cost.") and ours.parent.name == "tables":
        return False  # the .md and .tex of clel_cost.csv (compared) with its measured columns
    return ours.read_bytes() != theirs.read_bytes()


def test_outputs_equal_a_local_run(runs):
    local, cluster = runs["local"], runs["cluster"]
    files = output_files(local)
    assert output_files(cluster) == files
    kinds = {p.parts[1] if p.parts[0] == "results" else "data" for p in files}
    assert {
        "data",
        "checkpoints",
        "metrics",
        "latents",
        "tables",
        "figures",
        "samples",
    } <= kinds
    different = [str(rel) for rel in files if differs(cluster / rel, local / rel)]
    assert not different, f"{len(different)} of {len(files)} outputs differ: {different}"


def test_a_second_run_submits_nothing(runs):
    second = runs["second"]
    assert "Nothing to be done" in second.stdout + second.stderr
    assert submitted_jobs(runs["cluster"]) == runs["jobs"]


def test_a_training_job_gets_the_resources_of_its_profile(runs):
    shown = show_job(runs["jobs"]["train"][0])
    assert re.search(r"\bNumCPUs=1\b", shown), shown
    assert re.search(r"\bMinMemoryNode=3000M\b", shown), shown
    assert re.search(r"\bTimeLimit=00:20:00\b", shown), shown
    assert re.search(r"gres[:/]gpu[:=]1\b", shown), shown
    # Jobs of other rules get the profile's default.
    shown = show_job(runs["jobs"]["evaluate"][0])
    assert "MinMemoryNode=1500M" in shown and "TimeLimit=00:15:00" in shown
    assert not re.search(r"gres[:/]gpu", shown), shown
