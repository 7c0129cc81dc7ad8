"""Build the generalization hierarchies of the quasi-identifiers from maintained data.

Each hierarchy is a table in ARX's CSV form: one row per leaf (a value the
schema allows), one column per level, ``;``-separated, no header, ``*`` in the
last column. Level 0 is the value as recorded; a schema field names its file
with ``hierarchy:`` and picks the level released by default with ``level:``.

- ``country.csv``: ISO 3166-1 alpha-2 (every code pycountry knows) -> UN M49
  geographic group -> M49 region -> ``*``. The groups come from
  ``country_converter``'s bundled data (its ``UNregion`` and ``continent``
  columns), joined on alpha-3; nothing is typed by hand but the five M49
  region names and the fallback.
- ``year.csv``: year of registration -> 3-year period -> 9-year period -> ``*``,
  from the schema's minimum year up to a fixed horizon.
- ``age_band.csv``: CTDC's age bands (from the schema's ``bands``) -> wider
  bands -> minor or adult (``0-17``, ``18+``) -> ``*``.

Only this generator and the tests need ``country_converter`` (the ``sample``
extra, with the other generator, ``ctdc sample``); at run time ctdc reads the
committed CSV files, so a data officer's install carries neither. Regenerate
them with ``make hierarchies`` (``python -m ctdc.build_hierarchies``). It sits
above the stages, like the CLI, because it writes with ``ctdc.store`` and
reads the schema file that ``ctdc.schema`` models.
"""

from __future__ import annotations

import argparse
import csv
import importlib.resources
import io
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pycountry

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.atomic import write_bytes
from ctdc.yamlio import read_yaml

Row = tuple[str, ...]

TOP = "*"
#: where a country without an M49 region goes, at both levels (only AQ today)
FALLBACK = "Other"
#: the five regions of UN M49 (Antarctica belongs to none of them)
M49_REGIONS: tuple[str, ...] = ("Africa", "Americas", "Asia", "Europe", "Oceania")
#: country_converter's continent labels that differ from M49's region names
_COCO_CONTINENT_TO_M49 = {"America": "Americas"}

#: period widths (years) of levels 1 and 2 of the year hierarchy; 9 is a multiple of 3
YEAR_PERIODS: tuple[int, int] = (3, 9)
#: the year hierarchy reaches at least this year (then up to the end of its 9-year period)
YEAR_HORIZON = 2040

#: levels 1 and 2 of the age hierarchy: each CTDC band must fall inside exactly one band
#: of each. Level 2 is majority (minor or adult): publishing ``18+`` keeps what a
#: suppressed band loses, and majority status is derived from the published band.
WIDER_AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 17), (18, 29), (30, None))
MAJORITY_AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 17), (18, None))


# --- country ---------------------------------------------------------------------------


def _coco_rows() -> list[dict[str, str]]:
    """Current (non-obsolete) rows of country_converter's bundled country table.

    Read with ``csv`` rather than ``coco.CountryConverter()``: under pandas 3 the
    latter turns Namibia's ISO2 ``NA`` into a missing value and fails to start.
    """
    try:
        data = importlib.resources.files("country_converter") / "country_data.tsv"
    except ImportError as exc:
        raise CtdcError(
            Slug.MISSING_EXTRA,
            "the hierarchy builder needs country_converter, which is not installed",
            fix="pip install 'ctdc[sample]' (make install does)",
        ) from exc
    # typeshed's Traversable.open omits newline; the path it returns passes it to open()
    with data.open(encoding="utf-8", newline="") as fh:  # type: ignore[call-overload]
        return [r for r in csv.DictReader(fh, delimiter="\t") if not r["obsolete"]]


def m49_regions(coco: list[dict[str, str]] | None = None) -> dict[str, str]:
    """M49 group (coco's ``UNregion``) -> M49 region, or ``FALLBACK`` if it has none.

    A group's region is the continent most of its countries carry in
    country_converter (renamed to M49's spelling). A few territories carry a
    different continent there (Christmas Island: Asia, Bouvet Island:
    Antarctica), so the majority, not each row, decides; a tie is an error.
    """
    coco = coco if coco is not None else _coco_rows()
    votes: dict[str, Counter[str]] = {}
    for r in coco:
        if r["UNregion"]:
            continent = _COCO_CONTINENT_TO_M49.get(r["continent"], r["continent"])
            votes.setdefault(r["UNregion"], Counter())[continent] += 1
    regions: dict[str, str] = {}
    for group, counter in sorted(votes.items()):
        (top, n), *rest = counter.most_common()
        if rest and rest[0][1] == n:
            raise ValueError(f"M49 group {group!r}: no majority region in {dict(counter)}")
        regions[group] = top if top in M49_REGIONS else FALLBACK
    return regions


