"""Imports run one way (STYLE.md, habit 1): the pages and the CLI over `ganaug`, over `db` and `ganaug_core`.

`ganaug_core` imports neither Streamlit, SQLAlchemy, `db` nor `ganaug`; `db` imports no torch, `ganaug` nor
Streamlit; and the orchestration modules the worker and the pages load do not load the command line (`ganaug.runs`
took `UserError` from `ganaug.cli.common`, so the worker and the Generate page assembled every command first)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_packages(package: str) -> dict[str, set[str]]:
    """file → the top-level packages its import statements name (at the top or inside a function)."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


@pytest.mark.parametrize("package,forbidden", [
    ("ganaug_core", {"streamlit", "sqlalchemy", "alembic", "db", "ganaug", "pages"}),
    ("db", {"torch", "ganaug", "streamlit", "pages"}),
])
def test_a_lower_package_imports_nothing_above_it(package, forbidden):
    broken = {f: sorted(names & forbidden) for f, names in imported_packages(package).items() if names & forbidden}
    assert broken == {}


def test_the_worker_and_the_pages_orchestration_load_no_command_line():
    code = ("import sys; import ganaug.worker, ganaug.runs, ganaug.batches, ganaug.disk, ganaug.reproduce, "
            "ganaug.job_handlers; "
            "loaded = sorted(m for m in sys.modules if m.startswith('ganaug.cli')); assert not loaded, loaded")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_an_ingest_job_says_its_notes_without_loading_the_command_line(tmp_path):
    """The worker's ingest took its notes and its report's shown names from `ganaug.cli.ingest_notes` and
    `ganaug.cli.data`, which assembled typer and the command modules inside the worker."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(5)
    for name, n in (("normal", 6), ("fracture", 3)):  # 16-bit values below 4,096: a note says "nearly black"
        (tmp_path / "xrays" / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 4096, (8, 8)).astype(np.uint16)).save(tmp_path / "xrays" / name / f"{i}.png")
    code = ("import sys; from ganaug.job_handlers import ingest; "
            f"r = ingest(dict(source={str(tmp_path / 'xrays')!r}, dataset='xrays', resolution=8, test_fraction=0.2, "
            "seed=0, follow_links=True), lambda p: None, lambda: False); "
            "assert any('nearly black' in n for n in r['notes']), r['notes']; "
            "loaded = sorted(m for m in sys.modules if m.startswith('ganaug.cli')); assert not loaded, loaded")
    env = {**os.environ, "GANAUG_HOME": str(tmp_path / "home")}
    env.pop("GANAUG_DB_URL", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr


def test_every_package_the_product_imports_is_a_declared_dependency():
    """`ganaug_core/metrics/fid.py` imports scipy and `ganaug_core/embedding.py` numba, which pyproject.toml did not
    name: they came only as scikit-learn's and umap-learn's own dependencies, for as long as those keep them."""
    import importlib.metadata
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    declared = {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}
    ours = {"ganaug", "ganaug_core", "db", "pages", "app", "__future__",
            "psycopg2"}  # the driver a URL may name instead of psycopg (db/engine.py), if its user installed it
    imported = set().union(*(names for package in ("ganaug", "ganaug_core", "db", "pages")
                             for names in imported_packages(package).values()))
    distributions = importlib.metadata.packages_distributions()  # import name → the distributions that install it
    undeclared = {name: distributions.get(name) for name in imported - ours - set(sys.stdlib_module_names)
                  if not {d.lower().replace("_", "-") for d in distributions.get(name, [])} & declared}
    assert undeclared == {}
