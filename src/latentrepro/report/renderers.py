"""Tables and figures beyond each experiment's own, by renderer name (params.yaml ``reports``).

A :class:`Renderer` says which inputs it reads (:data:`INPUTS`) and which files it writes
(paths under ``results/``, ``{name}`` standing for the report's name), and draws them from a
:class:`ReportInputs` and the report's resolved config (:func:`latentrepro.config.report_config`:
its own settings, the grid of its experiments, their models' settings). The workflow makes one
rule per active report (workflow/rules/reports.smk) with exactly those inputs and outputs, and
``latentrepro render`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentrepro.io import read_json

#: What a renderer may read: per-run files of the report's runs (``samples``: the JSON records
#: of its samples kind, the tensors beside them), and ``data``: the processed dataset directories.
INPUTS = ("metrics", "histories", "latents", "benchmarks", "samples", "data")
TABLE = ("md", "csv", "tex")


@dataclass(frozen=True)
class ReportInputs:
    """The files one report reads, by kind (each a list of paths)."""

    metrics: list[Path] = field(default_factory=list)
    histories: list[Path] = field(default_factory=list)
    latents: list[Path] = field(default_factory=list)
    benchmarks: list[Path] = field(default_factory=list)
    samples: list[Path] = field(default_factory=list)
    data: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Renderer:
    render: Callable[[ReportInputs, dict[str, Any], Path], list[Path]]
    reads: tuple[str, ...]
    #: Written files, relative to the results directory; ``{name}`` is the report's name.
    writes: tuple[str, ...]

    def outputs(self, name: str) -> list[str]:
        return [path.format(name=name) for path in self.writes]


def _ordered_models(config: dict[str, Any]) -> list[str]:
    """The models of the report's experiments, in the order params.yaml lists them."""
    return list(dict.fromkeys(m for exp in config["experiments"].values() for m in exp["models"]))


def _chunk_ablation(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """DG-VAE's |b| ablation: table and MI / AU / CU against |b| (report/dgvae.py)."""
    from latentrepro.report.dgvae import ablation

    chunks = {
        model: config["models"][model]["regulariser"]["batch_chunk"]
        for model in _ordered_models(config)
    }
    records = [read_json(p) for p in inputs.metrics]
    name = config["name"]
    return ablation(records, chunks, results / "tables" / name, results / "figures" / f"{name}.png")


def _density_pictures(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """DG-VAE's pictures of 2-D latent spaces: prior, aggregate posterior, holes."""
    from latentrepro.report.dgvae import density_pictures

    return [density_pictures(inputs.latents, results / "figures" / f"{config['name']}.png")]


def _interpolation_table(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """DG-VAE's interpolation scores per dataset and model, mean ± std over seeds."""
    from latentrepro.report.dgvae import interpolation_table

    records = [read_json(p) for p in inputs.samples]
    return interpolation_table(records, results / "tables" / config["name"])


def _synthetic_grid(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """LDEBM's 2-D grid: the data, then samples and log densities of every model."""
    from latentrepro.report.ldebm_figures import plot_synthetic_grid

    data = {directory.name: directory / "test.pt" for directory in inputs.data}
    out = results / "figures" / f"{config['name']}.png"
    return [plot_synthetic_grid(inputs.latents, data, _ordered_models(config), out)]


def _symbol_latents(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """LDEBM's latent space coloured by inferred symbol and by a true label."""
    from latentrepro.report.ldebm_figures import plot_symbol_latents

    out = results / "figures" / f"{config['name']}.png"
    return [plot_symbol_latents(inputs.latents, config["label"], out)]


def _clel_tables(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """CLEL's FID, cost and conditional tables, the literature FIDs, and the sample figures."""
    from latentrepro.report.clel import build_clel_report

    return build_clel_report(
        inputs.metrics, inputs.histories, inputs.benchmarks, inputs.latents, inputs.samples,
        results / "tables", results / "figures", prefix=config["name"],
    )  # fmt: skip


def _response_examples(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """LDEBM's response generation: test contexts, references and every model's response."""
    from latentrepro.report.dialogue import render_examples

    out = results / "tables" / f"{config['name']}.md"
    return render_examples(inputs.samples, _ordered_models(config), out)


def _control_table(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """LDEBM's sentiment control: accuracy of the requested label, BLEU, self-BLEU."""
    from latentrepro.report.control import control_table

    records = [read_json(p) for p in inputs.samples]
    out = results / "tables" / f"{config['name']}.md"
    return [control_table(records, _ordered_models(config), out)]


RENDERERS: dict[str, Renderer] = {
    "chunk_ablation": Renderer(
        _chunk_ablation,
        reads=("metrics",),
        writes=(*(f"tables/{{name}}.{ext}" for ext in TABLE), "figures/{name}.png"),
    ),
    "density_pictures": Renderer(
        _density_pictures, reads=("latents",), writes=("figures/{name}.png",)
    ),
    "interpolation_table": Renderer(
        _interpolation_table, reads=("samples",), writes=("tables/{name}.md", "tables/{name}.csv")
    ),
    "synthetic_grid": Renderer(
        _synthetic_grid, reads=("latents", "data"), writes=("figures/{name}.png",)
    ),
    "symbol_latents": Renderer(_symbol_latents, reads=("latents",), writes=("figures/{name}.png",)),
    "control_table": Renderer(_control_table, reads=("samples",), writes=("tables/{name}.md",)),
    "response_examples": Renderer(
        _response_examples, reads=("samples",), writes=("tables/{name}.md",)
    ),
    "clel_tables": Renderer(
        _clel_tables,
        reads=("metrics", "histories", "benchmarks", "latents", "samples"),
        writes=(
            *(
                f"tables/{{name}}_{t}.{ext}"
                for t in ("fid", "cost", "conditional")
                for ext in TABLE
            ),
            "tables/{name}_reported_elsewhere.md",
            "figures/{name}_samples.png",
            "figures/{name}_conditional.png",
        ),
    ),
}


def get_renderer(name: str) -> Renderer:
    if name not in RENDERERS:
        raise ValueError(f"reports: unknown renderer {name!r}; known: {sorted(RENDERERS)}")
    return RENDERERS[name]


def render(inputs: ReportInputs, config: dict[str, Any], results: Path) -> list[Path]:
    """Run a report's renderer (``config["render"]``) and check that it wrote what it declares."""
    renderer, name = get_renderer(config["render"]), config["name"]
    written = renderer.render(inputs, config, results)
    missing = sorted(set(renderer.outputs(name)) - {str(p.relative_to(results)) for p in written})
    if missing:
        raise ValueError(f"reports.{name}: renderer {config['render']!r} did not write {missing}")
    return written
