"""``latentrepro [--log LOG] <stage> ...``: the only entry point the workflow's rules call.

Every stage takes its inputs and outputs as explicit paths and the part of params.yaml it
depends on as JSON (resolved by :mod:`latentrepro.config`), writes its outputs atomically, and
exits non-zero with a one-line reason on bad input. With ``--log``, everything the stage prints
goes to LOG and its progress, warnings and errors also reach the console
(:mod:`latentrepro.progress`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from latentrepro.config import ParamsError, config_hash, load_params, runs


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text[:80]!r}") from None


def cmd_download(args: argparse.Namespace) -> None:
    from latentrepro.data.download import fetch_dataset

    mirror = args.mirror or os.environ.get("LATENTREPRO_MIRROR") or None
    mirror = Path(mirror) if mirror else None
    path = fetch_dataset(args.dataset, Path(args.root), mirror, args.options, progress=True)
    print(f"{args.dataset}: ready in {path}")


def cmd_tokenize(args: argparse.Namespace) -> None:
    from latentrepro.data.registry import get_dataset
    from latentrepro.data.tokenize import prepare_arrays, tokenize_dataset

    spec = get_dataset(args.dataset)
    if spec.kind != "text":
        stats = prepare_arrays(Path(args.raw), Path(args.out), spec)
    elif args.vocab_size is None or args.max_length is None:
        raise ValueError(f"{args.dataset}: a text dataset needs --vocab-size and --max-length")
    else:
        stats = tokenize_dataset(
            Path(args.raw), Path(args.out), spec, args.vocab_size, args.max_length
        )
    print(json.dumps({k: v for k, v in stats.items() if k != "raw_sha256"}, indent=1))


def cmd_train(args: argparse.Namespace) -> None:
    from latentrepro.io import save_torch
    from latentrepro.models import build_model, get_family
    from latentrepro.train import ResumeFile, fit, keeps_last_weights, saved_epoch, write_history

    config, data = args.config, Path(args.data)
    family = get_family(config)
    model = build_model(config, data, args.seed)
    weights, state = fit(
        model,
        family.load_split(data / "train.pt"),
        family.load_split(data / "valid.pt"),
        config,
        args.seed,
        Path(args.resume),
        progress_bar=not args.no_progress,
    )
    write_history(Path(args.history), state.history)
    meta = {
        "config": config,
        "config_hash": config_hash(config),
        "seed": args.seed,
        "best_epoch": state.best_epoch,
        # The last epoch for models that keep their final weights (their validation loss
        # does not rank epochs), else the best-validation one.
        "weights_epoch": saved_epoch(model, state),
        "epochs_run": state.epoch,
        "lr_decays": state.decays,
    }
    save_torch(args.out, {"state_dict": weights, **meta})
    ResumeFile(Path(args.resume)).remove()
    which = "last epoch" if keeps_last_weights(model) else "best validation epoch"
    print(f"saved {args.out} ({which}, {meta['weights_epoch']})")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from latentrepro.data.tokenize import evaluation_split_file
    from latentrepro.evaluation import get_evaluator
    from latentrepro.io import load_torch, read_json, save_torch, write_json
    from latentrepro.models import build_model, get_family
    from latentrepro.provenance import dataset_checksums, git_revision
    from latentrepro.train import resolve_device

    checkpoint = load_torch(args.checkpoint, map_location="cpu", weights_only=False)
    train_config, data = checkpoint["config"], Path(args.data)
    family, evaluator = get_family(train_config), get_evaluator(train_config)
    model = build_model(train_config, data, args.seed)
    model.load_state_dict(checkpoint["state_dict"])
    settings = with_extractor(args.settings["evaluate"], args.extractor, data)
    device = resolve_device(args.settings["device"])
    split_file, names = data / f"{args.split}.pt", {}
    if (data / "vocab.json").is_file():  # text: whole sentences or cut as in training
        split_file, names["sentences"] = evaluation_split_file(
            data, args.split, settings.get("whole_sentences", False)
        )
    split = family.load_split(split_file)
    extra: dict[str, Any] = {}
    if evaluator.uses_train_split:
        extra["train"] = family.load_split(data / "train.pt")
    if evaluator.uses_vocabulary:
        extra["itos"] = read_json(data / "vocab.json")["itos"]
    metrics, latents = evaluator.evaluate(model, split, settings, args.seed, device, **extra)
    estimators = metrics.pop("estimators", {})  # a family's own estimator notes
    # The estimator choices by name, for table headers and captions.
    estimators["names"] = {**metrics.pop("protocol_names", {}), **names}
    metrics, null_reasons = undefined_as_null(metrics, metrics.pop("null_reasons", {}))
    record = {
        "dataset": train_config["dataset"]["name"],
        "model": train_config["model"]["name"],
        "seed": args.seed,
        "split": args.split,
        "metrics": metrics,
        "null_reasons": null_reasons,
        "estimators": {**settings, "protocol": evaluator.protocol, **estimators},
        "provenance": {
            "train_config_hash": checkpoint["config_hash"],
            "evaluate_config_hash": config_hash(args.settings),
            "git_revision": git_revision(),
            "data": dataset_checksums(Path(args.manifest)),
            "best_epoch": checkpoint["best_epoch"],
            "weights_epoch": checkpoint.get("weights_epoch", checkpoint["best_epoch"]),
            "epochs_run": checkpoint["epochs_run"],
        },
    }
    save_torch(args.latents, latents)
    write_json(args.out, record)
    print(json.dumps(metrics, indent=1))


def with_extractor(settings: dict[str, Any], extractor: str | None, data: Path) -> dict[str, Any]:
    """``settings`` with its FID feature extractor located: a ``classifier`` extractor reads
    the checkpoint ``extractor`` (a trained image_classifier run on ``data``), an ``inception``
    one the weights file fetched into the directory ``extractor`` (registry ``inception_fid``).
    The settings' hash (provenance) is taken before, so where the files lie is not part of it."""
    if "extractor" not in settings:
        return settings
    spec = dict(settings["extractor"])
    if extractor is None:
        raise ValueError(
            f"evaluate: extractor {spec['kind']!r} needs --extractor (a classifier checkpoint "
            "or the inception_fid weights directory)"
        )
    if spec["kind"] == "classifier":
        spec.update(checkpoint=extractor, data=str(data))
    else:
        from latentrepro.data.registry import get_dataset

        (file,) = get_dataset("inception_fid").files
        spec["weights"] = str(Path(extractor) / file.path)
    return {**settings, "extractor": spec}


