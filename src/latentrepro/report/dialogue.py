"""LDEBM's response generation: test contexts with their reference and each model's response."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentrepro.io import read_json, write_text


def response_examples(records: list[dict[str, Any]], models: list[str], out: Path) -> Path:
    """Markdown of each dataset's examples: the context turns, the reference and, per model
    (in ``models`` order, its lowest seed), the generated response."""
    by_run: dict[str, dict[str, dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r["seed"], reverse=True):
        by_run.setdefault(record["dataset"], {})[record["model"]] = record
    lines = ["# Generated responses next to their contexts", ""]
    for dataset, runs in sorted(by_run.items()):
        present = [m for m in models if m in runs]
        first = runs[present[0]]
        lines += [f"## {dataset} (test examples, seed {first['seed']})", ""]
        for i, example in enumerate(first["examples"]):
            lines.append(f"**Example {i + 1}**")
            lines.append("")
            lines += [f"> {turn}" if turn else "> (empty)" for turn in example["context"]]
            lines += ["", f"- reference: {example['reference']}"]
            for model in present:
                lines.append(f"- {model}: {runs[model]['examples'][i]['generated']}")
            lines.append("")
    write_text(out, "\n".join(lines) + "\n")
    return out


def render_examples(paths: list[Path], models: list[str], out: Path) -> list[Path]:
    return [response_examples([read_json(p) for p in paths], models, out)]
