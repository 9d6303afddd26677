"""Result tables: one row per (dataset, model), mean ± std over seeds, as Markdown, CSV and LaTeX.

Every table says how its numbers were estimated (:func:`table_protocol`): the MI column is
headed by its aggregation set, and the caption names the other estimator choices recorded in
the metrics JSONs (``estimators.names``) and why a cell is empty (``null_reasons``). A table
whose runs were estimated differently is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from latentrepro.io import write_text

#: Column order of the tables; metrics not listed here follow in alphabetical order.
METRIC_ORDER = [
    "act_homogeneity", "emotion_homogeneity", "act_nmi", "emotion_nmi",
    "bleu", "embedding_average", "embedding_extrema", "embedding_greedy", "distinct_1",
    "distinct_2",
    "nll", "ppl", "neg_elbo", "rec", "kl", "mi", "au", "cu", "kl_p_qbar", "rppl", "wkl",
]  # fmt: skip
#: Bookkeeping values in the metrics JSON that are not table columns.
NOT_COLUMNS = {
    "sentences", "tokens", "hole_samples", "kl_p_qbar_se", "rppl_lm_epoch", "authors_sentences",
    "responses", "embedding_coverage",
}  # fmt: skip
#: Shown for a mean that is undefined (null in every seed's JSON, or not computed for the row).
EMPTY = "—"
#: Estimator names that head a column rather than going into the caption.
HEADER_NAMES = {"mi"}
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
    "bleu": "BLEU",
    "embedding_average": "Average",
    "embedding_extrema": "Extrema",
    "embedding_greedy": "Greedy",
    "distinct_1": "Dist-1",
    "distinct_2": "Dist-2",
}


@dataclass(frozen=True)
class Protocol:
    """What a table says about its estimators: column headers and caption lines."""

    labels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def caption(self) -> str:
        return "; ".join(self.notes)


def table_protocol(records: list[dict[str, Any]]) -> Protocol:
    """Headers and caption of a table of ``records`` from their ``estimators.names`` and
    ``null_reasons``.

    A name may differ between datasets (how many sentences were cut), then the caption gives
    it per dataset; it must not differ between the runs of one dataset.
    """
    names: dict[str, dict[str, dict[str, list[str]]]] = {}
    for r in records:
        run = f"{r['dataset']}/{r['model']}/seed{r['seed']}"
        for key, name in r.get("estimators", {}).get("names", {}).items():
            names.setdefault(key, {}).setdefault(r["dataset"], {}).setdefault(name, []).append(run)
    mixed = [
        f"{key} on {dataset}: "
        + " vs ".join(f"{name!r} ({', '.join(runs)})" for name, runs in by.items())
        for key, datasets in names.items()
        for dataset, by in datasets.items()
        if len(by) > 1
    ]
    if mixed:
        raise ValueError("runs of one table were estimated differently: " + "; ".join(mixed))
    labels, notes = {}, []
    for key, datasets in sorted(names.items()):
        distinct = {name for by in datasets.values() for name in by}
        if key in HEADER_NAMES and len(distinct) == 1:
            labels[key] = distinct.pop()
        elif len(distinct) == 1:
            notes.append(distinct.pop())
        else:
            notes.append(", ".join(f"{d}: {next(iter(by))}" for d, by in sorted(datasets.items())))
    reasons: dict[tuple[str, str], set[str]] = {}
    for r in records:
        for metric, reason in r.get("null_reasons", {}).items():
            reasons.setdefault((r["model"], reason), set()).add(metric)
    for (model, reason), metrics in sorted(reasons.items()):
        ordered = dict.fromkeys([m for m in METRIC_ORDER if m in metrics] + sorted(metrics))
        columns = ", ".join(LABELS.get(m, m) for m in ordered)
        notes.append(f"{EMPTY} for {columns} of {model}: {reason}")
    return Protocol(labels, list(dict.fromkeys(notes)))


def collect_metrics(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per metrics JSON: dataset, model, seed and the metric values (null as NaN);
    text values (an image EBM's ``fid_extractor``) are descriptions, not columns (the caption
    names them through ``estimators.names``)."""
    rows = [
        {
            "dataset": r["dataset"],
            "model": r["model"],
            "seed": r["seed"],
            **{
                k: math.nan if v is None else v
                for k, v in r["metrics"].items()
                if not isinstance(v, str)
            },
        }
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


def format_cells(
    means: pd.DataFrame,
    stds: pd.DataFrame,
    digits: int = 4,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """``mean ± std`` strings with ``digits`` significant digits (``mean`` alone for one seed,
    :data:`EMPTY` for an undefined mean); ``labels`` override the column headers."""
    labels = {**LABELS, **(labels or {})}
    cells = pd.DataFrame(index=means.index)
    for column in means.columns.drop("seeds"):
        cells[labels.get(column, column)] = [
            EMPTY
            if pd.isna(m)
            else f"{m:.{digits}g}"
            if pd.isna(s)
            else f"{m:.{digits}g} ± {s:.{digits - 1}g}"
            for m, s in zip(means[column], stds[column], strict=True)
        ]
    cells["seeds"] = means["seeds"].astype(int)
    return cells


def write_table(
    means: pd.DataFrame, stds: pd.DataFrame, stem: Path, protocol: Protocol | None = None
) -> list[Path]:
    """Write ``stem``.md (formatted, the protocol's caption above the table), ``stem``.csv
    (means and stds as numbers) and ``stem``.tex (with the caption)."""
    protocol = protocol or Protocol()
    cells = format_cells(means, stds, labels=protocol.labels)
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    caption = protocol.caption()
    write_text(paths[0], (f"{caption}\n\n" if caption else "") + to_markdown(cells) + "\n")
    write_numbers(means, stds, paths[1])
    latex = cells.reset_index().to_latex(index=False, caption=caption or None)
    write_text(paths[2], latex.replace("±", r"$\pm$").replace(EMPTY, "--"))
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
