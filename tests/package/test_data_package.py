"""The data package of a public release, checked by the tools its readers use.

One workspace is harmonized for the module (``package_fixtures``). The
Frictionless library validates ``datapackage.json`` (types, enums, required
cells, the CSV's hash and size); DuckDB reads ``cases.csv`` and
``cases.parquet`` and finds the same rows in the same order; the ``jsonschema``
library validates every row against ``cases.schema.json``; the codebook names
every column and value, and its HTML reaches nothing outside itself. The
files are a function of the release (made again, the same bytes), exist only
in the public copy, and pass ``ctdc audit`` (every byte scanned for private
strings, the files check).
"""

from __future__ import annotations

import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import frictionless
import jsonschema
import pyarrow.parquet as pq
import pytest

from conftest import PACKAGE_RECORDS, run_ctdc
from ctdc.audit import audit_release
from ctdc.harmonize.publish import release_hierarchies
from ctdc.package import PACKAGE_FILES, ReleaseInfo, package_files, write_package
from ctdc.schema import Schema
from ctdc.store.public import PublicArea
from ctdc.store.workspace import Workspace


@pytest.fixture(scope="module")
def project(package_project: Path) -> Path:
    return package_project


@pytest.fixture(scope="module")
def release(project: Path) -> Path:
    return (project / "data" / "public" / "current").resolve()


def _dictionary(release: Path) -> dict[str, dict[str, Any]]:
    return {r["column"]: r for r in pq.read_table(release / "dictionary.parquet").to_pylist()}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_frictionless_validates_the_package(release: Path) -> None:
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    [task] = report.tasks
    rows = pq.ParquetFile(release / "cases.parquet").metadata.num_rows
    assert task.name == "cases" and task.stats["rows"] == rows
    package = frictionless.Package(str(release / "datapackage.json"))
    first = package.get_resource("cases").read_rows()[0]
    assert isinstance(first["year_of_registration"], int | None)
    assert isinstance(first["is_abduction"], bool | None)


def test_the_package_describes_the_release(release: Path, schema: Schema) -> None:
    doc = _load(release / "datapackage.json")
    manifest = _load(release / "manifest.json")
    assert doc["licenses"] and doc["sources"]
    for part in ("ctdc", manifest["release_id"], f"k = {manifest['k']}"):
        assert part in doc["citation"]
    assert doc["ctdc"]["schema"] == manifest["schema"] and doc["ctdc"]["k"] == manifest["k"]
    [resource] = doc["resources"]
    assert resource["path"] == "cases.csv" and resource["schema"]["missingValues"] == [""]
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    dictionary = _dictionary(release)
    assert list(fields) == list(dictionary) == pq.read_schema(release / "cases.parquet").names
    kinds = {"SMALLINT": "integer", "BOOLEAN": "boolean", "VARCHAR": "string"}
    for name, field in fields.items():
        assert field["type"] == kinds[dictionary[name]["type"]], name
        assert dictionary[name]["description"] in field["description"]
    values = [v["value"] for v in dictionary["gender"]["values"]]
    assert fields["gender"]["constraints"]["enum"] == values
    years = [int(v["value"]) for v in dictionary["year_of_registration"]["values"]]
    assert fields["year_of_registration"]["constraints"]["enum"] == years
    labels = [g.concatenated for g in schema.groups.values() if g.concatenated]
    assert labels and all("constraints" not in fields[c] for c in labels)  # combinations
    for status in schema.status_columns.values():
        assert fields[status]["constraints"]["required"] is True


def test_the_csv_has_the_parquet_rows_in_order(release: Path) -> None:
    raw = (release / "cases.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\n")
    text = raw.decode("utf-8")
    names = pq.read_schema(release / "cases.parquet").names
    assert text.split("\n", 1)[0] == ",".join(names)
    types = {r["column"]: r["type"] for r in _dictionary(release).values()}
    columns = "{" + ", ".join(f"'{n}': '{types[n]}'" for n in names) + "}"
    with duckdb.connect() as con:
        csv = con.execute(f"SELECT * FROM read_csv('{release / 'cases.csv'}', header = true, "
                          f"columns = {columns}, nullstr = '')").fetchall()  # fmt: skip
        parquet = con.execute(f"SELECT * FROM read_parquet('{release / 'cases.parquet'}')")
        assert csv == parquet.fetchall() and len(csv) == PACKAGE_RECORDS
        cells = con.execute(f"SELECT * FROM read_csv('{release / 'cases.csv'}', header = true, "
                            "all_varchar = true)").fetchall()  # fmt: skip
    assert {c for row in cells for c in row if c in ("true", "false")} == {"true", "false"}
    # no cell a spreadsheet would run as a formula
    assert not [c for row in cells for c in row if c and c[0] in "=+-@\t\r"]


def test_every_row_validates_against_the_json_schema(release: Path) -> None:
    doc = _load(release / "cases.schema.json")
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = jsonschema.Draft202012Validator(doc)
    validator.check_schema(doc)
    rows = pq.read_table(release / "cases.parquet").to_pylist()
    for row in rows:
        validator.validate(row)
    assert not validator.is_valid({**rows[0], "gender": "Unknown"})
    assert not validator.is_valid({**rows[0], "case_pseudonym": "x"})
    assert not validator.is_valid({**rows[0], "citizenship_status": None})
    assert not validator.is_valid({k: v for k, v in rows[0].items() if k != "gender"})


def package_files_of(release: Path) -> list[str]:
    """Every file of the public release but its manifest."""
    return sorted(p.name for p in release.iterdir() if p.name != "manifest.json")


class _Tags(HTMLParser):
    """Every start tag with its attributes, and whether the open tags closed in order."""

    VOID = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.mismatched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.mismatched.append(tag)


