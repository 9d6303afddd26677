"""The package's own import graph, read from its sources with :mod:`ast` (nothing is imported).

Two uses: the layering test (tests/unit/test_import_graph.py: no circles, no import running
back up) and the code inputs of the workflow's rules (``workflow/rules/common.smk``): a job
reruns when a module its command can run changes, and only then.

An edge ``a -> b`` is an ``import`` statement anywhere in module ``a`` (at the top or inside a
function: a deferred import runs when the function does) that names module ``b`` of the
package, resolved to the deepest module it names (``from latentrepro.models import priors``
names ``latentrepro.models.priors``; ``from latentrepro.models import build_model`` names
``latentrepro.models``). Importing ``a.b.c`` also runs the packages ``a`` and ``a.b``: the
closure (:func:`closure`) adds them, the graph does not (a package's ``__init__`` importing its
own submodules would otherwise be a circle with each of them).

The CLI's commands (:func:`command_modules`): ``cli.py``'s module-level imports, those of the
functions every command runs (``main``, ``_run``) and those of the command's ``cmd_*``
function, which ``build_parser`` names in ``add("<command>", cmd_<...>, ...)``.

Only the standard library is imported here: the Snakefile calls it on every invocation.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PACKAGE = "latentrepro"
ROOT = Path(__file__).resolve().parent
#: Functions of cli.py that run for every command.
COMMON_FUNCTIONS = ("main", "_run")


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of the package under ``root``: dotted name -> source file."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join([package, *parts])] = path
    return modules


def _resolve(name: str, modules: Iterable[str]) -> str | None:
    """The deepest module of ``modules`` that dotted ``name`` starts with."""
    known = set(modules)
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _imported_names(nodes: Iterable[ast.AST], module: str, is_package: bool) -> set[str]:
    """Dotted names the import statements among ``nodes`` (walked) import; ``X.y`` for ``from X
    import y`` (:func:`_resolve` then finds the submodule ``X.y`` or else ``X``)."""
    names: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                names |= {alias.name for alias in sub.names}
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    anchor = module.split(".")
                    anchor = anchor[: len(anchor) - sub.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                names |= {f"{base}.{alias.name}" for alias in sub.names}
    return names


def _edges(names: set[str], modules: Iterable[str], module: str) -> set[str]:
    package = module.split(".")[0]
    resolved = {_resolve(name, modules) for name in names if name.split(".")[0] == package}
    return {name for name in resolved if name is not None and name != module}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules its import statements name."""
    modules = module_files(root, package)
    graph = {}
    for name, path in modules.items():
        names = _file_imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
        graph[name] = _edges(names, modules, name)
    return graph


@cache
def _file_imports(source: str, module: str, is_package: bool) -> frozenset[str]:
    """The names one source text imports, parsed once per process and text: the Snakefile
    asks for the graph once per rule, and parsing is what costs."""
    return frozenset(_imported_names([ast.parse(source)], module, is_package))


def parents(module: str) -> list[str]:
    """The packages importing ``module`` runs first: ``a``, ``a.b`` for ``a.b.c``."""
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def closure(start: Iterable[str], graph: dict[str, set[str]]) -> set[str]:
    """Every module that importing the modules ``start`` can run: their imports, transitively,
    with the parent packages of each."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        module = todo.pop()
        if module in seen or module not in graph:
            continue
        seen.add(module)
        todo += [*graph[module], *parents(module)]
    return seen


@cache
def _cli_functions(root: Path) -> tuple[ast.Module, dict[str, ast.FunctionDef], dict[str, str]]:
    tree = _tree(root / "cli.py")
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    commands = {}
    for node in ast.walk(functions["build_parser"]):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "add"
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[1], ast.Name)
        ):
            commands[node.args[0].value] = node.args[1].id
    return tree, functions, commands


def commands(root: Path = ROOT) -> list[str]:
    """The CLI's command names."""
    return sorted(_cli_functions(root)[2])


def command_modules(command: str, root: Path = ROOT, package: str = PACKAGE) -> set[str]:
    """Every package module ``latentrepro <command>`` can run (see the module docstring)."""
    tree, functions, names = _cli_functions(root)
    if command not in names:
        raise ValueError(f"latentrepro has no command {command!r}; commands: {sorted(names)}")
    nodes: list[ast.AST] = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    nodes += [functions[name] for name in (*COMMON_FUNCTIONS, names[command])]
    modules = module_files(root, package)
    cli = f"{package}.cli"
    start = _edges(_imported_names(nodes, cli, False), modules, cli) | {cli}
    graph = import_graph(root, package)
    graph[cli] = start - {cli}  # only this command's part of cli.py
    return closure(start, graph)


def command_files(command: str, root: Path = ROOT, package: str = PACKAGE) -> list[Path]:
    """The source files of :func:`command_modules`, sorted."""
    modules = module_files(root, package)
    return sorted(modules[name] for name in command_modules(command, root, package))


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of more than one module (Tarjan's algorithm): each is a
    circle of imports. Empty for a layered package."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
