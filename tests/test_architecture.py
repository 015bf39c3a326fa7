"""The floors of docs/architecture.md, enforced: a module imports only from its own floor or
the floors below (function-local imports included), there is no import cycle, and no library
module imports the command line."""

import ast
from pathlib import Path

import multiview

ROOT = Path(multiview.__file__).parent
FLOORS = {   # docs/architecture.md
    0: ["config", "scaling", "keys", "errors", "results", "size", "methods", "runtime", "inputs",
        "outputs", "provenance", "progress"],
    1: ["data", "model", "losses", "metrics"],
    2: ["train", "patch", "limit"],
    3: ["learners", "ntk"],
    4: ["recipe"],
    5: ["verdict", "ratchet", "theory", "check", "dose", "runs", "dynamics", "bench", "bench_torch",
        "analysis", "theorems_k"],
    6: ["sweep", "cluster", "plots", "search"],
    7: ["cli", "api", "process", "__main__"],
}
FLOOR = {f"multiview.{m}": f for f, mods in FLOORS.items() for m in mods}


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The multiview modules `path` imports anywhere in its body."""
    name, out = _name(path), set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from . import theory` imports the module theory, not the package's __init__
            subs = [f"{mod}.{a.name}" for a in node.names]
            targets = subs if node.module is None and all(t in MODULES for t in subs) \
                else [mod] + subs
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        out |= {t for t in targets if t.startswith("multiview") and t in MODULES and t != name}
    return out


MODULES = {_name(p) for p in ROOT.rglob("*.py")}
GRAPH = {_name(p): _imports(p) for p in ROOT.rglob("*.py")}
# a package with a floor (plots/, results/) puts its modules on its floor
FLOOR |= {m: FLOOR[".".join(m.split(".")[:2])] for m in MODULES
          if m.count(".") > 1 and ".".join(m.split(".")[:2]) in FLOOR}


def test_every_top_level_module_has_a_floor():
    top = {m for m in MODULES if m.count(".") == 1 and not m.startswith("multiview.cifar")}
    assert top <= set(FLOOR), sorted(top - set(FLOOR))


def test_the_modules_of_a_package_share_its_floor():
    # plots/ (floor 6) holds its figures in modules of their own: each is checked like a module
    assert {"multiview.plots.style", "multiview.plots.sweeps"} <= set(FLOOR)
    assert FLOOR["multiview.plots.sweeps"] == FLOOR["multiview.plots"] == 6


def test_no_module_imports_from_a_higher_floor():
    wrong = [(m, d) for m, deps in GRAPH.items() if m in FLOOR
             for d in deps if d in FLOOR and FLOOR[d] > FLOOR[m]]
    assert not wrong


def test_the_cifar_arm_uses_the_shared_floors_but_no_command_or_orchestrator():
    # it shares the lower floors (methods, keys, errors, results, losses) and never imports the
    # synthetic arm's numerics above them or its command line
    for m, deps in GRAPH.items():
        if m.startswith("multiview.cifar"):
            shared = {d for d in deps if d in FLOOR}
            assert all(FLOOR[d] <= 1 for d in shared), (m, shared)


def test_no_import_cycle_and_no_library_module_imports_the_command_line():
    assert [m for m, deps in GRAPH.items() if "multiview.cli" in deps] == ["multiview.__main__"]
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for d in GRAPH[m]:
            assert state.get(d) != 1, f"import cycle: {' -> '.join(path + [m, d])}"
            if d not in state:
                visit(d, path + [m])
        state[m] = 2
    for m in GRAPH:
        if m not in state:
            visit(m, [])
