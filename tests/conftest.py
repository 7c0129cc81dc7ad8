"""Shared fixtures: the real schema, a fresh workspace, and a small hand-made export."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import shutil
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
import typer.main
import typer.testing
from typer.testing import CliRunner, Result

from ctdc.cli import app
from ctdc.mapping import Mapping
from ctdc.schema import Schema, load_schema
from ctdc.store.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parents[1]

# No fsync in the suite (ctdc.store.atomic.durable): the tests' workspaces are thrown away, and
# the suite's ~2,000 fsyncs cost ~8% of its time. Renames stay atomic, so every crash test still
# holds; tests/store/test_temp_files.py checks that a durable write does fsync. The smoke tests'
# processes inherit it.
os.environ.setdefault("CTDC_FSYNC", "off")

# typer turns the app into a click command on every CliRunner.invoke, evaluating every
# command's annotations again (~20 ms a call, several hundred calls a run); the app does not
# change during a test run, so the command is built once and reused
_COMMAND = typer.main.get_command(app)
_build_command = typer.testing._get_command
typer.testing._get_command = lambda typer_app: (
    _COMMAND if typer_app is app else _build_command(typer_app)
)

TEST_MAPPING = """\
org: test-org
data_source: Hotline
source: {format: csv, encoding: latin-1, delimiter: ";"}
case_id: ID
drop: [Nombre, Notas]
missing: ["", "N/D"]
age: {column: Edad}
fields:
  year_of_registration: {column: Fecha, date_format: "%d/%m/%Y"}
  gender:
    column: Sexo
    values: {Mujer: Female, Hombre: Male, Desconocido: null}
  citizenship: {column: Nac, country: name, language: es}
  is_abduction: {column: Secuestro, values: {Sí: true, No: false}}
multi:
  - column: Control
    separator: ","
    values: {Deuda: moc_debt_bondage, Amenazas: moc_threats}
"""

#: one good row per line 2-3, then one defect per row (row numbers as a spreadsheet shows)
TEST_ROWS = [
    "ID;Nombre;Notas;Edad;Fecha;Sexo;Nac;Secuestro;Control",
    "00123;Ana Marker1;vive en Marker2;25;01/02/2020;Mujer;Perú;Sí;Deuda, Amenazas",  # row 2
    "002;Bo;y;N/D;03/04/2021;hombre;Namibia;No;",  # row 3: NA = Namibia, missing age
    "003;C;z;veinte;01/02/2021;Mujer;Perú;No;",  # row 4: bad-number
    "004;D;z;30;31/02/2021;Mujer;Perú;No;",  # row 5: bad-date
    "005;E;z;30;01/02/2021;Varón;Perú;No;",  # row 6: unknown-value
    "006;F;z;30;01/02/2021;Mujer;Narnia;No;",  # row 7: unknown-country
    "007;G;z;150;01/02/2021;Mujer;Perú;No;",  # row 8: out-of-range
    ";H;z;30;01/02/2021;Mujer;Perú;No;",  # row 9: missing-required
    "002;I;z;30;01/02/2021;Mujer;Perú;No;",  # row 10: duplicate-case-id
    "008;J;z;30;01/02/2021;Mujer;Perú;No;Deuda,Magia",  # row 11: unknown-value (multi)
]
EXPECTED_BAD = {
    4: ("bad-number", "Edad"),
    5: ("bad-date", "Fecha"),
    6: ("unknown-value", "Sexo"),
    7: ("unknown-country", "Nac"),
    8: ("out-of-range", "Edad"),
    9: ("missing-required", "ID"),
    10: ("duplicate-case-id", "ID"),
    11: ("unknown-value", "Control"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast tier: a run naming no paths and no ``-m`` leaves out the tests marked ``slow``
    (``make test`` runs them next with ``-m slow``). A run naming a file or folder runs all
    of its tests, so that no file of slow tests answers "no tests ran"."""
    if config.option.markexpr or config.getoption("file_or_dir"):
        return
    fast: list[pytest.Item] = []
    slow: list[pytest.Item] = []
    for item in items:
        (slow if item.get_closest_marker("slow") else fast).append(item)
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = fast


#: a fast-tier test whose setup and call take longer than this is named at the end of the run
FAST_TIER_LIMIT_S = 3.0
_fast_tier_seconds: dict[str, float] = {}


