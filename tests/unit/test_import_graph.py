"""The package's import graph has no circles and no import running back up a layer.

The graph is read from the sources with ``ast`` (:mod:`latentrepro.codegraph`; every import
statement, deferred ones inside functions included). Layers, lowest first; a module may import
its own layer and those below, never one above:

 0. ``foundation``: ``density`` (Gaussian log densities, KL, log-mean-exp), ``errors``, ``io``,
    ``progress``, ``codegraph`` and the package ``__init__``: torch and the standard library
    only.
 1. ``data``: dataset registry, download, parsers, tokenisation, splits and batches.
 2. ``config``: params.yaml resolution (``config``) and ``provenance``.
 3. ``metrics``: pure functions of tensors (they may read a dataset's feature extractor).
 4. ``sampling``: Langevin, SGLD, diffusion levels, replay buffer.
 5. ``models``, in four sub-layers: ``models.priors`` < ``models.regularisers`` (whose
    ``base`` imports only priors' ``base``) < backbones (``models.text``, ``models.image``,
    ``models.points``, ``models.clustering``) < the family registry ``models`` (``__init__``).
 6. ``train``: the one training loop.
 7. ``evaluation``: one module per family, rPPL (which trains a language model with the loop)
    and interpolation.
 8. ``report``: tables and figures.
 9. ``cli``: the entry point the rules call.
"""

import pytest

from latentrepro import codegraph

#: (layer, module prefixes), lowest first; a module's layer is that of its longest prefix.
LAYERS = [
    ("foundation", ["latentrepro", "density", "errors", "io", "progress", "codegraph", "scalars"]),
    ("data", ["data"]),
    ("config", ["config", "provenance"]),
    ("metrics", ["metrics"]),
    ("sampling", ["sampling"]),
    ("models.priors", ["models.priors"]),
    ("models.regularisers", ["models.regularisers"]),
    (
        "models.backbones",
        ["models.text", "models.image", "models.points", "models.clustering"],
    ),
    ("models", ["models"]),
    ("train", ["train"]),
    ("evaluation", ["evaluation"]),
    ("report", ["report"]),
    ("cli", ["cli"]),
]


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of ``module`` (a dotted name under latentrepro)."""
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            name = "latentrepro" if prefix == "latentrepro" else f"latentrepro.{prefix}"
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, rank = len(name), index
    if rank is None or (best == len("latentrepro") and module != "latentrepro"):
        raise AssertionError(f"{module}: in no layer of LAYERS; add it to one")
    return rank


GRAPH = codegraph.import_graph()


def test_every_module_has_a_layer():
    for module in GRAPH:
        layer_of(module)


def test_no_circles():
    assert codegraph.circles(GRAPH) == []


def test_no_import_runs_up_a_layer():
    upward = [
        f"{a} ({LAYERS[layer_of(a)][0]}) -> {b} ({LAYERS[layer_of(b)][0]})"
        for a, targets in sorted(GRAPH.items())
        for b in sorted(targets)
        if layer_of(b) > layer_of(a)
    ]
    assert upward == []


def test_regulariser_base_imports_no_implementation():
    below = {m for m in GRAPH["latentrepro.models.regularisers.base"]}
    assert not {m for m in below if m.startswith("latentrepro.models.regularisers")}


def test_training_runs_no_evaluation_code():
    """What `latentrepro train` can run holds no evaluation, metrics or report module."""
    modules = codegraph.command_modules("train")
    assert "latentrepro.train" in modules and "latentrepro.models.text.lstm_vae" in modules
    assert not {
        m for m in modules if m.startswith(("latentrepro.evaluation", "latentrepro.report"))
    }
    assert "latentrepro.models.text.language_model" not in modules


# The graph reader itself, on a toy package with a known graph.


@pytest.fixture
def toy(tmp_path):
    """pkg/__init__.py imports pkg.a; pkg/a.py imports pkg.sub.b at the top and, deferred,
    pkg.c; pkg/sub/b.py has a relative import of pkg.c; pkg/c.py imports nothing of pkg; a
    circle c -> d -> c appears when asked."""
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("from pkg.a import f\n")
    (root / "a.py").write_text(
        "import os\nfrom pkg.sub import b\n\ndef f():\n    from pkg.c import g\n    return g\n"
    )
    (root / "sub" / "__init__.py").write_text("")
    (root / "sub" / "b.py").write_text("from ..c import g\n")
    (root / "c.py").write_text("import json\n\ndef g():\n    return 1\n")
    return root


def test_import_graph_of_a_toy_package(toy):
    graph = codegraph.import_graph(toy, "pkg")
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.sub.b", "pkg.c"},
        "pkg.sub": set(),
        "pkg.sub.b": {"pkg.c"},
        "pkg.c": set(),
    }
    assert codegraph.circles(graph) == []
    # importing pkg.sub.b runs pkg and pkg.sub first, and pkg runs pkg.a
    assert codegraph.closure(["pkg.sub.b"], graph) == {
        "pkg",
        "pkg.a",
        "pkg.sub",
        "pkg.sub.b",
        "pkg.c",
    }
    (toy / "c.py").write_text("from pkg import a\n")
    # c -> a -> sub.b -> c
    assert codegraph.circles(codegraph.import_graph(toy, "pkg")) == [
        ["pkg.a", "pkg.c", "pkg.sub.b"]
    ]
