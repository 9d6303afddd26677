"""LDEBM's sentiment control: accuracy of the requested label per model, against the
classifier's own accuracy on real sentences and chance, with BLEU and self-BLEU."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from latentrepro.io import write_text

COLUMNS = ("control_accuracy", "classifier_accuracy", "bleu", "self_bleu")


def _cell(values: list[float]) -> str:
    values = [v for v in values if v == v]  # NaN: not defined for that run
    if not values:
        return "—"
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {spread:.3f}" if len(values) > 1 else f"{mean:.3f}"


def control_table(records: list[dict[str, Any]], models: list[str], out: Path) -> Path:
    """One row per (dataset, model, requested label): mean ± std over seeds of each column,
    the seeds, and the chance rate; then a few generated sentences per label (lowest seed)."""
    lines = [
        "| dataset | model | label | seeds | " + " | ".join(COLUMNS) + " | chance |",
        "|---|---|---|---|" + "---|" * len(COLUMNS) + "---|",
    ]
    examples = ["", "Generated sentences (first seed):", ""]
    keyed = {(r["dataset"], r["model"]): [] for r in records}
    for record in sorted(records, key=lambda r: r["seed"]):
        keyed[(record["dataset"], record["model"])].append(record)
    order = sorted(keyed, key=lambda k: (k[0], models.index(k[1]) if k[1] in models else 0))
    for dataset, model in order:
        runs = keyed[(dataset, model)]
        first = runs[0]["metrics"]
        for y in first["per_label"]:
            cells = [_cell([r["metrics"]["per_label"][y][c] for r in runs]) for c in COLUMNS]
            seeds = ",".join(str(r["seed"]) for r in runs)
            lines.append(
                f"| {dataset} | {model} | {first['label']}={y} | {seeds} | "
                + " | ".join(cells)
                + f" | {first['chance']:.3f} |"
            )
            examples += [f"- {dataset} / {model} / {first['label']}={y}:"]
            examples += [f"  - {text}" for text in first["examples"][y]]
    write_text(out, "\n".join(lines + examples) + "\n")
    return out
