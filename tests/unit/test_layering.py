"""The layers hold: the kernel (altsim/) imports no service and no lab, each service imports
only the layers below it, and only the lab composes everything (docs/architecture.md).

Checked twice over: by importing in a fresh interpreter, which sees what really gets loaded
(through ``__init__`` files, plugins and entry points too), and statically from every
``import`` statement of every file, function-level ones included, which sees imports a run
would only reach on some path.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KERNEL = "altsim"
SERVICES = ("conductor", "scheduler", "compute_sim", "placement_sim")
LAB = "altsim_lab"
PACKAGES = (KERNEL, *SERVICES, LAB)
OURS = frozenset({*PACKAGES, "benchmarks", "studies", "tests"})

# What each package may import besides itself: a package, or a module (and its submodules).
ALLOWED = {
    KERNEL: frozenset(),
    "placement_sim": frozenset({KERNEL}),
    "scheduler": frozenset({KERNEL, "placement_sim"}),
    # Cells cannot call up: no scheduler. The one arrow back, inherent as in Nova: a failed
    # build is cast to the cell conductor through its rpcapi (whose options cmd registers).
    "compute_sim": frozenset({KERNEL, "placement_sim", "conductor.rpcapi", "conductor.conf"}),
    "conductor": frozenset({KERNEL, "placement_sim", "scheduler", "compute_sim"}),
    LAB: frozenset({KERNEL, *SERVICES}),
}

# A service's insides: its RPC endpoints and the steps they run. Others use its rpcapi,
# client, conf and exceptions instead.
INSIDES = frozenset({"manager", "cell_manager", "tasks"})


def _loaded_by_importing(packages: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(the modules imported, every module then loaded), every module of ``packages``
    imported in a fresh interpreter."""
    code = ("import importlib, json, pkgutil, sys\n"
            f"roots = {list(packages)!r}\n"
            "names = []\n"
            "for root in roots:\n"
            "    package = importlib.import_module(root)\n"
            "    names += [root] + [m.name for m in pkgutil.walk_packages(\n"
            "        package.__path__, root + '.')]\n"
            "for name in names:\n"
            "    importlib.import_module(name)\n"
            "print(json.dumps([names, sorted(sys.modules)]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=True)
    imported, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    return imported, loaded


def _of(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in packages]


def test_importing_the_kernel_loads_no_service_and_no_lab() -> None:
    imported, loaded = _loaded_by_importing((KERNEL,))
    assert {"altsim.objects", "altsim.rpc", "altsim.db.cell"} <= set(imported)
    assert _of(loaded, (*SERVICES, LAB)) == [], "the kernel's imports load these"


def test_importing_the_services_loads_no_lab() -> None:
    imported, loaded = _loaded_by_importing(SERVICES)
    assert {"conductor.super_manager", "scheduler.manager", "compute_sim.manager",
            "placement_sim.http_app"} <= set(imported)
    assert _of(loaded, (LAB,)) == [], "the services' imports load these"


def _module_exists(dotted: str) -> bool:
    path = REPO.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in ``path``, at any depth; ``from a import b`` names
    ``a.b`` when that is a module, else ``a``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: up from this module's package
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield node.lineno, candidate if _module_exists(candidate) else base


def _our_imports(package: str) -> Iterator[tuple[str, str]]:
    """(file:line, module of ours in another package) for every file of ``package``."""
    for path in sorted((REPO / package).rglob("*.py")):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in OURS and top != package:
                yield f"{path.relative_to(REPO)}:{line}", module


def _allowed(module: str, targets: frozenset[str]) -> bool:
    return any(module == t or module.startswith(t + ".") for t in targets)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_import_points_down(package: str) -> None:
    wrong = [f"{where} imports {module}" for where, module in _our_imports(package)
             if not _allowed(module, ALLOWED[package])]
    assert not wrong, "\n".join(wrong)


WHITE_BOX = "altsim_lab/testing/"


@pytest.mark.parametrize("package", [LAB, *SERVICES])
def test_no_one_imports_a_service_manager_or_tasks(package: str) -> None:
    """Another package talks to a service through its rpcapi or client (the lab reads event
    names from the kernel), never through its endpoints or the steps behind them. The one
    exception is the lab's white-box test world (altsim_lab/testing/), whose World and Loopback
    wire real managers together in one thread, as each service's own builder does."""
    wrong = [f"{where} imports {module}" for where, module in _our_imports(package)
             if not where.startswith(WHITE_BOX) and module.split(".")[0] in SERVICES
             and len(module.split(".")) > 1 and module.split(".")[1] in INSIDES]
    assert not wrong, "\n".join(wrong)


def test_the_static_check_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The parser behind the checks above: an import inside a function, a relative one and
    ``from package import module`` each name the module they load."""
    package = tmp_path / "conductor"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rpcapi.py").write_text("")
    source = package / "late.py"
    source.write_text("def f():\n    from . import rpcapi\n    import scheduler.manager\n"
                      "from conductor import rpcapi as r\nfrom conductor.rpcapi import X\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert list(_imports(source)) == [(4, "conductor.rpcapi"), (5, "conductor.rpcapi"),
                                      (2, "conductor.rpcapi"), (3, "scheduler.manager")]
