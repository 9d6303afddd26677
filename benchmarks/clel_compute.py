"""The paper's compute claim side by side: baseline EBM vs CLEL at equal wall-clock seconds.

For every seed both models train for the same ``--seconds`` of training compute: CPU seconds
of the training process, one thread (``time.process_time``, evaluation excluded), which on an
idle core equals wall-clock time and, unlike wall-clock time, is not inflated by other jobs on
a shared machine. Each run is its own subprocess; runs are interleaved (EBM first for even
seeds, CLEL first for odd ones). At ``--snapshots`` equally spaced times the run pauses and
records its iterations, the peak resident memory so far and the FID of samples from its EMA
network under the profile's FID protocol, with the workflow-trained classifier as extractor,
against the reference split; CLEL runs also record the coupling on held-out images (matched
cos(g(f(x)), h(x)) and its gap over mismatched pairs, online and EMA network, encoder in eval
mode). After the last snapshot CLEL's conditional and compositional samples are scored by the
same independent classifier.

Settings come from the ``clel`` experiment of the profile given (``train_config``: the
networks of ``archs.image_ebm.<dataset>``, the experiment's SGLD, buffer, EMA and optimisers;
its ``evaluate`` FID settings and split; its ``conditional`` sampler); the learning-rate
schedules run over the number of iterations that the first five iterations' pace predicts for
``--seconds``. Writes ``compute.json``, ``compute.md`` (final FIDs with a
Welch t-test, costs, conditional scores) and ``compute.png`` (FID against training seconds and
against peak memory) into ``--out``.

    nice -n 10 .venv/bin/python benchmarks/clel_compute.py --profile fashion_cpu \\
        --data data/images/processed/fashion_mnist \\
        --classifier results/clel/checkpoints/fashion_mnist/fid_classifier.pt \\
        --seconds 480 --snapshots 4 --seeds 0 1 2 --out results/clel/compute
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = 5


def coupling_stats(model, x) -> dict[str, float]:
    """Matched cos(g(f(x_i)), h(x_i)) and its gap over mismatched pairs, online and EMA."""
    from clel_coupling import alignment  # benchmarks/clel_coupling.py

    out = {}
    for name, net in (("online", model.net), ("ema", model.sampler_net)):
        was = net.training
        out[f"cos_{name}"], out[f"gap_{name}"] = alignment(model, net, x)
        net.train(was)
    return out


def run_one(args: argparse.Namespace) -> dict:
    import torch

    from latentrepro.cli import with_extractor
    from latentrepro.config import (
        evaluate_config,
        evaluate_split,
        load_params,
        sample_config,
        train_config,
    )
    from latentrepro.data.images import ImageSplit
    from latentrepro.evaluation.image_ebm import generate_samples, load_extractor
    from latentrepro.metrics.features import gaussian_fit
    from latentrepro.metrics.fid import fid_from_fits
    from latentrepro.models import build_model
    from latentrepro.models.image.conditional import class_medians, guided_samples, score_guided
    from latentrepro.train import Optimisers

    torch.set_num_threads(1)
    params = load_params(ROOT / "params.yaml", {"profile": args.profile})
    dataset = params["profiles"][args.profile]["experiments"]["clel"]["datasets"][0]
    config = train_config(params, dataset, args.model)
    data = Path(args.data)
    train = ImageSplit.load(data / "train.pt")
    label = params["archs"]["image_classifier"][dataset]["label"]
    split = evaluate_split(params, dataset, args.model)
    reference_split = ImageSplit.load(data / f"{split}.pt")
    evaluate = evaluate_config(params, dataset, args.model)["evaluate"]
    settings = with_extractor(evaluate, args.classifier, data)
    if args.fid_samples:
        settings["fid"]["samples"] = args.fid_samples
    extractor = load_extractor(settings["extractor"], torch.device("cpu"))
    chunk = settings["fid"]["batch_size"]
    chunks = [reference_split.x[i : i + chunk] for i in range(0, len(reference_split), chunk)]
    reference = gaussian_fit(extractor, chunks)
    held_out = reference_split.x[:500]

    model = build_model(config, data, args.seed)
    optimisers = Optimisers.for_model(model, config["model"])
    batch_size = config["train"]["batch_size"]
    epoch, step, trained, wall, horizon = 0, 0, 0.0, 0.0, None
    marks = [args.seconds * (k + 1) / args.snapshots for k in range(args.snapshots)]
    snapshots, logs = [], {}
    model.train()
    while marks:
        shuffle = torch.Generator().manual_seed(args.seed * 1_000_003 + epoch)
        for batch in train.batches(batch_size, shuffle, "cpu"):
            started, wall_start = time.process_time(), time.perf_counter()
            optimisers.schedule(step, horizon or 10**9)
            loss, logs = model.training_step(batch, 0.0)
            optimisers.step(loss)
            model.after_step()
            trained += time.process_time() - started
            wall += time.perf_counter() - wall_start
            step += 1
            if step == CALIBRATION:
                horizon = int(args.seconds / (trained / step))
            if trained >= marks[0]:
                marks.pop(0)
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                model.eval()
                torch.manual_seed(args.seed)
                samples = generate_samples(model, settings["fid"])
                fit = gaussian_fit(
                    extractor, [samples[i : i + chunk] for i in range(0, len(samples), chunk)]
                )
                row = {
                    "seconds": trained, "wall_seconds": wall, "iterations": step,
                    "peak_rss_mb": peak,
                    "fid": fid_from_fits(fit, reference), "train_logs": logs,
                }  # fmt: skip
                if hasattr(model, "encoder"):
                    row.update(coupling_stats(model, held_out))
                model.train()
                snapshots.append(row)
                print(json.dumps({"progress": row}), file=sys.stderr, flush=True)
                if not marks:
                    break
        epoch += 1
    result = {
        "model": args.model, "seed": args.seed, "snapshots": snapshots,
        "schedule_horizon": horizon, "fid_extractor": extractor.name,
        "reference": f"{dataset} {split} ({len(reference_split)} images)",
        "fid_samples": settings["fid"]["samples"], "fid_protocol": settings["fid"]["protocol"],
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }  # fmt: skip
    if args.checkpoints:
        path = Path(args.checkpoints) / f"{args.model}_seed{args.seed}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"config": config, "seed": args.seed, "state_dict": model.state_dict()}
        torch.save(state, path)  # the format of `latentrepro sample conditional --checkpoint`
        result["checkpoint"] = str(path)
    if hasattr(model, "encoder") and args.conditional:
        torch.manual_seed(args.seed)
        conditional = sample_config(params, "conditional", dataset, args.model)
        guided = guided_samples(model, train, label, conditional)
        classifier = load_extractor(settings["extractor"], torch.device("cpu")).net
        result["conditional"] = score_guided(guided, classifier, class_medians(train, label))
    return result


def welch(a: list[float], b: list[float]) -> tuple[float, float]:
    from scipy import stats

    test = stats.ttest_ind(a, b, equal_var=False)
    return float(test.statistic), float(test.pvalue)


def mean_std(values: list[float]) -> str:
    import numpy as np

    array = np.asarray(values, dtype=float)
    return f"{array.mean():.2f} ± {array.std(ddof=1):.2f}" if len(array) > 1 else f"{array[0]:.2f}"


def report(results: list[dict], args: argparse.Namespace, out: Path) -> None:
    import numpy as np

    by_model = {m: [r for r in results if r["model"] == m] for m in ("ebm", "clel")}
    lines = [
        f"EBM vs CLEL at equal training compute ({args.seconds:g} CPU s per run, one thread, "
        f"profile {args.profile}, seeds {args.seeds}).",
        f"FID extractor: {results[0]['fid_extractor']}; {results[0]['fid_samples']} samples "
        f"({results[0]['fid_protocol']} protocol) against {results[0]['reference']}.",
        "",
        "| model | training CPU s | iterations | s / iteration | peak RSS (MB) | parameters | "
        + " | ".join(f"FID at {k + 1}/{args.snapshots}" for k in range(args.snapshots))
        + " |",
        "|---|" + "---|" * (5 + args.snapshots),
    ]
    for model, runs in by_model.items():
        last = [r["snapshots"][-1] for r in runs]
        fids = [mean_std([r["snapshots"][k]["fid"] for r in runs]) for k in range(args.snapshots)]
        lines.append(
            f"| {model} | {mean_std([s['seconds'] for s in last])} | "
            f"{mean_std([s['iterations'] for s in last])} | "
            f"{mean_std([s['seconds'] / s['iterations'] for s in last])} | "
            f"{mean_std([s['peak_rss_mb'] for s in last])} | {runs[0]['parameters']:,} | "
            + " | ".join(fids)
            + " |"
        )
    lines += ["", "| snapshot | Welch t (EBM - CLEL) | p |", "|---|---|---|"]
    for k in range(args.snapshots):
        t, p = welch(
            [r["snapshots"][k]["fid"] for r in by_model["ebm"]],
            [r["snapshots"][k]["fid"] for r in by_model["clel"]],
        )
        lines.append(f"| {k + 1}/{args.snapshots} | {t:.2f} | {p:.3f} |")
    lines += ["", "CLEL coupling on 500 held-out images (encoder in eval mode):", ""]
    lines += ["| snapshot | cos online | gap online | cos EMA | gap EMA |", "|---|---|---|---|---|"]
    for k in range(args.snapshots):
        snaps = [r["snapshots"][k] for r in by_model["clel"]]
        lines.append(
            f"| {k + 1}/{args.snapshots} | "
            + " | ".join(mean_std([s[key] for s in snaps]) for key in
                         ("cos_online", "gap_online", "cos_ema", "gap_ema"))
            + " |"
        )  # fmt: skip
    scores = [r["conditional"] for r in by_model["clel"] if "conditional" in r]
    if not scores:
        write_report(lines, results, args, out, by_model)
        return
    classes = scores[0]["classes"]
    lines += [
        "",
        f"CLEL guided samples after the budget ({scores[0]['samples_per_class']} per class and "
        "seed), scored by the independent classifier:",
        "",
        "| class | conditional accuracy | unguided rate | compositional joint success | unguided joint rate |",
        "|---|---|---|---|---|",
    ]
    for k in range(classes):
        lines.append(
            f"| {k} | "
            + " | ".join(
                mean_std([s[key][k] for s in scores])
                for key in ("conditional_accuracy", "unguided_class_rate",
                            "compositional_joint_success", "unguided_joint_rate")
            )
            + " |"
        )  # fmt: skip
    lines.append(
        f"| all (chance {scores[0]['chance_conditional']:.2f} / "
        f"{scores[0]['chance_compositional']:.2f}) | "
        f"{mean_std([s['mean_conditional_accuracy'] for s in scores])} | 0.10 | "
        f"{mean_std([s['mean_compositional_joint_success'] for s in scores])} | "
        f"{mean_std([float(np.mean(s['unguided_joint_rate'])) for s in scores])} |"
    )
    write_report(lines, results, args, out, by_model)


def write_report(
    lines: list[str], results: list[dict], args: argparse.Namespace, out: Path, by_model: dict
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (out / "compute.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for (model, runs), colour in zip(by_model.items(), ("tab:blue", "tab:orange"), strict=True):
        for i, r in enumerate(runs):
            left.plot(
                [s["seconds"] for s in r["snapshots"]], [s["fid"] for s in r["snapshots"]],
                "o-", color=colour, alpha=0.7, label=model if i == 0 else None,
            )  # fmt: skip
            right.scatter(
                r["snapshots"][-1]["peak_rss_mb"], r["snapshots"][-1]["fid"], color=colour,
                label=model if i == 0 else None,
            )  # fmt: skip
    left.set(xlabel="training CPU seconds (one thread)", ylabel="FID (own classifier features)",
             title="FID against training time")  # fmt: skip
    right.set(xlabel="peak RSS of the training process (MB)", ylabel="final FID",
              title="final FID against peak memory")  # fmt: skip
    left.legend(), right.legend()
    fig.tight_layout()
    fig.savefig(out / "compute.png", dpi=120)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="fashion_cpu")
    parser.add_argument("--data", required=True, help="processed image dataset directory")
    parser.add_argument(
        "--classifier", required=True,
        help="workflow-trained classifier (an `inception` extractor: the inception_fid directory)",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=480.0)
    parser.add_argument("--snapshots", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="results/clel/compute")
    parser.add_argument("--fid-samples", type=int, help="override the profile's fid.samples")
    parser.add_argument("--checkpoints", help="directory for each run's final weights")
    parser.add_argument(
        "--conditional", action=argparse.BooleanOptionalAction, default=True,
        help="score CLEL's guided samples after the budget (the profile's `conditional`)",
    )  # fmt: skip
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model:
        print(json.dumps(run_one(args)))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        for model in ("ebm", "clel") if seed % 2 == 0 else ("clel", "ebm"):
            cmd = [sys.executable, __file__, *sys.argv[1:], "--model", model, "--seed", str(seed)]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, env=env)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            (out / "compute.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    report(results, args, out)


if __name__ == "__main__":
    main()
