"""Every job's code inputs hold every package module its command can run, and so do the deps
of the DVC stage that builds the job's outputs: editing such a module reruns the job.

What a command can run is the closure of its imports through the package
(:func:`latentrepro.codegraph.command_modules`, checked on a toy package in
test_import_graph.py and here against the modules Python really loads). The jobs and their
inputs are Snakemake's own: a dry run of the whole smoke DAG, read job by job.
"""

import ast
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from latentrepro import codegraph
from latentrepro.config import REPO_ROOT

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
JOB = re.compile(r"^(?:local)?rule (\w+):$")


@cache
def dry_run_jobs() -> list[dict]:
    """rule, inputs, outputs and shell command of every job of the default target."""
    out = subprocess.run(
        [str(SNAKEMAKE), "--dry-run", "--forceall", "--nolock", "--printshellcmds"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs: list[dict] = []
    for line in out.splitlines():
        if match := JOB.match(line):
            jobs.append({"rule": match.group(1), "input": [], "output": [], "shell": ""})
        elif jobs and line.startswith(("    input: ", "    output: ")):
            key, _, value = line.strip().partition(": ")
            jobs[-1][key] = value.split(", ")
        elif jobs and line.startswith("Shell command: "):
            jobs[-1]["shell"] = line.removeprefix("Shell command: ")
    return jobs


def command_of(shell: str) -> str | None:
    """``train`` for ``latentrepro --log L train ...``; None for other commands."""
    words = shell.split()
    if not words or words[0] != "latentrepro":
        return None
    words = words[1:]
    if words[0] == "--log":
        words = words[2:]
    return words[0]


def expected_files(command: str) -> set[str]:
    return {str(p.relative_to(REPO_ROOT)) for p in codegraph.command_files(command)}


def missing_code_inputs(jobs: list[dict]) -> list[str]:
    """'rule (command): file' for each module a job's command can run but the job lacks."""
    problems = []
    for job in jobs:
        command = command_of(job["shell"])
        if command is not None:
            missing = expected_files(command) - set(job["input"])
            problems += [f"{job['rule']} ({command}): {f}" for f in sorted(missing)]
    return problems


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def missing_dvc_deps(jobs: list[dict], stages: dict) -> list[str]:
    """'stage (rule): file' for each module a job's command can run that is in no dep of the
    first DVC stage whose outs hold one of the job's outputs."""
    problems = []
    for job in jobs:
        command = command_of(job["shell"])
        if command is None:
            continue
        for name, stage in stages.items():
            outs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
            outs += [next(iter(m)) for m in stage.get("metrics", [])]
            if any(_covered(out, outs) for out in job["output"]):
                missing = [
                    f for f in sorted(expected_files(command)) if not _covered(f, stage["deps"])
                ]
                problems += [f"{name} ({job['rule']}): {f}" for f in missing]
                break
        else:
            problems.append(f"{job['rule']}: outputs {job['output']} in no DVC stage's outs")
    return problems


def dvc_stages() -> dict:
    return yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def test_every_job_has_the_code_its_command_runs():
    jobs = dry_run_jobs()
    assert {command_of(j["shell"]) for j in jobs} >= {"download", "train", "evaluate", "report"}
    assert missing_code_inputs(jobs) == []


def test_every_dvc_stage_depends_on_the_code_its_jobs_run():
    assert missing_dvc_deps(dry_run_jobs(), dvc_stages()) == []


def test_a_removed_code_input_is_caught():
    """The checks fail when a module the command imports is taken out of a train job's inputs
    or out of the DVC stage's deps."""
    jobs = [dict(job) for job in dry_run_jobs()]
    train = next(j for j in jobs if j["rule"] == "train")
    train["input"] = [f for f in train["input"] if f != "src/latentrepro/density.py"]
    assert missing_code_inputs(jobs) == ["train (train): src/latentrepro/density.py"]
    stages = dvc_stages()
    stages["train"]["deps"] = ["Snakefile", "workflow", "src/latentrepro/models"]
    assert "train (train): src/latentrepro/train.py" in missing_dvc_deps(dry_run_jobs(), stages)


def test_rules_outside_the_smoke_dag_name_their_command():
    """A rule calling `latentrepro CMD` takes `code=code("CMD")` (rules the smoke DAG does not
    run are checked here, by their text)."""
    for path in sorted((REPO_ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule |checkpoint )", path.read_text())[1:]:
            name = block.split(":")[0].split()[1]
            if match := re.search(r'"latentrepro --log \{log\} ([a-z-]+)', block):
                assert f'code=code("{match.group(1)}")' in block, f"{path.name}: rule {name}"


@pytest.mark.parametrize(
    ("command", "module"),
    [
        ("train", "latentrepro.train"),
        ("evaluate", "latentrepro.evaluation"),
        ("report", "latentrepro.report"),
    ],
)
def test_the_closure_holds_what_python_loads(command, module):
    """Import what the command's function imports (and cli.py) in a fresh interpreter: every
    package module Python loads is in the closure (the closure also holds deferred imports,
    which do not run here)."""
    tree, functions, names = codegraph._cli_functions(codegraph.ROOT)
    imports = set()
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    for node in [*top, *(functions[f] for f in (*codegraph.COMMON_FUNCTIONS, names[command]))]:
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and (sub.module or "").startswith("latentrepro"):
                imports.add(sub.module)
    code = (
        "import importlib, json, sys\n"
        f"for name in {sorted(imports)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'latentrepro')))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    closure = codegraph.command_modules(command)
    assert module in loaded
    assert set(loaded) - closure == set()