#: a setup report's user property: seconds the setup spent building (or waiting for) a
#: folder the whole run shares (:func:`shared_build`), which is no cost of that test
SHARED_BUILD = "shared build s"
_shared_seconds: list[float] = []  # on the worker, during one test's setup


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Carry the setup's shared-build seconds to the controller, in its report."""
    report = yield
    if call.when == "setup" and _shared_seconds:
        report.user_properties.append((SHARED_BUILD, sum(_shared_seconds)))
        _shared_seconds.clear()
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add up each unmarked test's setup and call time (on the controller under xdist),
    less what it spent building a shared folder for the run."""
    if "slow" not in report.keywords and report.when in ("setup", "call"):
        shared = sum(v for k, v in report.user_properties if k == SHARED_BUILD)
        seconds = report.duration - (shared if report.when == "setup" else 0.0)
        _fast_tier_seconds[report.nodeid] = _fast_tier_seconds.get(report.nodeid, 0.0) + seconds


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the fast-tier tests over :data:`FAST_TIER_LIMIT_S`: a hint, never a failure (this
    machine's load is no property of the code), so that the tier stays under a minute."""
    over = sorted(((s, n) for n, s in _fast_tier_seconds.items() if s > FAST_TIER_LIMIT_S),
                  reverse=True)  # fmt: skip
    if over:
        terminalreporter.write_sep("-", f"fast-tier tests over {FAST_TIER_LIMIT_S:g} s "
                                   "(mark them slow if they stay there; README)")  # fmt: skip
        for seconds, nodeid in over:
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema(ROOT / "schemas" / "ctdc.yaml")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws, _ = init_workspace(tmp_path / "data", k_floor=2)
    return ws


@pytest.fixture
def org(tmp_path: Path, schema: Schema) -> Mapping:
    """The loaded ``test-org`` mapping (for tests that call ingest_file directly)."""
    from ctdc.mapping import load_mapping

    (tmp_path / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    return load_mapping(tmp_path / "test-org.yaml", schema)


@pytest.fixture
def test_org(tmp_path: Path) -> tuple[Path, Path]:
    """(pipelines dir, export file) for the hand-made ``test-org`` export."""
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_bytes(("\n".join(TEST_ROWS) + "\n").encode("latin-1"))
    return pipelines, export


def cli(*args: str) -> Result:
    """``ctdc --data-dir data ARGS`` in-process, in the current directory."""
    return CliRunner().invoke(app, ["--data-dir", "data", *args])


@pytest.fixture
def cli_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory: pipelines/test-org.yaml and a workspace ``data`` made by init."""
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CTDC_HOME", raising=False)
    result = cli("init")
    assert result.exit_code == 0, result.output
    return tmp_path


def run_ctdc(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """``ctdc ARGS`` in-process, run in ``cwd`` as a user would run it there.

    No stdin (not a terminal, as for a process with stdin from /dev/null),
    ``CTDC_HOME`` unset unless ``env`` sets it. Fails the test on any uncaught
    exception (the process would have printed a traceback) or a traceback in
    the output; a catalogued error is a plain exit code, as for the user.
    """
    runner = CliRunner(env={"CTDC_HOME": None, **(env or {})})
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(app, list(args))
    finally:
        os.chdir(before)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        shown = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise AssertionError(f"ctdc {' '.join(args)} raised:\n{shown}")
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


def query_json(root: Path, sql: str) -> list[dict]:
    """An analyst's ``ctdc query`` on the release under ``root/data``, as JSON rows."""
    result = run_ctdc(root, "--data-dir", "data", "query", sql, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def write_test_export(path: Path, records: int, seed: int,
                      controls: tuple[str, ...] | None = None) -> None:  # fmt: skip
    """``records`` good rows of the ``test-org`` export: two nationalities, two years, four
    ages; a means-of-control cell drawn from ``controls`` (empty when None)."""
    rng = random.Random(seed)
    rows = [TEST_ROWS[0]]
    for i in range(records):
        age, year = rng.choice([19, 25, 33, 41]), rng.choice([2019, 2020])
        sex, nat = rng.choice(["Mujer", "Hombre"]), rng.choice(["Perú", "Namibia"])
        flag = rng.choice(["Sí", "No"])
        control = rng.choice(controls) if controls else ""
        rows.append(f"C{i:05d};N{i};x;{age};0{rng.randint(1, 9)}/02/{year};{sex};{nat};"
                    f"{flag};{control}")  # fmt: skip
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))


