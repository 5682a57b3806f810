"""The tree shows the parts, and imports run one way: nothing imports what stands above it, and no cycle.

Read from the source (every import, the ones inside functions too, but not those under TYPE_CHECKING,
which never run), so the rule holds for what runs, not only for what loads first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kagglekit"

# Lowest first. A module may import its own part and the parts below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("exceptions", "arguments", "paths", "markers", "outputs", "jsonfiles", "chain"),  # shared; chain imports nothing
    ("kaggle",),  # the one wrapper of the official client (a leaf), the notebook's credentials
    ("competitions",),  # what is specific to each competition, and drafting a spec from what Kaggle says
    ("data",),  # Kaggle's files to the arrays and folders training reads
    ("submissions",),  # CSV formats, records, ensembles, compare, submit and scores
    ("training",),  # models, training, evaluation, prediction
    ("remote",),  # training in a Kaggle kernel
    ("cli", "commands", "__main__"),  # the stages' command lines
    ("standin",),  # the local stand-in for Kaggle: the demo and the tests only
)
LAYER = {part: level for level, parts in enumerate(LAYERS) for part in parts}
# kagglekit/__init__ picks Keras' backend before anything can import Keras; the demo command runs the stand-in;
# paths resolves a competition's file names through its spec (CompetitionPaths.spec, read on first use).
ALLOWED_UPWARD = {("__init__", "training"), ("commands", "standin"), ("paths", "competitions")}


def modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts): path for path in PACKAGE.rglob("*.py")}


def runtime_imports(path: Path) -> set[str]:
    """kagglekit modules ``path`` imports when it runs (imports under ``if TYPE_CHECKING:`` left out)."""
    tree = ast.parse(path.read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("kagglekit")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kagglekit"):
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules() or name == "kagglekit"}


def part_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


@pytest.mark.parametrize("module", sorted(modules()))
def test_nothing_imports_what_stands_above_it(module: str) -> None:
    mine = part_of(module)
    assert mine in LAYER or mine == "__init__", f"{module} belongs to no layer: add its part to LAYERS"
    upward = sorted(
        name
        for name in runtime_imports(modules()[module])
        if part_of(name) != mine
        and part_of(name) != "__init__"
        and (mine, part_of(name)) not in ALLOWED_UPWARD
        and mine != "__init__"
        and LAYER[part_of(name)] > LAYER[mine]
    )
    assert not upward, f"{module} ({mine}) imports from above it: {upward}"


def test_no_module_imports_itself_round_a_cycle() -> None:
    graph = {
        module: {name for name in runtime_imports(path) if name != "kagglekit" and name != module}
        for module, path in modules().items()
    }
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(module) :] + [module]))
        if module in done:
            return
        for name in graph.get(module, ()):
            if not name.startswith(module + "."):  # a package importing its own submodules is no cycle
                visit(name, trail + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_pushed_kernels_leave_the_stand_in_out() -> None:
    import base64
    import io
    import zipfile

    from kagglekit.remote.kernels import package_base64

    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(package_base64()))).namelist()
    assert "kagglekit/remote/kernel_entry.py" in names and "kagglekit/cli.py" in names
    assert not [name for name in names if name.startswith("kagglekit/standin/")]
