"""The SLURM profile on a real SLURM: `make test-slurm` (scripts/slurm-local.sh starts a
single-node cluster). Skipped where no SLURM controller answers.

The smoke DAG runs once locally and once through `snakemake --profile workflow/profiles/slurm`;
the jobs must have gone through sbatch, the outputs must equal the local run's, a second run
must submit nothing, and a training job must get the resources params.yaml gives it.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import SNAKEMAKE, copy_project, run

pytestmark = [pytest.mark.integration, pytest.mark.slurm, pytest.mark.timeout(5400)]

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
    (base / "evidence.txt").write_text(evidence(cluster, jobs))
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


def evidence(project: Path, jobs: dict[str, list[str]]) -> str:
    ids = ",".join(i for group in jobs.values() for i in group)
    sacct = subprocess.run(
        ["sacct", "-j", ids, "-X", "-o", "JobID,JobName%40,State,AllocCPUS,ReqMem,Timelimit"],
        capture_output=True, text=True,
    )  # fmt: skip
    return f"{sacct.stdout}{sacct.stderr}\n{show_job(jobs['train'][0])}"


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


def test_outputs_equal_a_local_run(runs):
    local, cluster = runs["local"], runs["cluster"]
    tables = sorted(p.relative_to(local) for p in (local / "results/tables").rglob("*.csv"))
    assert tables
    for rel in tables:
        assert (cluster / rel).read_text() == (local / rel).read_text(), rel
    records = sorted((local / "results/metrics/runs").rglob("*.json"))
    assert records
    for path in records:
        rel = path.relative_to(local)
        ours, theirs = (json.loads(p.read_text()) for p in (cluster / rel, path))
        assert ours["metrics"] == theirs["metrics"], rel


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
