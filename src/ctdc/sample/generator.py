"""``generate_samples``: fake exports of four organizations, with known bad rows.

The exports exercise what real onboarding meets: four formats (latin-1 CSV
with ``;``, XLSX with date cells, a JSON array, a CTDC-style CSV), three
languages of codes, direct identifiers in every file, skewed and correlated
profiles, and a few rows planted bad on purpose. Every planted row carries
exactly one defect and is listed (org, file, row as the data officer sees it,
the organization's own column name, reason slug) in ``planted.json``, so
tests and demos can check that ingest quarantines exactly those rows for
exactly that reason.

Same ``seed`` -> byte-identical files. Each organization draws from its own
random streams (data and planting apart), so a change to one organization's
renderer does not reshuffle the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ctdc.sample.export import Export
from ctdc.sample.identity import MARKER_RE, People, draw_people, embed_marker, faker_class
from ctdc.sample.orgs import casework_ngo, hotline_es, intl_agency, registry_gov
from ctdc.sample.world import Cases, draw_cases
from ctdc.store.atomic import write_bytes

ORGS: tuple[str, ...] = ("hotline-es", "casework-ngo", "intl-agency", "registry-gov")

#: every row-level slug a sample plants (schema-violation cannot come from data)
SLUGS: tuple[str, ...] = (
    "unknown-value",
    "bad-date",
    "bad-number",
    "out-of-range",
    "unknown-country",
    "missing-required",
    "duplicate-case-id",
)
DUPLICATE = "duplicate-case-id"

#: kinds each organization always plants (when rows >= GUARANTEE_ROWS), so the
#: whole sample covers every slug even at a low bad_rate
GUARANTEED: dict[str, tuple[str, ...]] = {
    "hotline-es": ("bad-date", "bad-number"),
    "casework-ngo": ("out-of-range", "unknown-country"),
    "intl-agency": ("missing-required", DUPLICATE),
    "registry-gov": ("unknown-value",),
}
GUARANTEE_ROWS = 50
FILE_MODE = 0o644  # sample exports are example data, readable like any committed file

RENDERERS: dict[str, Callable[[Cases, People, np.random.Generator], Export]] = {
    "hotline-es": hotline_es.render_hotline,
    "casework-ngo": casework_ngo.render_casework,
    "intl-agency": intl_agency.render_intl,
    "registry-gov": registry_gov.render_registry,
}


@dataclass(frozen=True)
class PlantedRow:
    """A row planted bad: where a data officer finds it and the slug ingest must give."""

    org: str
    file: str
    row: int  # CSV/XLSX: spreadsheet row (header = 1); JSON: 1-based object index
    column: str  # the organization's own column name
    reason: str  # error slug, see docs/errors.md


@dataclass(frozen=True)
class SampleResult:
    """What ``generate_samples`` wrote: the exports and the rows ingest must quarantine."""

    files: dict[str, Path]  # org -> export path
    planted: list[PlantedRow]


def _plant(
    export: Export, rows: int, bad_rate: float, rng: np.random.Generator
) -> list[PlantedRow]:
    """Plant about ``bad_rate`` of the rows bad, one defect each, and list them."""
    n_bad = round(bad_rate * rows)
    guaranteed = GUARANTEED[export.org] if bad_rate > 0 and rows >= GUARANTEE_ROWS else ()
    n_bad = min(max(n_bad, len(guaranteed)), (rows - 1) // 2)  # first data row stays good
    if n_bad <= 0:
        return []
    # the guaranteed kinds first, then the org's other kinds, then all kinds round-robin
    kinds = (*export.defects, DUPLICATE)
    others = [k for k in kinds if k not in guaranteed]
    plan = [*guaranteed, *(others[i] for i in rng.permutation(len(others)))]
    while len(plan) < n_bad:
        plan += [kinds[i] for i in rng.permutation(len(kinds))]
    plan = plan[:n_bad]
    positions = np.sort(rng.choice(np.arange(1, rows), size=n_bad, replace=False))
    plan = [plan[i] for i in rng.permutation(n_bad)]
    good = np.setdiff1d(np.arange(rows), positions)  # sorted; good[0] == 0
    ids = export.columns[export.case_id]
    planted = []
    for pos, kind in zip(positions.tolist(), plan, strict=True):
        if kind == DUPLICATE:  # a later row reusing an earlier good row's id
            n_earlier = int(np.searchsorted(good, pos))
            ids[pos] = ids[good[int(rng.integers(n_earlier))]]
            column = export.case_id
        else:
            ways = export.defects[kind]
            column = ways[int(rng.integers(len(ways)))](export, pos, rng)
        planted.append(
            PlantedRow(export.org, export.filename, pos + export.first_row, column, kind)
        )
    return planted


def _mark(export: Export, marker: str) -> None:
    """Embed ``{marker}-{org}-{row}-{column index}`` in every non-empty identifier value."""
    names = list(export.columns)
    for column in export.identifiers:
        j = names.index(column)
        values = export.columns[column]
        for pos, value in enumerate(values):
            if value:
                tag = f"{marker}-{export.org}-{pos + export.first_row}-{j}"
                values[pos] = embed_marker(str(value), tag)


def _streams(seed: int, org: str, purpose: int) -> list[int]:
    """Entropy of one organization's stream (0 data, 1 planting); any int seed works."""
    return [seed % 2**64, ORGS.index(org), purpose]


def build_export(org: str, rows: int, seed: int) -> Export:
    """The clean export of ``org`` (no planted rows, no markers)."""
    rng = np.random.default_rng(_streams(seed, org, 0))
    cases = draw_cases(org, rows, rng)
    people = draw_people(org, cases, rng)
    return RENDERERS[org](cases, people, rng)


def generate_samples(
    out_dir: Path,
    rows: int = 1000,
    seed: int = 0,
    bad_rate: float = 0.02,
    marker: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> SampleResult:
    """Write one export per organization and ``planted.json`` into ``out_dir``.

    ``rows`` is per organization. ``marker`` (letters, digits, ``-``, ``_``)
    is embedded in every identifier value, for leak tests.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if not 0.0 <= bad_rate <= 0.5:
        raise ValueError("bad_rate must be between 0 and 0.5")
    if marker is not None and not MARKER_RE.fullmatch(marker):
        raise ValueError("marker must be 1-40 characters of A-Z, a-z, 0-9, '-' or '_'")
    faker_class()  # without the extra, fail before a file is written
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    planted: list[PlantedRow] = []
    for org in ORGS:
        say(f"{org}: drawing {rows:,} cases")
        export = build_export(org, rows, seed)
        planted += _plant(export, rows, bad_rate, np.random.default_rng(_streams(seed, org, 1)))
        if marker is not None:
            _mark(export, marker)
        path = out_dir / export.filename
        say(f"{org}: writing {path.name}")
        write_bytes(path, export.to_bytes(), mode=FILE_MODE)
        files[org] = path
    planted.sort(key=lambda p: (p.org, p.row))
    doc = json.dumps([asdict(p) for p in planted], indent=2, ensure_ascii=False) + "\n"
    write_bytes(out_dir / "planted.json", doc.encode("utf-8"), mode=FILE_MODE)
    return SampleResult(files=files, planted=planted)
