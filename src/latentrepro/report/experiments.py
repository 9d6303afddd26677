"""Each experiment's own table, training curves and latent projection, from its metrics JSONs,
training histories and posterior means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentrepro.io import read_json, write_json
from latentrepro.report.figures import plot_latents, plot_training_curves, run_label
from latentrepro.report.tables import collect_metrics, summarise, table_protocol, write_table


def build_report(
    experiments: dict[str, dict[str, Any]],
    metrics_paths: list[Path],
    history_paths: list[Path],
    latent_paths: list[Path],
    tables_dir: Path,
    figures_dir: Path,
    summary_path: Path,
) -> list[Path]:
    """Write, per experiment, its table (md, csv, tex), its training curves and its latent
    projection, plus one summary JSON of every table's means (what DVC tracks as metrics)."""
    records = [read_json(path) for path in metrics_paths]
    frame = collect_metrics(records)
    written: list[Path] = []
    summary: dict[str, Any] = {}
    for name, exp in experiments.items():
        pairs = {(d, m) for d in exp["datasets"] for m in exp["models"]}
        rows = frame[frame.dataset.isin(exp["datasets"]) & frame.model.isin(exp["models"])]
        mine = [r for r in records if (r["dataset"], r["model"]) in pairs]
        # Columns only other experiments' model families report are left out of this table;
        # those its own runs left undefined, with a reason, stay (the caption says why).
        undefined = {m for r in mine for m in r.get("null_reasons", {})}
        rows = rows.loc[:, rows.notna().any() | rows.columns.isin(list(undefined))]
        means, stds = summarise(rows)
        protocol = table_protocol(mine)
        written += write_table(means, stds, tables_dir / name, protocol)
        summary[name] = {f"{d}/{m}": row.to_dict() for (d, m), row in means.iterrows()}
        curves = [p for p in history_paths if run_label(p)[:2] in pairs]
        written.append(plot_training_curves(curves, figures_dir / f"{name}_curves.png", title=name))
        latents = [p for p in latent_paths if run_label(p)[:2] in pairs]
        written.append(plot_latents(latents, figures_dir / f"{name}_latents.png", title=name))
    write_json(summary_path, summary)
    return [*written, summary_path]
