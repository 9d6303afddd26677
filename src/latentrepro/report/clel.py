"""P3 (CLEL) tables and figures: FID per model and dataset (mean ± std over seeds, extractor
and protocol named), training cost per iteration, conditional accuracy and compositional joint
success per class under the independent classifier, sample grids and guided samples."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from latentrepro.io import read_json, write_text
from latentrepro.report.tables import summarise, write_table

#: CIFAR-10 FIDs that papers.md lists from secondary sources (not checked against the PDF).
REPORTED_ELSEWHERE = [
    ("CLEL (large)", "CIFAR-10", 8.61),
    ("ImprovedCD", "CIFAR-10", 25.1),
    ("VAEBM", "CIFAR-10", 12.19),
    ("Diffusion recovery likelihood", "CIFAR-10", 9.58),
    ("CLEL (large)", "ImageNet 32x32", 15.47),
    ("CLEL (base)", "ImageNet 32x32", 22.16),
]


def _run_key(path: Path) -> tuple[str, str, int]:
    """(dataset, model, seed) of ``.../{dataset}/{model}/seed{seed}.<ext>``."""
    return path.parent.parent.name, path.parent.name, int(path.stem.removeprefix("seed"))


def seconds_per_iteration(history: Path) -> tuple[float, int]:
    """Wall seconds per training iteration (per-epoch validation included) and iterations."""
    rows = list(csv.DictReader(history.open(encoding="utf-8")))
    steps = int(rows[-1]["step"])
    return sum(float(row["seconds"]) for row in rows) / steps, steps


def peak_rss_mb(benchmark: Path) -> float:
    """Peak resident memory (MB) of a job from its Snakemake benchmark TSV."""
    rows = list(csv.DictReader(benchmark.open(encoding="utf-8"), delimiter="\t"))
    return max(float(row["max_rss"]) for row in rows)


def fid_frame(
    metrics: list[dict[str, Any]], histories: list[Path], benchmarks: list[Path]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-run rows of the FID table and of the cost table."""
    cost = {_run_key(p): seconds_per_iteration(p) for p in histories}
    rss = {_run_key(p): peak_rss_mb(p) for p in benchmarks}
    fid_rows, cost_rows = [], []
    for record in metrics:
        key = (record["dataset"], record["model"], record["seed"])
        m = record["metrics"]
        fid_rows.append(
            {
                "dataset": key[0],
                "model": key[1],
                "seed": key[2],
                f"FID [{m['fid_extractor']}; {m.get('fid_protocol', 'replay')} protocol]": m["fid"],
                "iterations": cost[key][1],
                "SGLD steps (train)": m["train_sgld_steps"],
                "SGLD steps (samples)": m["sample_sgld_steps"],
                "generated": m["generated_samples"],
                f"reference ({record['split']} split)": m["reference_samples"],
            }
        )
        cost_rows.append(
            {
                "dataset": key[0],
                "model": key[1],
                "seed": key[2],
                "s / iteration": cost[key][0],
                "peak RSS of the training job (MB)": rss.get(key, float("nan")),
                "trainable parameters": m["parameters"],
            }
        )
    return pd.DataFrame(fid_rows), pd.DataFrame(cost_rows)


