import json
import os
import shutil
import sys
from pathlib import Path

from latentrepro import codegraph
from latentrepro import config as lr

try:
    # --config values reach `config` as strings below the top level: validation coerces them
    # to the schema's types and names the command line as the source of a bad one.
    PARAMS = lr.validate_params(config, overrides=dict(workflow.config_settings.config))
except lr.ParamsError as err:
    sys.exit(str(err))

RUNS = lr.runs(PARAMS)
DATASETS = lr.datasets(PARAMS)
EXPERIMENTS = lr.experiments(PARAMS)
DATA = PARAMS["data"]["root"]
# The FID Inception weights (registry entry inception_fid), fetched by rule `weights`.
INCEPTION_WEIGHTS = f"{DATA}/weights/inception_fid"
# The mirror reaches `latentrepro download` through the environment rather than `params`:
# where the files come from is not provenance (they are sha256-checked either way), so
# switching between a mirror and the network must rerun nothing.
os.environ.update(LATENTREPRO_MIRROR=PARAMS["data"]["mirror"] or "")


envvars:
    "LATENTREPRO_MIRROR",


# Each job runs `latentrepro --log {log} <stage> ...`: the log keeps the job's full record
# (all it prints, tracebacks included), while its progress, warnings and errors also reach the
# console, prefixed with the job's name (latentrepro.progress).
# What a job asks of a scheduler (threads locally; CPUs, memory, run time and GPUs on SLURM),
# per rule, from the active profile's `resources` (see workflow/profiles/slurm).
RESOURCES = lr.active_profile(PARAMS).get("resources", {})
ENV = "../envs/latentrepro.yaml"
# The reports' rules (workflow/rules/reports.smk) append their outputs here; `rule all`
# requests them next to the generic report.
EXTRA_TARGETS = []


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    model="[a-z][a-z0-9_]*",
    seed=r"\d+",


def job_spec(rule_name):
    """The profile's `resources.default` with `resources.<rule_name>` over it."""
    return {**RESOURCES.get("default", {}), **RESOURCES.get(rule_name, {})}


def job_threads(rule_name):
    return job_spec(rule_name).get("cpus", 1)


def job_resources(rule_name):
    """Snakemake resources of a job: mem_mb, runtime (minutes) and gpu, where the profile
    sets them (the SLURM executor turns them into --mem, --time and --gpus; unset ones fall
    back to the executor profile's default-resources)."""
    spec = job_spec(rule_name)
    names = {"mem_mb": "mem_mb", "runtime": "runtime", "gpus": "gpu"}
    return {names[key]: value for key, value in spec.items() if key in names}


def check_resource_rules():
    """A `resources` entry must name a rule of the workflow (or be `default`)."""
    known = {r.name for r in workflow.rules}
    unknown = sorted(set(RESOURCES) - known - {"default"})
    if unknown:
        sys.exit(
            f"invalid params.yaml: profiles.{PARAMS['profile']}.resources: no rule named "
            f"{', '.join(map(repr, unknown))} (rules: {', '.join(sorted(known))})"
        )


def code(command):
    """The package sources `latentrepro <command>` can run, as inputs, so that a job reruns
    when the code it runs changes and only then: the modules the command imports, followed
    transitively through the package (deferred imports included; latentrepro.codegraph).
    tests/unit/test_rule_inputs.py checks every job of the DAG against it."""
    root = Path(workflow.basedir) / "src" / "latentrepro"
    files = codegraph.command_files(command, root)
    return [str(f.relative_to(workflow.basedir)) for f in files]


def checkpoint_of(run):
    return f"results/checkpoints/{run.dataset}/{run.model}/seed{run.seed}/model.pt"


def extractor_input(dataset, model):
    """What an evaluation's FID extractor reads: the checkpoint of the classifier run it
    names, or the fetched Inception weights; nothing for models without FID."""
    spec = lr.evaluate_config(PARAMS, dataset, model)["evaluate"].get("extractor")
    if spec is None:
        return []
    if spec["kind"] == "classifier":
        return checkpoint_of(lr.trained_run(PARAMS, dataset, spec["model"]))
    return INCEPTION_WEIGHTS


def sample_tool_input(w):
    """The checkpoint of the run a kind of samples uses (a scorer), or nothing."""
    run = lr.sample_tool(PARAMS, w.kind, w.dataset, w.model)
    return [] if run is None else checkpoint_of(run)


def report_inputs(name, reads):
    """The files of each kind a report reads, for its runs (latentrepro.config.report_runs)."""
    runs, drawn = lr.report_runs(PARAMS, name), lr.report_samples(PARAMS, name)
    kind = PARAMS["reports"][name].get("samples")
    patterns = {
        "metrics": ("results/metrics/runs/{dataset}/{model}/seed{seed}.json", runs),
        "histories": ("results/curves/{dataset}/{model}/seed{seed}.csv", runs),
        "latents": ("results/latents/{dataset}/{model}/seed{seed}.pt", runs),
        "benchmarks": (
            "results/benchmarks/train/{dataset}/{model}/seed{seed}.tsv",
            runs,
        ),
        "samples": (
            f"results/samples/{kind}/{{dataset}}/{{model}}/seed{{seed}}.json",
            drawn,
        ),
    }
    files = {k: run_paths(*patterns[k]) for k in reads if k in patterns}
    if "data" in reads:
        files["data"] = [
            f"{DATA}/processed/{d}" for d in sorted({r.dataset for r in runs})
        ]
    return files


def run_paths(pattern, runs=None):
    """`pattern` formatted for every (dataset, model, seed) of `runs` (default: every run of
    the active profile)."""
    return [
        pattern.format(dataset=r.dataset, model=r.model, seed=r.seed)
        for r in (RUNS if runs is None else runs)
    ]


# Rules call the `latentrepro` command: it comes from the project's .venv (`make run` puts it
# on PATH) or from the conda environment under --use-conda. Checked only when jobs are about
# to run, so that linting and dry runs need no environment.
onstart:
    if shutil.which("latentrepro") is None and not lr.uses_conda(workflow):
        sys.exit(
            "the `latentrepro` command is not on PATH: run `make run`, or activate the "
            "environment (source .venv/bin/activate), or add --use-conda"
        )