def undefined_as_null(
    metrics: dict[str, Any], reasons: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Metrics with every NaN or infinite value as None, and why each of them is undefined:
    the evaluator's reason, or the value itself when it gave none (JSON holds neither NaN
    nor infinity)."""
    import math

    values, why = {}, {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            values[key] = None
            why[key] = reasons.get(key, f"the estimate was {value} (no reason given)")
        else:
            values[key] = value
    return values, why


def cmd_report(args: argparse.Namespace) -> None:
    from latentrepro.report.experiments import build_report

    written = build_report(
        experiments=args.experiments,
        metrics_paths=[Path(p) for p in args.metrics],
        history_paths=[Path(p) for p in args.histories],
        latent_paths=[Path(p) for p in args.latents],
        tables_dir=Path(args.tables),
        figures_dir=Path(args.figures),
        summary_path=Path(args.summary),
    )
    print("\n".join(str(p) for p in written))


def cmd_sample(args: argparse.Namespace) -> None:
    from latentrepro.evaluation.samples import get_sampler
    from latentrepro.io import load_torch, save_torch, write_json
    from latentrepro.models import build_model

    sampler = get_sampler(args.kind)
    if sampler.uses_tool != (args.tool is not None):
        need = (
            "needs --tool (the checkpoint of the run it uses)"
            if sampler.uses_tool
            else ("takes no --tool")
        )
        raise ValueError(f"sample {args.kind}: {need}")
    checkpoint = load_torch(args.checkpoint, map_location="cpu", weights_only=False)
    config, data = checkpoint["config"], Path(args.data)
    model = build_model(config, data, args.seed)
    model.load_state_dict(checkpoint["state_dict"])
    tool = Path(args.tool) if args.tool else None
    record, tensors = sampler.draw(model, config, data, args.settings, tool, args.seed)
    save_torch(args.out, tensors)
    write_json(args.record, record)
    scores = record.get("scores", record.get("metrics", {}))
    print(json.dumps({k: v for k, v in scores.items() if not isinstance(v, list)}, indent=1))


def cmd_render(args: argparse.Namespace) -> None:
    from latentrepro.report.renderers import INPUTS, ReportInputs, render

    inputs = ReportInputs(**{kind: [Path(p) for p in getattr(args, kind)] for kind in INPUTS})
    written = render(inputs, args.config, Path(args.results))
    print("\n".join(str(p) for p in written))


def cmd_check_params(args: argparse.Namespace) -> None:
    overrides = dict(_parse_override(item) for item in args.set)
    params = load_params(args.params, overrides)
    grid = runs(params)
    print(f"{args.params}: valid; profile {params['profile']!r} trains {len(grid)} run(s)")
    for run in grid:
        print(f"  {run.dataset} / {run.model} / seed {run.seed}")


def cmd_show_config(args: argparse.Namespace) -> None:
    from latentrepro.config import (
        SAMPLE_TOOLS,
        active_profile,
        active_reports,
        evaluate_config,
        experiments,
        report_config,
        sample_config,
        sample_runs,
        sample_tool,
        train_config,
    )

    overrides = {**dict(_parse_override(item) for item in args.set), "profile": args.profile}
    params = load_params(args.params, overrides)
    jobs: dict[str, Any] = {}
    for run in runs(params):
        key = f"{run.dataset}/{run.model}/seed{run.seed}"
        jobs[f"train {key}"] = train_config(params, run.dataset, run.model)
        jobs[f"evaluate {key}"] = evaluate_config(params, run.dataset, run.model)
    for kind in params.get("samples", {}):
        for run in sample_runs(params, kind):
            key = f"{run.dataset}/{run.model}/seed{run.seed}"
            settings = sample_config(params, kind, run.dataset, run.model)
            if kind in SAMPLE_TOOLS:
                tool = sample_tool(params, kind, run.dataset, run.model)
                settings = {**settings, "tool": f"{tool.dataset}/{tool.model}/seed{tool.seed}"}
            jobs[f"sample {kind} {key}"] = settings
    for name in active_reports(params):
        config = report_config(params, name)
        jobs[f"render {name}"] = {k: v for k, v in config.items() if k != "models"}
    resolved = {
        "profile": args.profile,
        "experiments": experiments(params),
        "resources": active_profile(params).get("resources", {}),
        "jobs": jobs,
    }
    # through JSON: jobs share sections, which YAML would print as anchors
    print(yaml.safe_dump(json.loads(json.dumps(resolved)), sort_keys=False, width=100), end="")


def _parse_override(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep:
        raise ParamsError(f"--set expects KEY=VALUE, got {item!r}")
    return key, yaml.safe_load(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latentrepro", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log",
        default=None,
        help="write everything the stage prints to LOG; progress, warnings and errors also "
        "reach the console, prefixed with the job's name (LOG without logs/ and .log)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], None], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = add(
        "download", cmd_download, "fetch (or generate) a dataset, sha256-checked, into ROOT/DATASET"
    )
    p.add_argument("dataset")
    p.add_argument("--root", default="data/raw")
    p.add_argument(
        "--mirror",
        default=None,
        help="local directory holding the dataset files (default: $LATENTREPRO_MIRROR)",
    )
    p.add_argument(
        "--options", type=_json, default={}, help="generator options (JSON), embedded datasets"
    )

    p = add(
        "tokenize",
        cmd_tokenize,
        "build the vocabulary and numericalise a text dataset (points/images: tensors only)",
    )
    p.add_argument("dataset")
    p.add_argument("--raw", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--vocab-size", type=int, default=None, help="text datasets only")
    p.add_argument("--max-length", type=int, default=None, help="text datasets only")

    p = add("train", cmd_train, "train one model on one dataset with one seed (resumable)")
    p.add_argument("--config", type=_json, required=True, help="resolved training config (JSON)")
    p.add_argument("--data", required=True, help="processed dataset directory")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="model file to write")
    p.add_argument("--history", required=True, help="training curve CSV to write")
    p.add_argument("--resume", required=True, help="checkpoint path for resuming after a kill")
    p.add_argument("--no-progress", action="store_true")

    p = add("evaluate", cmd_evaluate, "compute the metrics of a trained model on a split")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", choices=["train", "valid", "test", "train+valid"])
    p.add_argument("--settings", type=_json, required=True, help="estimator settings (JSON)")
    p.add_argument(
        "--extractor",
        default=None,
        help="FID features (image EBMs): the classifier checkpoint, or the Inception weights "
        "directory, of the settings' extractor",
    )
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--manifest", required=True, help="raw dataset manifest (for sha256 provenance)")
    p.add_argument("--out", required=True)
    p.add_argument("--latents", required=True)

    p = add("report", cmd_report, "tables (md, csv, tex) and figures from metrics and histories")
    p.add_argument("--experiments", type=_json, required=True)
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--histories", nargs="*", default=[])
    p.add_argument("--latents", nargs="*", default=[])
    p.add_argument("--tables", required=True)
    p.add_argument("--figures", required=True)
    p.add_argument("--summary", required=True)

    p = add(
        "sample",
        cmd_sample,
        "draw one kind of samples from a trained run (params.yaml samples: interpolation, "
        "conditional)",
    )
    p.add_argument("kind")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="processed dataset directory of the run")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--settings", type=_json, required=True, help="the kind's settings (JSON)")
    p.add_argument("--tool", default=None, help="checkpoint of the run the kind uses (a scorer)")
    p.add_argument("--out", required=True, help="the samples' tensors (.pt)")
    p.add_argument("--record", required=True, help="scores and examples (.json)")

    p = add("render", cmd_render, "one report's tables and figures (params.yaml reports)")
    p.add_argument("--config", type=_json, required=True, help="the report's resolved config")
    for kind in ("metrics", "histories", "latents", "benchmarks", "samples", "data"):
        p.add_argument(f"--{kind}", nargs="*", default=[])
    p.add_argument("--results", default="results", help="directory of tables/ and figures/")

    p = add(
        "show-config",
        cmd_show_config,
        "print the resolved settings of every job of a profile (`extends` resolved)",
    )
    p.add_argument("profile")
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")

    p = add(
        "check-params", cmd_check_params, "validate params.yaml and list the runs of its profile"
    )
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from latentrepro.progress import logging_to

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.log is None:
        return _run(args)
    log = Path(args.log)
    with logging_to(log, job_label(args.command, log), shlex.join(["latentrepro", *argv])):
        return _run(args, args.log)


def job_label(command: str, log: Path) -> str:
    """``train/ptb/vae/seed0`` for ``logs/train/ptb/vae/seed0.log``: the job a line is from."""
    parts = log.with_suffix("").parts
    return "/".join(parts[parts.index("logs") + 1 :] if "logs" in parts else (command, log.stem))


def _run(args: argparse.Namespace, log: str | None = None) -> int:
    """Run the stage; a known failure is one line (exit 2), any other keeps its traceback in
    the log and puts its last line on the console (exit 1)."""
    from latentrepro.errors import DataError, NonFiniteLossError
    from latentrepro.io import StorageError
    from latentrepro.progress import note

    known = (
        ParamsError,
        DataError,
        NonFiniteLossError,
        StorageError,
        FileNotFoundError,
        ValueError,
    )
    try:
        args.func(args)
    except known as err:
        note(f"latentrepro {args.command}: error: {err}")
        return 2
    except Exception as err:
        if log is None:
            raise
        traceback.print_exc()
        note(f"latentrepro {args.command}: error: {type(err).__name__}: {err} (traceback in {log})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
