"""Structure checks: no import loop, stages import each other only through entry points, and
the CLI builds its flags without the numerical stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "basketlens"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Module-level imports that run on import (not under ``if TYPE_CHECKING``)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(tree.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """basketlens module -> the basketlens modules its import executes (other packages'
    ``__init__`` included; a module's own packages are initialised before it and excluded)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            own_parents = {name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)}
            for target in targets:
                while target.startswith("basketlens"):
                    # importing a.b.c also runs a.b and a; a module's own packages run first
                    if target in modules and target != name and target not in own_parents:
                        deps.add(target)
                    target = target.rpartition(".")[0]
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_import_loop() -> None:
    found = cycles(import_graph())
    assert found == [], f"import loops: {found}"


def test_the_cycle_finder_finds_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_pipeline_and_the_api_import_several_stages() -> None:
    stages = ("clean", "features", "segment", "mining", "opportunities")
    graph = import_graph()
    for module, deps in graph.items():
        if module.split(".")[1:2] in (
            ["pipeline"],
            ["record"],
            ["api"],
            ["cli"],
            ["docgen"],
            ["config"],
        ):
            continue
        used = {d.split(".")[1] for d in deps if d.count(".") >= 1} & set(stages)
        own = module.split(".")[1] if module.count(".") >= 1 else ""
        assert len(used - {own}) <= 1, f"{module} reaches into stages {sorted(used - {own})}"


def test_help_builds_every_flag_without_the_numerical_stack() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from basketlens.cli import app; "
        "r = CliRunner().invoke(app, ['run', '--help']); assert r.exit_code == 0, r.output; "
        "heavy = [m for m in ('polars', 'numpy', 'sklearn', 'scipy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