def country_rows() -> list[Row]:
    """(alpha-2, M49 group, M49 region, ``*``) for every country pycountry knows, by code."""
    coco = _coco_rows()
    regions = m49_regions(coco)
    group_of = {r["ISO3"]: r["UNregion"] for r in coco}
    rows = []
    for c in pycountry.countries:
        group = group_of.get(c.alpha_3, "")
        region = regions.get(group, FALLBACK)
        if region == FALLBACK:
            group = FALLBACK
        rows.append((c.alpha_2, group, region, TOP))
    return sorted(rows)


# --- year ------------------------------------------------------------------------------


def _period(year: int, first: int, width: int) -> str:
    start = first + (year - first) // width * width
    return f"{start}-{start + width - 1}"


def year_rows(first: int, horizon: int = YEAR_HORIZON) -> list[Row]:
    """(year, 3-year period, 9-year period, ``*``) from ``first`` on, periods anchored at it.

    The table ends with the 9-year period that holds ``horizon``, so that every
    period is complete.
    """
    short, long = YEAR_PERIODS
    if long % short:
        raise ValueError("the longer period must be a multiple of the shorter one")
    last = first + ((horizon - first) // long + 1) * long - 1
    return [
        (str(y), _period(y, first, short), _period(y, first, long), TOP)
        for y in range(first, last + 1)
    ]


# --- age band --------------------------------------------------------------------------


def _band_label(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def age_band_rows(
    values: Sequence[str],
    bands: Sequence[tuple[int, int | None]],
    levels: Sequence[Sequence[tuple[int, int | None]]] = (WIDER_AGE_BANDS, MAJORITY_AGE_BANDS),
) -> list[Row]:
    """(CTDC band, its band at each wider level, ``*``) for each band, in schema order."""
    inf = float("inf")
    rows = []
    for value, (lo, hi) in zip(values, bands, strict=True):
        row = [value]
        for wider in levels:
            parents = [
                (wlo, whi)
                for wlo, whi in wider
                if wlo <= lo and (inf if hi is None else hi) <= (inf if whi is None else whi)
            ]
            if len(parents) != 1:
                raise ValueError(f"age band {value} must fall inside exactly one wider band")
            row.append(_band_label(*parents[0]))
        rows.append((*row, TOP))
    return rows


# --- all of them -----------------------------------------------------------------------


def _raw_fields(schema_path: Path) -> dict[str, dict[str, Any]]:
    """The schema's fields as raw YAML mappings (load_schema needs the files to exist)."""
    doc = read_yaml(schema_path)
    return {f["name"]: f for f in doc["fields"]}


def build_all(schema_path: Path) -> dict[str, list[Row]]:
    """File name -> rows of every hierarchy, for the schema at ``schema_path``."""
    fields = _raw_fields(schema_path)
    age = fields["age_band"]
    return {
        "country.csv": country_rows(),
        "year.csv": year_rows(int(fields["year_of_registration"]["min"])),
        "age_band.csv": age_band_rows(
            [str(v) for v in age["values"]],
            [(int(lo), None if hi is None else int(hi)) for lo, hi in age["bands"]],
        ),
    }


def to_csv(rows: Sequence[Row]) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    return buf.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    """``make hierarchies``: 0 done or up to date, 1 out of date (``--check``), 3 no extra.

    A missing ``country_converter`` is one line naming the extra, not a
    traceback: the maintainer who meets it has only to install it.
    """
    parser = argparse.ArgumentParser(
        prog="python -m ctdc.build_hierarchies",
        description="(Re)write the generalization hierarchies of the quasi-identifiers.",
    )
    parser.add_argument("--schema", type=Path, default=Path("schemas/ctdc.yaml"))
    parser.add_argument(
        "--out", type=Path, default=None, help="folder (default: hierarchies/ beside the schema)"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is out of date"
    )
    args = parser.parse_args(argv)
    out = args.out or args.schema.parent / "hierarchies"
    stale = []
    try:
        built = build_all(args.schema)
    except CtdcError as exc:
        print(exc.message(), file=sys.stderr)
        return exc.exit_code
    for name, rows in built.items():
        path, text = out / name, to_csv(rows)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            print(f"{path}: up to date ({len(rows)} leaves)")
            continue
        stale.append(path)
        if not args.check:
            write_bytes(path, text.encode("utf-8"), mode=0o644)  # a committed, public file
            print(f"{path}: written ({len(rows)} leaves)")
    if args.check and stale:
        print(f"out of date: {', '.join(map(str, stale))} (run make hierarchies)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
