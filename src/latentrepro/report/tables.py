"""Result tables: one row per (dataset, model), mean ± std over seeds, as Markdown, CSV and LaTeX."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from latentrepro.io import write_text

#: Column order of the tables; metrics not listed here follow in alphabetical order.
METRIC_ORDER = [
    "act_homogeneity", "emotion_homogeneity", "act_nmi", "emotion_nmi",
    "nll", "ppl", "neg_elbo", "rec", "kl", "mi", "au", "cu", "kl_p_qbar", "rppl", "wkl",
]  # fmt: skip
#: Bookkeeping values in the metrics JSON that are not table columns.
NOT_COLUMNS = {"sentences", "tokens", "hole_samples", "rppl_lm_epoch", "authors_sentences"}
LABELS = {
    "nll": "NLL",
    "ppl": "PPL",
    "neg_elbo": "-ELBO",
    "rec": "Rec",
    "kl": "KL",
    "mi": "MI",
    "au": "AU",
    "cu": "CU",
    "kl_p_qbar": "KL(p||qbar)",
    "rppl": "rPPL",
    "wkl": "wKL",
}


def collect_metrics(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per metrics JSON: dataset, model, seed and the metric values."""
    rows = [
        {"dataset": r["dataset"], "model": r["model"], "seed": r["seed"], **r["metrics"]}
        for r in records
    ]
    frame = pd.DataFrame(rows, columns=None if rows else ["dataset", "model", "seed"])
    return frame.drop(columns=[c for c in NOT_COLUMNS if c in frame.columns])


def metric_columns(frame: pd.DataFrame) -> list[str]:
    present = [c for c in frame.columns if c not in ("dataset", "model", "seed")]
    ordered = [c for c in METRIC_ORDER if c in present]
    return ordered + sorted(set(present) - set(ordered))


def summarise(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Means and sample standard deviations (NaN for one seed) over seeds, per (dataset, model).

    Both frames carry a ``seeds`` column with the number of seeds aggregated.
    """
    columns = metric_columns(frame)
    grouped = frame.groupby(["dataset", "model"], sort=True)
    means, stds = grouped[columns].mean(), grouped[columns].std(ddof=1)
    means["seeds"] = stds["seeds"] = grouped.size()
    return means, stds


def format_cells(means: pd.DataFrame, stds: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """``mean ± std`` strings with ``digits`` significant digits (``mean`` alone for one seed)."""
    cells = pd.DataFrame(index=means.index)
    for column in means.columns.drop("seeds"):
        cells[LABELS.get(column, column)] = [
            f"{m:.{digits}g}" if pd.isna(s) else f"{m:.{digits}g} ± {s:.{digits - 1}g}"
            for m, s in zip(means[column], stds[column], strict=True)
        ]
    cells["seeds"] = means["seeds"].astype(int)
    return cells


def write_table(means: pd.DataFrame, stds: pd.DataFrame, stem: Path) -> list[Path]:
    """Write ``stem``.md (formatted), ``stem``.csv (means and stds as numbers) and ``stem``.tex."""
    cells = format_cells(means, stds)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    write_text(paths[0], to_markdown(cells) + "\n")
    write_numbers(means, stds, paths[1])
    write_text(paths[2], cells.reset_index().to_latex(index=False).replace("±", r"$\pm$"))
    return paths


def to_markdown(cells: pd.DataFrame) -> str:
    """A formatted table as Markdown: index columns left-aligned, values right-aligned and kept
    verbatim (tabulate would otherwise re-parse and reformat the number strings)."""
    flat = cells.reset_index()
    levels = cells.index.nlevels
    align = ["left"] * levels + ["right"] * (flat.shape[1] - levels)
    return flat.to_markdown(index=False, disable_numparse=True, colalign=align)


def write_numbers(means: pd.DataFrame, stds: pd.DataFrame, path: Path) -> None:
    """Means and ``<metric>_std`` columns as CSV, for further analysis."""
    numbers = means.join(stds.drop(columns="seeds").add_suffix("_std")).reset_index()
    write_text(path, numbers.to_csv(index=False, float_format="%.6g"))