def harmonized_project(root: Path, records: int, seed: int,
                       controls: tuple[str, ...] | None = None) -> Path:  # fmt: skip
    """``root`` with pipelines/, export.csv (:func:`write_test_export`) and a workspace
    ``data`` that ``ctdc harmonize`` published once, through the CLI in-process."""
    (root / "pipelines").mkdir()
    (root / "pipelines" / "test-org.yaml").write_text(TEST_MAPPING, encoding="utf-8")
    write_test_export(root / "export.csv", records, seed, controls)
    for args in (["init"], ["ingest", "--org", "test-org", "export.csv", "--quiet"],
                 ["harmonize", "--quiet"]):  # fmt: skip
        result = run_ctdc(root, "--data-dir", "data", *args)
        assert result.exit_code == 0, result.output
    return root


def sample_release(root: Path, rows: int, seed: int, k: int) -> tuple[Workspace, Schema]:
    """A workspace ``root/data`` holding the four ``ctdc sample`` organizations' exports
    (``rows`` each, written under ``root/exports``), ingested and harmonized once at ``k``."""
    from ctdc.harmonize import harmonize
    from ctdc.ingest import ingest_file
    from ctdc.mapping import load_mapping
    from ctdc.sample import generate_samples

    schema = load_schema(ROOT / "schemas" / "ctdc.yaml")
    samples = generate_samples(root / "exports", rows=rows, seed=seed)
    ws, _ = init_workspace(root / "data", k_floor=2)
    key = ws.load_key()
    for org, path in samples.files.items():
        ingest_file(ws, schema, load_mapping(ROOT / "pipelines" / f"{org}.yaml", schema), path,
                    key=key)  # fmt: skip
    harmonize(ws, schema, k=k)
    return ws, schema


#: the one sample release the read-only tests share (:func:`shared_sample`)
SHARED_ROWS, SHARED_SEED, SHARED_K = 300, 5, 5


def shared_build(
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
    name: str,
    build: Callable[[Path], object],
) -> Iterator[Path]:
    """The folder ``name``, made by ``build(folder)`` once per test run, not once per module
    or per worker: the first worker to ask builds it under a file lock in the run's shared
    temp folder, the others wait and read it. It is READ-ONLY, and checked: a test that
    wrote to it fails at the end of the session (copy it to change it). The time spent
    here (building or waiting) is left out of the asking test's time in the end-of-run
    hint (:data:`SHARED_BUILD`)."""
    started = time.perf_counter()
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # xdist: the workers' parent
    root = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            build(root)
            (root / "built").write_text(_tree_digest(root), encoding="utf-8")
    _shared_seconds.append(time.perf_counter() - started)
    yield root
    assert _tree_digest(root) == (root / "built").read_text(encoding="utf-8"), (
        f"a test changed the shared folder {name}: change a copy of it"
    )


@pytest.fixture(scope="session")
def shared_sample(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Path]:
    """A folder whose ``data`` workspace holds the four ``ctdc sample`` organizations
    (``SHARED_ROWS`` each, written under ``exports``) harmonized once at ``SHARED_K``.

    Built once per run (:func:`shared_build`) and READ-ONLY: a test that writes (a report,
    a second harmonize, a DP charge) works on :func:`copy_of_sample`.
    """
    yield from shared_build(
        tmp_path_factory,
        worker_id,
        "shared-sample",
        lambda root: sample_release(root, SHARED_ROWS, SHARED_SEED, SHARED_K),
    )


@pytest.fixture(scope="session")
def package_project(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Path]:
    """A project whose workspace ``ctdc harmonize`` published once (:func:`harmonized_project`,
    :data:`PACKAGE_RECORDS` records), shared READ-ONLY by the tests of the public release's
    derived files (the data package, the hierarchy tables)."""
    yield from shared_build(
        tmp_path_factory,
        worker_id,
        "package-project",
        lambda root: harmonized_project(root, PACKAGE_RECORDS, seed=12, controls=PACKAGE_CONTROLS),
    )


PACKAGE_RECORDS, PACKAGE_CONTROLS = 80, ("Deuda", "", "Amenazas, Deuda")


def _tree_digest(root: Path) -> str:
    """A hash of every path and file under ``root``, but the ``built`` mark holding it and
    what reading leaves (the run log of a read-only command, lock files)."""
    digest = hashlib.sha256()
    kept = (p for p in root.rglob("*") if p.name != "built" and p.suffix != ".lock"
            and "logs" not in p.relative_to(root).parts)  # fmt: skip
    for path in sorted(kept):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def copy_of_sample(shared: Path, target: Path) -> tuple[Workspace, Schema]:
    """A private copy of :func:`shared_sample` at ``target``, for tests that change it."""
    shutil.copytree(shared, target, symlinks=True)
    return Workspace(target / "data"), load_schema(ROOT / "schemas" / "ctdc.yaml")