def test_the_codebook_lists_every_column_and_value(release: Path) -> None:
    md = (release / "codebook.md").read_text(encoding="utf-8")
    page = (release / "codebook.html").read_text(encoding="utf-8")
    manifest = _load(release / "manifest.json")
    assert manifest["release_id"] in md and manifest["release_id"] in page
    for column, row in _dictionary(release).items():
        assert f"### `{column}`" in md and f'id="col-{column}"' in page
        for value in row["values"]:
            assert f"`{value['value']}`" in md, (column, value)
            assert f"<code>{value['value']}</code>" in page.replace("&#x27;", "'"), value
    for name in package_files_of(release):
        assert f"`{name}`" in md
    tags = _Tags()
    tags.feed(page)
    assert not tags.mismatched and tags.stack == []
    assert {t for t, _ in tags.starts} <= {"html", "head", "meta", "title", "style", "body", "h1",
                                           "h2", "h3", "p", "code", "table", "tr", "th", "td",
                                           "a"}  # fmt: skip
    hrefs = [a.get("href") or "" for t, a in tags.starts if t == "a"]
    assert hrefs and all(h.startswith("#col-") for h in hrefs)
    assert all(f'id="{h[1:]}"' in page for h in hrefs)


def test_made_again_the_files_are_the_same_bytes_and_only_public(
    project: Path, release: Path, schema: Schema, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    again.mkdir()
    for name in ("cases.parquet", "dictionary.parquet"):
        shutil.copyfile(release / name, again / name)
    manifest = _load(release / "manifest.json")
    info = ReleaseInfo(manifest["release_id"], manifest["created_at"], manifest["k"],
                       manifest["l"], manifest["schema"]["name"], manifest["schema"]["version"],
                       manifest["schema"]["sha256"], manifest["ctdc_version"])  # fmt: skip
    hierarchies = release_hierarchies(schema, release / "dictionary.parquet")
    written = write_package(again, schema, hierarchies, info)
    assert written == package_files(schema) and set(PACKAGE_FILES) <= set(written)
    for name in written:
        assert (again / name).read_bytes() == (release / name).read_bytes(), name
        assert not (project / "data" / "current" / name).exists()  # the private release


@pytest.mark.slow
def test_ctdc_audit_passes_over_the_package(project: Path) -> None:
    """The audit's files check knows the new files, and its byte scan finds nothing private."""
    result = run_ctdc(project, "--data-dir", "data", "audit", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["files"]["passed"] and checks["markers and bytes"]["passed"]


def test_the_audit_files_check_knows_the_package(
    project: Path, release: Path, schema: Schema, tmp_path: Path
) -> None:
    """Required in the current release, allowed in an older one, nothing else beside them."""
    public = tmp_path / "public"
    shutil.copytree(project / "data" / "public", public, symlinks=True)
    area = PublicArea(public, 0o755)
    current = public / "releases" / release.name
    ws = Workspace(project / "data")
    k = _load(release / "manifest.json")["k"]

    def files_detail() -> tuple[bool, str]:
        result = audit_release(ws, schema, current, k=k, public=area, only={"files"})["files"]
        return result.passed, result.detail

    older = public / "releases" / "20000101T000000Z-0123abcd"  # kept, from before the package
    older.mkdir(mode=0o755)
    for name in ("cases.parquet", "dictionary.parquet", "manifest.json"):
        shutil.copyfile(current / name, older / name)
        (older / name).chmod(0o644)
    assert files_detail()[0]
    (current / "codebook.html").unlink()
    (current / "cases.xlsx").write_bytes(b"")
    (current / "hierarchy_citizenship.parquet").unlink()
    os.symlink(current / "cases.parquet", current / "hierarchy_citizenship.parquet")
    (public / "views.sql").chmod(0o666)
    passed, detail = files_detail()
    assert not passed
    label = f"releases/{current.name}"
    for problem in (f"{label}/codebook.html is missing", f"stray {label}/cases.xlsx",
                    f"{label}/hierarchy_citizenship.parquet is not a regular file",
                    "views.sql has mode 0666, not 0644"):  # fmt: skip
        assert problem in detail, detail
    assert older.name not in detail


@pytest.mark.slow
def test_the_licence_is_the_policys_and_reaches_the_package(project: Path, tmp_path: Path) -> None:
    """CC-BY-4.0 until the steward sets another (recorded in the policy history); a new
    licence publishes a new release (same rows) whose datapackage.json and public manifest
    say it, without a new epoch."""
    release = (project / "data" / "public" / "current").resolve()
    assert _load(release / "datapackage.json")["licenses"][0]["name"] == "CC-BY-4.0"
    copy = tmp_path / "project"
    shutil.copytree(project, copy, symlinks=True)
    bad = run_ctdc(copy, "--data-dir", "data", "policy", "set", "licence=CC BY",
                   "--reason", "typo")  # fmt: skip
    assert bad.exit_code == 2 and "SPDX" in bad.stderr
    for args in (["policy", "set", "licence=ODbL-1.0", "--reason", "agreement of 2026"],
                 ["harmonize", "--quiet"]):  # fmt: skip
        result = run_ctdc(copy, "--data-dir", "data", *args)
        assert result.exit_code == 0, result.output
    current = (copy / "data" / "public" / "current").resolve()
    [entry] = _load(current / "datapackage.json")["licenses"]
    assert entry == {"name": "ODbL-1.0", "title": "Open Data Commons Open Database License 1.0",
                     "path": "https://opendatacommons.org/licenses/odbl/1-0/"}  # fmt: skip
    assert _load(current / "manifest.json")["policy"]["licence"] == "ODbL-1.0"
    assert current.name != release.name
    assert (current / "cases.csv").read_bytes() == (release / "cases.csv").read_bytes()
