"""The layering DESIGN.md asks for, read from the code's own imports (every import counts, those
inside functions too), and the sizes the style guide keeps to."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kuznia", "flows", "corpus", "tokenizer", "model", "train")
PREFECT = {"prefect", "prefect_dask"}
# importer -> packages it must never import (DESIGN.md, "Dependency direction")
FORBIDDEN = {
    "kuznia": {"flows", "corpus", "tokenizer", "model", "train", *PREFECT},
    "corpus": {"flows", "tokenizer", "model", "train", *PREFECT},
    "tokenizer": {"flows", "model", "train", *PREFECT},
    "model": {"flows", "corpus", "tokenizer", "train", *PREFECT},
    "train": {"flows", "corpus", *PREFECT},
}
MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 80


def _modules() -> dict[str, Path]:
    out = {}
    for top in PACKAGES:
        for p in sorted((ROOT / top).rglob("*.py")):
            name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = p
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Our modules (or the top-level names of libraries) that a module imports."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        for t in targets:
            mod = t
            while mod and mod not in MODULES:
                mod = mod.rpartition(".")[0]
            found.add(mod or t.split(".")[0])
    found.discard(name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_no_package_imports_what_the_layering_forbids():
    bad = [f"{m} imports {t}" for m, targets in GRAPH.items() for t in targets
           if t.split(".")[0] in FORBIDDEN.get(m.split(".")[0], ())]
    assert bad == []


def test_nothing_outside_flows_imports_flows_or_prefect():
    bad = [m for m, targets in GRAPH.items() if not m.startswith("flows")
           and any(t.split(".")[0] in {"flows", *PREFECT} for t in targets)]
    assert bad == []


def test_no_import_cycles():
    """Depth-first search over module imports; any back edge is a cycle."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(GRAPH[m]):
            if t not in GRAPH:
                continue
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [m, t]))
            elif t not in state:
                visit(t, [*stack, m] if t != m else stack)
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [])
    assert cycles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_files_and_functions_stay_readable(name: str):
    path = MODULES[name]
    if "kernel" in path.name:  # numba kernels: passes that share scratch arrays stay together
        return
    src = path.read_text("utf-8")
    assert src.count("\n") <= MAX_FILE_LINES, f"{path} has {src.count(chr(10))} lines"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(ast.parse(src))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []
