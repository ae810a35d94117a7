"""The architecture, pinned: which room may import which (issue #11).

Rooms: ``datagen.contract`` (the manifest contract), ``splitters`` (the split),
``datagen.reader`` (the generator side), ``datagen.dataset`` (pyarrow access),
``datagen.app`` (the ``datagen`` command line, show, the demo and sample data).
No module of ``datagen`` imports ``splitters`` (the demo runs ``split-datasets`` as a process),
so the two packages never import each other.
Data flows one way; a room may import only the rooms listed for it here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "datagen.contract": {"datagen.contract"},
    "splitters": {"splitters", "datagen.contract"},
    "datagen.reader": {"datagen.reader", "datagen.contract"},
    "datagen.dataset": {"datagen.contract"},
    "datagen": {"datagen.contract"},          # datagen/__init__.py and _version.py (the lazy re-export aside)
    "datagen.app": {"datagen.app", "datagen.contract", "datagen.reader", "datagen"},
}
HEAVY = ("keras", "tensorflow", "dask", "distributed", "jax", "torch")


def _room(module: str) -> str:
    if module == "datagen._version":
        return "datagen.contract"  # the version string the contract writes into manifests
    for room in sorted(ALLOWED, key=len, reverse=True):
        if module == room or module.startswith(room + "."):
            return room
    return module.split(".")[0]


def _modules():
    for pkg in ("datagen", "splitters"):
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            yield ".".join(parts), path, rel.name == "__init__"


def _imports(module: str, path: Path, is_pkg: bool):
    package = module if is_pkg else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or target in ("datagen", "splitters"):
                for alias in node.names:  # "from . import x" / "from datagen import x" may name a module
                    candidate = f"{target}.{alias.name}"
                    yield (candidate if (ROOT / (candidate.replace(".", "/") + ".py")).exists()
                           or (ROOT / candidate.replace(".", "/")).is_dir() else target), node
            else:
                yield target, node


def test_rooms_import_only_what_they_may():
    bad = []
    for module, path, is_pkg in _modules():
        room = _room(module)
        for target, node in _imports(module, path, is_pkg):
            if target.split(".")[0] not in ("datagen", "splitters"):
                continue
            if module == "datagen" and target == "datagen.reader.generator":
                continue  # the lazy DataGenerator re-export, inside __getattr__
            if _room(target) not in ALLOWED[room]:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {room} imports {target}")
    assert not bad, "\n".join(bad)


def test_contract_and_splitters_never_import_heavy_frameworks_even_lazily():
    bad = []
    for module, path, is_pkg in _modules():
        room = _room(module)
        if room not in ("datagen.contract", "splitters", "datagen.dataset", "datagen"):
            continue
        for target, node in _imports(module, path, is_pkg):
            top = target.split(".")[0]
            if top in ("keras", "tensorflow") or (room != "splitters" and top in ("dask", "distributed")):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {room} imports {target}")
    assert not bad, "\n".join(bad)


def test_no_cycle_between_rooms():
    edges: dict[str, set[str]] = {}
    for module, path, is_pkg in _modules():
        for target, _ in _imports(module, path, is_pkg):
            if target.split(".")[0] in ("datagen", "splitters") and _room(target) != _room(module):
                edges.setdefault(_room(module), set()).add(_room(target))
    edges.get("datagen", set()).discard("datagen.reader")  # the lazy re-export
    seen, stack = set(), set()

    def visit(node, trail):
        if node in stack:
            raise AssertionError(f"import cycle: {' -> '.join(trail + [node])}")
        if node in seen:
            return
        stack.add(node)
        for nxt in edges.get(node, ()):
            visit(nxt, trail + [node])
        stack.discard(node)
        seen.add(node)

    for room in list(edges):
        visit(room, [])


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stdout.split())


def test_import_datagen_loads_no_dask_and_no_keras():
    assert not _loaded_after("import datagen, datagen.dataset, datagen.contract.verify") & set(HEAVY)


def test_import_splitters_loads_no_keras():
    loaded = _loaded_after("import splitters, splitters.split")
    assert not loaded & {"keras", "tensorflow", "jax", "torch"}


def test_import_contract_loads_neither():
    assert not _loaded_after("import datagen.contract.manifest, datagen.contract.shardcheck") & set(HEAVY)


def test_the_two_packages_do_not_import_each_other():
    both = [(module, target) for module, path, is_pkg in _modules() if module.startswith("datagen")
            for target, _ in _imports(module, path, is_pkg) if target.split(".")[0] == "splitters"]
    assert not both, both
