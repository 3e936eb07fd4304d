"""The package's import graph, read from the source (every import, also those
inside functions; only `if TYPE_CHECKING:` blocks are left out, as they never
run), for the architecture tests."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import under `node`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports(other, module, is_package)
            continue
        if isinstance(child, ast.Import):
            yield from ((alias.name, []) for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (child.level - 1)]
                target = ".".join(base + ([child.module] if child.module else []))
            else:
                target = child.module or ""
            yield target, [alias.name for alias in child.names]
        yield from _imports(child, module, is_package)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules (of `root` or third-party) it imports; `from
    package import module` counts as importing that module."""
    paths = sorted(root.rglob("*.py"))
    names = {module_name(root, p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        module = module_name(root, path)
        found: set[str] = set()
        for target, taken in _imports(ast.parse(path.read_text(encoding="utf-8")), module, path.name == "__init__.py"):
            modules = [f"{target}.{name}" for name in taken if f"{target}.{name}" in names]
            found.update(modules)
            if len(modules) < len(taken) or not taken:
                found.add(target)
        graph[module] = found - {module}
    return graph


def violations(graph: dict[str, set[str]], layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """`module -> import` for every module of `layer` importing something under `forbidden`."""
    def under(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items() if under(module, layer)
        for target in targets if any(under(target, f) for f in forbidden)
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The package's import cycles (strongly connected parts of more than one
    module, or a module importing itself), each as a sorted list."""
    internal = {m: {t for t in ts if t in graph} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(internal[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == module:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for module in sorted(internal):
        if module not in index:
            visit(module)
    return found
