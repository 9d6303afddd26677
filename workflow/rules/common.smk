import json
import os
import shutil
import sys
from pathlib import Path

from latentrepro import config as lr

try:
    PARAMS = lr.validate_params(config)
except lr.ParamsError as err:
    sys.exit(str(err))

RUNS = lr.runs(PARAMS)
DATASETS = lr.datasets(PARAMS)
EXPERIMENTS = lr.experiments(PARAMS)
DATA = PARAMS["data"]["root"]
# The mirror reaches `latentrepro download` through the environment rather than `params`:
# where the files come from is not provenance (they are sha256-checked either way), so
# switching between a mirror and the network must rerun nothing.
os.environ.update(LATENTREPRO_MIRROR=PARAMS["data"]["mirror"] or "")


envvars:
    "LATENTREPRO_MIRROR",


# Each job runs `latentrepro --log {log} <stage> ...`: the log keeps the job's full record
# (all it prints, tracebacks included), while its progress, warnings and errors also reach the
# console, prefixed with the job's name (latentrepro.progress).
# Jobs ask a cluster for a GPU unless the profile runs on the CPU.
GPUS = 0 if lr.active_profile(PARAMS)["device"] == "cpu" else 1
ENV = "../envs/latentrepro.yaml"
# Paper-specific rule files (workflow/rules/<paper>.smk) append their final outputs here;
# `rule all` requests them next to the generic report.
EXTRA_TARGETS = []


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    model="[a-z][a-z0-9_]*",
    seed=r"\d+",


def code(*parts):
    """The package's Python sources under src/latentrepro/<part>, as inputs, so that a job
    reruns when the code it runs changes (the same dependencies dvc.yaml declares)."""
    root = Path(workflow.basedir) / "src" / "latentrepro"
    files = []
    for part in parts:
        path = root / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [str(f.relative_to(workflow.basedir)) for f in files]


def run_paths(pattern):
    """`pattern` formatted for every (dataset, model, seed) of the active profile."""
    return [pattern.format(dataset=r.dataset, model=r.model, seed=r.seed) for r in RUNS]


# Rules call the `latentrepro` command: it comes from the project's .venv (`make run` puts it
# on PATH) or from the conda environment under --use-conda. Checked only when jobs are about
# to run, so that linting and dry runs need no environment.
onstart:
    if shutil.which("latentrepro") is None and not lr.uses_conda(workflow):
        sys.exit(
            "the `latentrepro` command is not on PATH: run `make run`, or activate the "
            "environment (source .venv/bin/activate), or add --use-conda"
        )
