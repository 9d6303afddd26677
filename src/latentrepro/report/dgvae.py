"""DG-VAE's own report pieces: the |b| ablation (table and MI / AU / CU against |b|), the
interpolation table, and density pictures of 2-D latent spaces. The main tables per dataset
are the generic per-experiment tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import torch

from latentrepro.io import atomic_path, write_text
from latentrepro.metrics import aggregate_posterior_log_density, log_standard_normal
from latentrepro.report.figures import run_label
from latentrepro.report.tables import (
    collect_metrics,
    format_cells,
    summarise,
    table_protocol,
    to_markdown,
    write_numbers,
    write_table,
)

#: Ablation panels: metric key and axis label.
ABLATION_PANELS = [("mi", "MI (nats)"), ("au", "AU"), ("cu", "CU")]


def ablation(
    records: list[dict[str, Any]], chunks: dict[str, int], table_stem: Path, figure: Path
) -> list[Path]:
    """Table (rows sorted by |b|) and figure of MI, AU and CU against |b|, mean ± std over seeds.

    ``chunks`` maps each ablation model to its |b|; one panel row per dataset.
    """
    chosen = [r for r in records if r["model"] in chunks]
    frame = collect_metrics(chosen)
    if frame.empty:
        raise ValueError("dgvae ablation: no metrics of the ablation models were given")
    protocol = table_protocol(chosen)
    means, stds = summarise(frame)
    index = pd.MultiIndex.from_tuples(
        [(d, chunks[m], m) for d, m in means.index], names=["dataset", "|b|", "model"]
    )
    means.index = stds.index = index
    means, stds = means.sort_index(), stds.sort_index()
    written = write_table(means, stds, table_stem, protocol)
    datasets = sorted({d for d, _, _ in means.index})
    fig, axes = plt.subplots(
        len(datasets), 3, figsize=(11, 3.2 * len(datasets)), squeeze=False, layout="constrained"
    )
    for row, dataset in zip(axes, datasets, strict=True):
        m, s = means.loc[dataset], stds.loc[dataset]
        sizes = m.index.get_level_values("|b|")
        for ax, (key, label) in zip(row, ABLATION_PANELS, strict=True):
            label = f"{protocol.labels[key]}, nats" if key in protocol.labels else label
            ax.errorbar(sizes, m[key], yerr=s[key].fillna(0), marker="o", capsize=3)
            ax.set(xscale="log", xlabel="|b| (posteriors per aggregate)", ylabel=label)
            ax.set_xticks(list(sizes), [str(b) for b in sizes])
            ax.set_title(f"{dataset}: {label}")
    with atomic_path(figure) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return [*written, figure]


def interpolation_table(records: list[dict[str, Any]], stem: Path) -> list[Path]:
    """Mean ± std of the interpolation scores over seeds, and one decoded path per run (Markdown
    and CSV)."""
    if not records:
        raise ValueError("dgvae interpolation: no interpolation records were given")
    rows = [
        {"dataset": r["dataset"], "model": r["model"], "seed": r["seed"], **r["scores"]}
        for r in records
    ]
    means, stds = summarise(pd.DataFrame(rows))
    cells = format_cells(means, stds)
    lines = [
        f"# Interpolation between test sentences ({records[0]['points']} points, greedy decoding)",
        "",
        "bleu_endpoints: BLEU of the decoded endpoints against the two sources; self_bleu: mean "
        "BLEU of each path sentence against the others (100 = one sentence along the whole path); "
        "distinct_n: distinct n-grams / n-grams along the path. Mean ± std over seeds and "
        f"{records[0]['pairs']} pairs per run.",
        "",
        to_markdown(cells),
        "",
    ]
    for r in sorted(records, key=lambda r: (r["dataset"], r["model"], r["seed"])):
        if r["seed"] != min(x["seed"] for x in records):
            continue
        example = r["examples"][0]
        lines += [f"## {r['dataset']} / {r['model']} (seed {r['seed']})", ""]
        lines += [f"- A: {example['source'][0]}", f"- B: {example['source'][1]}", ""]
        lines += [f"{i}. {text}" for i, text in enumerate(example["path"])] + [""]
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv")]
    write_text(paths[0], "\n".join(lines))
    write_numbers(means, stds, paths[1])
    return paths


def density_pictures(latent_files: list[Path], figure: Path, extent: float = 3.0) -> Path:
    """The prior and each 2-D run's aggregated posterior qbar (over its test split) as densities
    on a grid over [-extent, extent]^2; the first seed of each (dataset, model) is shown.

    Holes (prior mass that qbar leaves uncovered) show as prior regions where qbar is dark.
    """
    firsts: dict[tuple[str, str], Path] = {}
    for file in sorted(latent_files, key=run_label):
        firsts.setdefault(run_label(file)[:2], file)
    if not firsts:
        raise ValueError("dgvae density: no latent files were given")
    axis = torch.linspace(-extent, extent, 121, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)  # rows: (z_1, z_2), z_2 varying fastest
    panels = [("prior N(0, I)", log_standard_normal(grid))]
    for (dataset, model), file in firsts.items():
        latents = torch.load(file, weights_only=True)
        mu, logvar = latents["mu"].double(), latents["logvar"].double()
        if mu.size(1) != 2:
            raise ValueError(f"dgvae density: {file} has a {mu.size(1)}-D latent, not 2-D")
        panels.append(
            (f"{dataset} / {model}: qbar", aggregate_posterior_log_density(grid, mu, logvar))
        )
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False, layout="constrained"
    )
    for ax, (title, log_density) in zip(axes[0], panels, strict=True):
        image = log_density.exp().view(len(axis), len(axis)).T  # rows: z_2, columns: z_1
        ax.imshow(image, origin="lower", extent=(-extent, extent, -extent, extent), cmap="magma")
        ax.set(title=title, xlabel="z_1", ylabel="z_2")
    with atomic_path(figure) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return figure