def _grid(images: torch.Tensor, rows: int, cols: int, ax: plt.Axes) -> None:
    images = images[: rows * cols]
    c, h, w = images.shape[1:]
    canvas = torch.ones(c, rows * (h + 1), cols * (w + 1))
    for i, image in enumerate(images):
        r, q = divmod(i, cols)
        canvas[:, r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = image
    picture = canvas[0] if c == 1 else canvas.permute(1, 2, 0)
    ax.imshow(picture.numpy(), cmap="gray" if c == 1 else None, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_sample_grids(sample_paths: list[Path], path: Path) -> Path:
    """An 8x8 grid of generated samples for the lowest seed of every (dataset, model)."""
    first: dict[tuple[str, str], Path] = {}
    for p in sorted(sample_paths, key=_run_key):
        first.setdefault(_run_key(p)[:2], p)
    fig, axes = plt.subplots(1, len(first), figsize=(3.2 * len(first), 3.4), squeeze=False)
    for ax, ((dataset, model), p) in zip(axes[0], sorted(first.items()), strict=True):
        _grid(torch.load(p, weights_only=True)["samples"], 8, 8, ax)
        ax.set_title(f"{model} on {dataset} (seed {_run_key(p)[2]})", fontsize=9)
    return _save(fig, path)


def conditional_frame(records: list[dict[str, Any]], datasets: list[str]) -> pd.DataFrame:
    """Per-seed rows of the conditional table: one per class and one over all classes."""
    rows = []
    for dataset, record in zip(datasets, records, strict=True):
        m = record["metrics"]
        for k in range(m["classes"]):
            rows.append(
                {
                    "dataset": dataset,
                    "model": f"{record['model']}, class {k}",
                    "seed": record["seed"],
                    "conditional accuracy": m["conditional_accuracy"][k],
                    "unguided rate of the class": m["unguided_class_rate"][k],
                    "compositional joint success": m["compositional_joint_success"][k],
                    "unguided joint rate": m["unguided_joint_rate"][k],
                }
            )
        rows.append(
            {
                "dataset": dataset,
                "model": f"{record['model']}, all classes "
                f"(chance {m['chance_conditional']:.2f} / {m['chance_compositional']:.2f})",
                "seed": record["seed"],
                "conditional accuracy": m["mean_conditional_accuracy"],
                "unguided rate of the class": 1.0 / m["classes"],
                "compositional joint success": m["mean_compositional_joint_success"],
                "unguided joint rate": sum(m["unguided_joint_rate"]) / m["classes"],
            }
        )
    return pd.DataFrame(rows)


def plot_conditional(sample_paths: list[Path], path: Path, columns: int = 8) -> Path:
    """Per dataset (lowest seed): samples toward each class (left) and toward each class and
    "bright for its class" together (right); one row per class, same SGLD starts in every row."""
    first: dict[str, Path] = {}
    for p in sorted(sample_paths, key=_run_key):
        first.setdefault(_run_key(p)[0], p)
    fig, axes = plt.subplots(len(first), 2, figsize=(8, 4.5 * len(first)), squeeze=False)
    for row, (dataset, p) in zip(axes, sorted(first.items()), strict=True):
        samples = torch.load(p, weights_only=True)
        for ax, name in zip(row, ("conditional", "compositional"), strict=True):
            classes, per_row = samples[name].shape[:2]
            shown = samples[name][:, :columns]
            _grid(shown.flatten(0, 1), classes, min(per_row, columns), ax)
            ax.set_ylabel("class 0 (top) ... " + str(classes - 1), fontsize=8)
        row[0].set_title(
            f"{dataset}/{p.parent.name} seed {_run_key(p)[2]}: toward a class", fontsize=9
        )
        row[1].set_title("toward a class AND bright for its class", fontsize=9)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    from latentrepro.io import atomic_path

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


def write_reported_elsewhere(path: Path) -> Path:
    """The literature FIDs of papers.md, labelled as unverified secondary-source numbers."""
    frame = pd.DataFrame(REPORTED_ELSEWHERE, columns=["model", "dataset", "FID"])
    note = (
        "FIDs from secondary sources, unverified (papers.md: not checked against the PDF); "
        "Inception-v3 FID at paper scale, not comparable with the own-classifier FID of "
        "clel_fid.\n\n"
    )
    write_text(path, note + frame.to_markdown(index=False) + "\n")
    return path


def build_clel_report(
    metrics_paths: list[Path],
    history_paths: list[Path],
    benchmark_paths: list[Path],
    sample_paths: list[Path],
    conditional_paths: list[Path],
    tables_dir: Path,
    figures_dir: Path,
    prefix: str = "clel",
) -> list[Path]:
    """Write PREFIX_fid and PREFIX_cost (md, csv, tex), PREFIX_conditional when there are
    conditional samples, PREFIX_reported_elsewhere.md and the figures PREFIX_samples.png and
    PREFIX_conditional.png."""
    fid, cost = fid_frame([read_json(p) for p in metrics_paths], history_paths, benchmark_paths)
    written = []
    for name, frame in ((f"{prefix}_fid", fid), (f"{prefix}_cost", cost)):
        means, stds = summarise(frame)
        written += write_table(means, stds, tables_dir / name)
    scores = conditional_frame(
        [read_json(p) for p in conditional_paths], [_run_key(p)[0] for p in conditional_paths]
    )
    if not scores.empty:
        means, stds = summarise(scores)
        written += write_table(means, stds, tables_dir / f"{prefix}_conditional")
    written.append(write_reported_elsewhere(tables_dir / f"{prefix}_reported_elsewhere.md"))
    written.append(plot_sample_grids(sample_paths, figures_dir / f"{prefix}_samples.png"))
    guided = [p.with_suffix(".pt") for p in conditional_paths]
    written.append(plot_conditional(guided, figures_dir / f"{prefix}_conditional.png"))
    return written
