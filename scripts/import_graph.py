"""Print the package's import graph (one edge a -> b a line), its circles and, per CLI
command, the modules it can run: ``python scripts/import_graph.py [SRC_PACKAGE_DIR]``.
The evidence for the layering of src/latentrepro (see tests/unit/test_import_graph.py)."""

import sys
from pathlib import Path

from latentrepro import codegraph

root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else codegraph.ROOT
graph = codegraph.import_graph(root)
print(f"# {sum(map(len, graph.values()))} edges between {len(graph)} modules of {root}")
for module in sorted(graph):
    for target in sorted(graph[module]):
        print(f"{module} -> {target}")
print("# circles")
for group in codegraph.circles(graph):
    print(" <-> ".join(group))
print("# modules each command can run")
for command in codegraph.commands(root):
    print(f"{command}: {' '.join(sorted(codegraph.command_modules(command, root)))}")
