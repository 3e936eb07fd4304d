"""The arrows point down: domain <- use cases (app/, history/) <- adapters,
runtime, CLI. Read from the source, so an import inside a function counts;
only `if TYPE_CHECKING:` imports (which never run) are left out."""

from __future__ import annotations

from pathlib import Path

import pytest

import datemaker

from ..support.import_graph import cycles, import_graph, violations

PACKAGE = Path(datemaker.__file__).parent
DRIVERS = ("psycopg", "psycopg_pool", "sqlite3", "aio_pika", "aiormq", "pamqp", "google", "requests",
           "eventsourcing.postgres", "eventsourcing.sqlite", "prometheus_client")
OUTER = ("datemaker.adapters", "datemaker.runtime", "datemaker.cli", "datemaker.demo")


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE)


def test_the_use_cases_import_no_adapter_no_driver_and_not_the_runtime(graph):
    assert violations(graph, "datemaker.app", OUTER + DRIVERS) == []


def test_the_history_replay_imports_no_adapter_no_driver_and_not_the_runtime(graph):
    assert violations(graph, "datemaker.history", OUTER + DRIVERS) == []


def test_the_read_models_use_psycopg_but_no_other_adapter_and_not_the_runtime(graph):
    others = tuple(d for d in DRIVERS if not d.startswith("psycopg"))
    assert violations(graph, "datemaker.projections", OUTER + others) == []


def test_the_domain_imports_nothing_outside_itself_but_its_libraries(graph):
    outside = ("datemaker.app", "datemaker.history", "datemaker.projections", "datemaker.settings", *OUTER, *DRIVERS,
               "eventsourcing.application", "structlog")
    assert violations(graph, "datemaker.domain", outside) == []


def test_the_package_has_no_import_cycle(graph):
    assert cycles(graph) == []


def test_at_most_six_plain_modules_at_the_top():
    assert len(list(PACKAGE.glob("*.py"))) <= 6


def test_no_module_is_over_400_lines_but_the_one_aggregate():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long.keys() <= {"domain/dating_event.py"}, long


# --- the checks themselves catch what they are for ------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", "app/__init__.py": "", "adapters/__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_an_import_of_an_adapter_inside_a_function_is_a_violation(tmp_path):
    root = _package(tmp_path, {
        "adapters/db.py": "import psycopg\n",
        "app/use_case.py": "def run():\n    from pkg.adapters import db\n    return db\n",
    })
    assert violations(import_graph(root), "pkg.app", ("pkg.adapters", "psycopg")) == ["pkg.app.use_case -> pkg.adapters.db"]


def test_a_driver_imported_by_a_use_case_is_a_violation_unless_only_for_type_checking(tmp_path):
    root = _package(tmp_path, {
        "app/direct.py": "import psycopg\n",
        "app/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import psycopg\n",
    })
    assert violations(import_graph(root), "pkg.app", ("psycopg",)) == ["pkg.app.direct -> psycopg"]


def test_a_lazy_import_that_closes_a_loop_is_a_cycle(tmp_path):
    root = _package(tmp_path, {
        "app/a.py": "from pkg.app import b\n",
        "app/b.py": "def later():\n    from pkg.app.a import x\n",
        "app/c.py": "from pkg.app import a\n",
    })
    assert cycles(import_graph(root)) == [["pkg.app.a", "pkg.app.b"]]
