"""LDEBM figures: the synthetic-data grid (data, then samples and log densities of every prior)
and the latent space of the text models coloured by inferred symbol and by a true label."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from latentrepro.report.figures import _save, first_seeds, pca_2d, scatter_by_label


def plot_synthetic_grid(
    latent_paths: list[Path], data_paths: dict[str, Path], models: list[str], path: Path
) -> Path:
    """Two rows per dataset (samples; log density), columns: data, then ``models`` in order."""
    runs = first_seeds(latent_paths)
    datasets = sorted(data_paths)
    fig, axes = plt.subplots(
        2 * len(datasets), 1 + len(models), figsize=(2.8 * (1 + len(models)), 5.6 * len(datasets)),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    for row, dataset in enumerate(datasets):
        x = torch.load(data_paths[dataset], weights_only=True)["x"]
        top, bottom = axes[2 * row], axes[2 * row + 1]
        for ax in (top[0], bottom[0]):
            ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.4, color="black")
            ax.set_title(f"{dataset}: data", fontsize=9)
        for col, model in enumerate(models, start=1):
            file = runs.get((dataset, model))
            top[col].set_title(f"{model}: samples", fontsize=9)
            bottom[col].set_title(f"{model}: log density", fontsize=9)
            if file is None:
                continue
            latents = torch.load(file, weights_only=True)
            samples, (lo, hi) = latents["mu"], latents["extent"].tolist()
            top[col].scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.4)
            log_density = latents["log_density"]
            if torch.isnan(log_density).all():  # the prior reports no likelihood (LDEBM)
                bottom[col].text(0.5, 0.5, "no density estimate", ha="center",
                                 transform=bottom[col].transAxes, fontsize=8)  # fmt: skip
                continue
            density = log_density.clamp_min(log_density.max() - 12)
            bottom[col].imshow(
                density, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="viridis"
            )
        lo, hi = x.min(0).values - 0.5, x.max(0).values + 0.5
        for ax in [*top, *bottom]:
            ax.set(xlim=(lo[0].item(), hi[0].item()), ylim=(lo[1].item(), hi[1].item()))
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("2-D data: prior samples (same Langevin budget) and log densities")
    return _save(fig, path)


def plot_symbol_latents(latent_paths: list[Path], label: str, path: Path) -> Path:
    """Per (dataset, model), first seed: PCA of test posterior means coloured by the inferred
    symbol (left) and by the true ``label`` (right; the split's first label if absent)."""
    runs = first_seeds(latent_paths)
    panels = sorted(runs.items()) or [(("(no runs)", ""), None)]
    fig, axes = plt.subplots(
        len(panels), 2, figsize=(9, 4 * len(panels)), squeeze=False, layout="constrained"
    )
    for (left, right), ((dataset, model), file) in zip(axes, panels, strict=True):
        if file is None:
            continue
        latents = torch.load(file, weights_only=True)
        xy = pca_2d(latents["mu"])
        labels = latents["labels"]
        name = label if label in labels else next(iter(sorted(labels)), None)
        left.scatter(xy[:, 0], xy[:, 1], c=latents["symbol"], s=3, cmap="tab20", alpha=0.7)
        left.set_title(f"{dataset} / {model}: inferred symbol", fontsize=9)
        if name is not None:
            scatter_by_label(right, xy, labels[name], name)
            right.set_title(f"{dataset} / {model}: true {name}", fontsize=9)
    fig.suptitle("Test posterior means (PCA)")
    return _save(fig, path)
