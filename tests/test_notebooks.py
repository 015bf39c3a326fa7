"""Notebooks: every notebooks/*.ipynb runs top to bottom on the tests' tiny configuration.

Each notebook is executed with nbclient in a fresh `python3` kernel of this interpreter (so it
imports `multiview` from this checkout) with MULTIVIEW_NOTEBOOK_TINY=1 (the notebooks switch to
the tiny configuration of conftest.py and write their results to a temporary directory) and
MPLBACKEND=Agg. The kernel's working directory and TMPDIR are the test's tmp_path; the JAX
compilation cache is shared by the three kernels (they compile the same tiny programs).
"""

import json
import os
import sys
import warnings
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import multiview  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_data_explorer.ipynb", "02_theorem_check.ipynb", "03_phase_plots.ipynb"]
CELL_TIMEOUT = 120          # seconds per cell


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A `python3` kernelspec that runs this interpreter, found first through JUPYTER_PATH
    (whatever python3 kernelspec the user has installed), and a shared JAX compile cache."""
    from ipykernel.kernelspec import write_kernel_spec

    share = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(share / "kernels" / "python3")        # argv: [sys.executable, -m, ...]
    cache = tmp_path_factory.mktemp("jax-cache")
    return {"JUPYTER_PATH": os.pathsep.join(filter(None, [str(share),
                                                          os.environ.get("JUPYTER_PATH")])),
            "JAX_COMPILATION_CACHE_DIR": str(cache),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}


def execute(name: str, tmp_path: Path, kernel_env: dict, monkeypatch,
            checks: tuple[str, ...] = ()) -> "nbformat.NotebookNode":
    """Run notebook `name` top to bottom in tmp_path, then the test's own `checks` (code
    cells appended here, never in the committed notebook); a failing cell raises
    CellExecutionError."""
    for key, value in kernel_env.items():   # read here (kernelspec lookup) and by the kernel
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(src, id=f"test-check-{i}")
                 for i, src in enumerate(checks)]
    env = dict(os.environ, MULTIVIEW_NOTEBOOK_TINY="1", MPLBACKEND="Agg", JAX_PLATFORMS="cpu",
               TMPDIR=str(tmp_path),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    return nb


def text_of(nb) -> str:
    """All stream and text/plain output of the executed notebook."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") if o["output_type"] == "stream"
                       else o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def check_ran(nb):
    """Every code cell ran, the kernel imported this checkout's multiview, and the notebook
    ran in tiny mode."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    text = text_of(nb)
    assert f"multiview from {multiview.__file__}" in text
    assert "tiny configuration" in text


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean(name):
    """The committed notebook is valid nbformat v4.5 for the python3 kernel (every cell with
    its own id: no MissingIDFieldWarning), with no outputs."""
    raw = json.loads((NOTEBOOKS / name).read_text())
    assert (raw["nbformat"], raw["nbformat_minor"]) >= (4, 5)
    ids = [cell.get("id") for cell in raw["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), ids
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # MissingIDFieldWarning and the like fail here
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert 'os.environ.get("MULTIVIEW_NOTEBOOK_TINY")' in first.source


# the lower-level calls the Python face (multiview/api.py, docs/api.md) replaces in the notebooks
BELOW_THE_FACE = ("run_check", "run_sweep", "parse_grid", "write_json", "load_arrays",
                  "plots.fig_", "plots.figure", "plots.save", "config import", "preset(",
                  "override(")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_uses_the_face(name):
    """The notebooks train, read results back and draw through `import multiview as mv` (the
    calls the CLI makes: same precision, compile cache, errors and files), not the layers below;
    02 and 03 read their result back with mv.load and show its .frame()."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import multiview as mv" in code and "mv.configure(" in code
    assert [w for w in BELOW_THE_FACE if w in code] == []
    if name != "01_data_explorer.ipynb":
        for call in ("mv.load(", ".frame()", "mv.plot("):
            assert call in code, call


def test_all_notebooks_are_tested():
    """Every notebook in notebooks/ is in NAMES (a new notebook gets run by these tests)."""
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


def test_explorer_without_ipywidgets(monkeypatch, capsys):
    """Without ipywidgets, 02's explorer cell prints a note instead of failing (run here, in
    process, with the import blocked; nothing is trained)."""
    nb = nbformat.read(NOTEBOOKS / "02_theorem_check.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "widgets")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)        # import raises ImportError
    exec(cell.source, {"cfg": None, "L_EXPLORE": 2, "explore": None, "display": None})
    assert "ipywidgets is not installed" in capsys.readouterr().out


def test_data_explorer(tmp_path, kernel_env, monkeypatch):
    """01 runs on the tiny configuration: draws a problem, prints its summary and draws the
    patch x view projections of a multi-view and a single-view sample."""
    # the notebook's draws are those of `multiview data` (same preset, seed 0): its summary of
    # the training set equals the CLI's
    same_as_cli = """
import contextlib, io, json
from multiview.cli import main
from multiview.results import dumps
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    assert main(["data", "--preset", "tiny" if TINY else "small", "--seed", str(SEED),
                 "--split", "train"]) == 0
cli = json.loads(buf.getvalue())
assert json.loads(dumps(stats["train"])) == {key: cli[key] for key in stats["train"]}
print("draws equal multiview data")
"""
    nb = execute("01_data_explorer.ipynb", tmp_path, kernel_env, monkeypatch, (same_as_cli,))
    check_ran(nb)
    assert "draws equal multiview data" in text_of(nb)
    text = text_of(nb)
    assert "single_view_fraction" in text
    assert "Figure" in text                       # the figures were displayed (Agg: as text)


def test_theorem_check(tmp_path, kernel_env, monkeypatch):
    """02 runs on the tiny configuration: mv.check (single, ensemble) with its table, the
    check.json read back (mv.load) and the methods figure (mv.plot), then the interactive explorer is built (ipywidgets sliders and button)
    and its callback reruns a check once without blocking."""
    # the explorer's first rerun (called by its cell) produced a result: a failing check
    # shows its traceback in the widget's output, which does not fail the cell
    explored = """
if widgets is not None:
    assert last["result"] is not None, "the explorer's check failed: see its output"
    print("explorer ran")
"""
    nb = execute("02_theorem_check.ipynb", tmp_path, kernel_env, monkeypatch, (explored,))
    check_ran(nb)
    text = text_of(nb)
    assert "T1.single" in text                    # the prediction table
    written = list(tmp_path.glob("multiview-nb-*/check.json"))
    assert len(written) == 1
    assert (written[0].parent / "methods.png").stat().st_size > 0
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        assert "ipywidgets is not installed" in text
    else:
        views = [o for c in nb.cells for o in c.get("outputs", [])
                 if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, "the explorer's widgets were not displayed"
        assert "explorer ran" in text


def test_phase_plots(tmp_path, kernel_env, monkeypatch):
    """03 runs on the tiny configuration: a 2 x 2 sweep (mv.sweep) into a temporary directory
    and its phase plot, then view_arrays and the views / lottery / ensemble-size figures
    (mv.plot)."""
    nb = execute("03_phase_plots.ipynb", tmp_path, kernel_env, monkeypatch)
    check_ran(nb)
    out = list(tmp_path.glob("multiview-nb-*"))
    assert len(out) == 1
    assert (out[0] / "sweep_mu_sigma0" / "sweep.json").is_file()
    for fig in ("phase_mu_sigma0", "views", "lottery", "ensemble_size"):
        assert (out[0] / f"{fig}.png").stat().st_size > 0, fig
