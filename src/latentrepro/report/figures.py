"""Figures: training curves, and a 2-D projection of posterior means coloured by label."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import torch

from latentrepro.io import atomic_path


def run_label(path: Path) -> tuple[str, str, str]:
    """(dataset, model, seed) from ``.../{dataset}/{model}/seed{N}.ext`` or ``.../seed{N}/file``."""
    parts = path.with_suffix("").parts
    if parts[-1].startswith("seed"):
        return parts[-3], parts[-2], parts[-1]
    return parts[-4], parts[-3], parts[-2]


def first_seeds(files: list[Path]) -> dict[tuple[str, str], Path]:
    """The lowest-seed file of each (dataset, model)."""
    firsts: dict[tuple[str, str], Path] = {}
    for file in sorted(files, key=run_label):
        firsts.setdefault(run_label(file)[:2], file)
    return firsts


def pca_2d(mu: torch.Tensor) -> torch.Tensor:
    """Rows of ``mu`` projected on their first two principal axes (zeros as the second
    coordinate of a 1-D latent)."""
    centred = mu.double() - mu.double().mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return centred @ v[:2].T if mu.size(1) >= 2 else torch.cat([centred, 0 * centred], 1)


def scatter_by_label(ax: plt.Axes, xy: torch.Tensor, values: torch.Tensor, name: str) -> None:
    """One colour and legend entry per label value."""
    for value in values.unique().tolist():
        chosen = values == value
        ax.scatter(xy[chosen, 0], xy[chosen, 1], s=4, alpha=0.7, label=str(value))
    ax.legend(title=name, fontsize=7, markerscale=3, loc="best")


def _save(fig: plt.Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_training_curves(histories: list[Path], path: Path, title: str) -> Path:
    """Validation loss and training KL per epoch; one row of panels per dataset."""
    runs = sorted(histories, key=run_label)
    datasets = sorted({run_label(p)[0] for p in runs}) or ["(no runs)"]
    fig, axes = plt.subplots(
        len(datasets), 2, figsize=(10, 3.2 * len(datasets)), squeeze=False, layout="constrained"
    )
    for history in runs:
        dataset, model, seed = run_label(history)
        frame = pd.read_csv(history)
        row = axes[datasets.index(dataset)]
        row[0].plot(frame["epoch"], frame["val_loss"], marker="o", label=f"{model} {seed}")
        if "train_kl" in frame:
            row[1].plot(frame["epoch"], frame["train_kl"], marker="o", label=f"{model} {seed}")
    for dataset, (left, right) in zip(datasets, axes, strict=True):
        left.set(title=f"{dataset}: validation loss", xlabel="epoch", ylabel="-ELBO per sentence")
        right.set(title=f"{dataset}: KL(q(z|x) || p(z)) in training", xlabel="epoch", ylabel="nats")
        for ax in (left, right):
            if ax.lines:
                ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def plot_latents(latent_files: list[Path], path: Path, title: str) -> Path:
    """PCA of the test posterior means (first seed of each run), coloured by the first label;
    a run whose family keeps none (image EBMs keep samples, classifiers nothing) gets a panel
    that says so."""
    panels = list(first_seeds(latent_files).items()) or [(("(no runs)", ""), None)]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False, layout="constrained"
    )
    for ax, ((dataset, model), file) in zip(axes[0], panels, strict=True):
        ax.set_title(f"{dataset} / {model}")
        if file is None:
            continue
        latents = torch.load(file, weights_only=True)
        if "mu" not in latents:
            ax.text(0.5, 0.5, "no posterior means\n(no encoder of x)", ha="center", va="center")
            ax.set_axis_off()
            continue
        xy = pca_2d(latents["mu"])
        labels = latents.get("labels", {})
        if labels:
            name, values = next(iter(sorted(labels.items())))
            scatter_by_label(ax, xy, values, name)
        else:
            ax.scatter(xy[:, 0], xy[:, 1], s=4, color="grey", alpha=0.5)
        ax.set(xlabel="PC 1", ylabel="PC 2")
    fig.suptitle(f"{title}: posterior means of the test split")
    return _save(fig, path)
