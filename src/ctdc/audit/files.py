"""The public folder as files: no private byte anywhere in it, and nothing but what it promises.

``markers_and_bytes`` looks for the private strings (pseudonyms, organization
ids, batch ids, export hashes, the key fingerprint, planted markers) in every
byte of every file under the public folder, and in what a compressed Parquet
file hides from a byte search: its decoded values, column names, key-value
metadata and column statistics. ``files`` checks the layout and the modes
``ctdc.store.public`` promises.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctdc.audit.model import CheckResult, fail, ok, plural
from ctdc.audit.sources import Sources
from ctdc.package import PACKAGE_FILES
from ctdc.store.public import (
    CATALOG_FILE,
    DP_DIR,
    DP_FILE,
    HIERARCHY_FILE,
    REPORT_FILE,
    VIEWS_FILE,
    PublicArea,
)
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE, MANIFEST_FILE
from ctdc.store.synthetic_area import SYNTHETIC_DIR, SYNTHETIC_FILES

MARKERS = "markers and bytes"
FILES = "files"
RELEASE_FILES = frozenset({CASES_FILE, DICTIONARY_FILE, MANIFEST_FILE})
#: what ``ctdc.package`` adds to a public release, besides its hierarchy tables
DERIVED_FILES = frozenset(PACKAGE_FILES)
ROOT_ENTRIES = frozenset(
    {"current", "releases", CATALOG_FILE, VIEWS_FILE, REPORT_FILE, DP_DIR, SYNTHETIC_DIR}
)
RELEASE_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}(-\d+)?")
#: hex strings at least this long are looked for by window (pseudonyms, hashes, batch ids)
_HEX_MIN = 16
_HEX_RUN = re.compile(rb"[0-9a-fA-F]{%d,}" % _HEX_MIN)
#: substrings of one length collected at once (~100 MB at most); past it they are streamed
_MAX_WINDOWS = 1_000_000
#: shorter words are looked for in raw binary files only at this length and up (fewer would
#: match compressed bytes by chance); decoded text is always searched
_RAW_MIN = 4
_WORD = rb"A-Za-z0-9_\-"


def private_strings(
    src: Sources, ws_fingerprint: str | None, markers: Sequence[str]
) -> dict[str, set[str]]:
    """Kind -> the private strings of that kind, from staging and the whole ledger."""
    con = src.con
    pseudonyms = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT case_pseudonym FROM staged WHERE case_pseudonym IS NOT NULL"
        ).fetchall()
    }
    orgs = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT org_id FROM staged WHERE org_id IS NOT NULL"
        ).fetchall()
    }
    batches = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT batch_id FROM staged WHERE batch_id IS NOT NULL"
        ).fetchall()
    }
    orgs |= {e.org for e in src.ledger}
    batches |= {e.batch_id for e in src.ledger}
    hashes = {e.sha256 for e in src.ledger if e.sha256}
    keys = {e.key_fingerprint for e in src.ledger if e.key_fingerprint}
    if ws_fingerprint:
        keys.add(ws_fingerprint)
    out = {
        "pseudonym": pseudonyms,
        "organization id": orgs,
        "batch id": batches,
        "export hash": hashes,
        "key fingerprint": keys,
        "marker": {m for m in markers if m},
    }
    return {kind: {str(s) for s in found if str(s)} for kind, found in out.items()}


def _walk(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``, symlinks not followed (``current`` is one)."""
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def parquet_text(path: Path) -> bytes:
    """What a byte search of a Parquet file may miss: values, names, metadata, statistics."""
    pf = pq.ParquetFile(path)
    meta = pf.metadata
    parts: list[str] = list(pf.schema_arrow.names)
    for kv in (meta.metadata or {}, pf.schema_arrow.metadata or {}):
        parts += [b.decode("utf-8", "replace") for pair in kv.items() for b in pair]
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            st = group.column(j).statistics
            if st is not None and st.has_min_max:
                parts += [str(st.min), str(st.max)]
    table = pf.read()
    for column in table.columns:
        if pa.types.is_nested(column.type):  # a list of structs (the dictionary's values)
            parts.append("\n".join(json.dumps(v, default=str) for v in column.to_pylist()))
            continue
        text = pc.cast(column, pa.string(), safe=False).drop_null()
        parts.append("\n".join(text.to_pylist()))
    return "\n".join(parts).encode("utf-8", "replace")


def _hex_windows(data: bytes) -> Callable[[set[str]], bool]:
    """A test of whether any of a set of lower-case hex strings of one length is a substring
    of the hex runs of ``data``. The substrings of a length are collected once for every
    kind looked for, up to ``_MAX_WINDOWS`` of them (a release is short of hex runs); past
    that (a broken release full of pseudonyms) they are streamed, kind by kind."""
    runs = [r.group().decode("ascii").lower() for r in _HEX_RUN.finditer(data)]
    sets: dict[int, set[str]] = {}

    def found(wanted: set[str]) -> bool:
        n = len(next(iter(wanted)))
        if n not in sets and sum(max(0, len(t) - n + 1) for t in runs) <= _MAX_WINDOWS:
            sets[n] = {t[i : i + n] for t in runs for i in range(len(t) - n + 1)}
        if n in sets:
            return not wanted.isdisjoint(sets[n])
        return any(t[i : i + n] in wanted for t in runs for i in range(len(t) - n + 1))

    return found


def find_secrets(data: bytes, secrets: dict[str, set[str]], *, raw_binary: bool) -> set[str]:
    """The kinds of private string found in ``data``.

    Long hex strings are found by sliding windows over the hex runs of the
    data (case-insensitive); other strings as whole words (markers anywhere),
    shorter ones than ``_RAW_MIN`` not at all in undecoded binary data.
    """
    found: set[str] = set()
    windows = _hex_windows(data)
    for kind, strings in secrets.items():
        hexes = {
            s.lower() for s in strings if len(s) >= _HEX_MIN and re.fullmatch(r"[0-9a-fA-F]+", s)
        }
        by_length: dict[int, set[str]] = {}
        for h in hexes:
            by_length.setdefault(len(h), set()).add(h)
        if any(windows(wanted) for wanted in by_length.values()):
            found.add(kind)
            continue
        words = [s for s in strings - hexes if not (raw_binary and len(s) < _RAW_MIN)]
        if not words:
            continue
        body = b"|".join(re.escape(w.encode("utf-8")) for w in sorted(words, key=len, reverse=True))
        pattern = (
            rb"(?:" + body + rb")"
            if kind == "marker"
            else rb"(?<![" + _WORD + rb"])(?:" + body + rb")(?![" + _WORD + rb"])"
        )
        if re.search(pattern, data):
            found.add(kind)
    return found


def markers_and_bytes(src: Sources, root: Path, secrets: dict[str, set[str]]) -> CheckResult:
    """No private string in any byte of the public folder, nor in any decoded Parquet value.

    Guarantees: none of the listed strings, as written (hex case-insensitive),
    in any file under ``root`` (Parquet data, footers, statistics, key-value
    metadata, the manifests, the dictionary, the catalog, any stray file).
    Does not find a secret re-encoded (base64, another key's pseudonym), nor
    organization ids shorter than 4 characters inside compressed bytes, nor
    text inside the DuckDB catalog's compressed blocks.
    """
    hits: dict[str, set[str]] = {}
    files = list(_walk(root))
    for path in files:
        raw = path.read_bytes()
        binary = path.suffix in (".parquet", ".duckdb") or b"\x00" in raw[:4096]
        kinds = find_secrets(raw, secrets, raw_binary=binary)
        if path.suffix == ".parquet":
            try:
                kinds |= find_secrets(parquet_text(path), secrets, raw_binary=False)
            except (OSError, pa.ArrowException):
                kinds.add("unreadable Parquet")
        for kind in kinds:
            hits.setdefault(kind, set()).add(str(path.relative_to(root)))
    if hits:
        return fail(
            MARKERS,
            "; ".join(
                f"a {kind} in {', '.join(sorted(where))}" for kind, where in sorted(hits.items())
            ),
        )
    counted = ", ".join(plural(len(v), k) for k, v in secrets.items() if v)
    return ok(MARKERS, f"{plural(len(files), 'file')} free of {counted or 'private strings'}")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _release_problems(folder: Path, area: PublicArea, label: str,
                      required: frozenset[str] = RELEASE_FILES) -> Iterable[str]:  # fmt: skip
    """What is wrong with one release folder: a stray, a missing ``required`` file, a mode.

    It may hold the release files, the package's files and hierarchy tables
    (``hierarchy_<field>.parquet``), nothing else.
    """
    if folder.is_symlink() or not folder.is_dir():
        yield f"{label} is not a folder"
        return
    if _mode(folder) != area.mode:
        yield f"{label} has mode {_mode(folder):04o}, not {area.mode:04o}"
    names = {p.name for p in folder.iterdir()}
    known = RELEASE_FILES | DERIVED_FILES | {n for n in names if HIERARCHY_FILE.fullmatch(n)}
    for extra in sorted(names - known):
        yield f"stray {label}/{extra}"
    for missing in sorted(required - names):
        yield f"{label}/{missing} is missing"
    for name in sorted(names & known):
        f = folder / name
        if f.is_symlink() or not f.is_file():
            yield f"{label}/{name} is not a regular file"
        elif _mode(f) != area.file_mode:
            yield f"{label}/{name} has mode {_mode(f):04o}, not {area.file_mode:04o}"


def files(area: PublicArea | None, release: Path, mode: int) -> CheckResult:
    """The public folder holds ``current``, ``releases/<id>/`` (three files each, and the
    package's files and hierarchy tables), the catalog and ``views.sql``.

    Modes are exactly ``ctdc.store.public``'s: folders ``mode``, files ``mode``
    without x bits; ``current`` a relative symlink to a release beside it.
    Anything else (a log, a temp folder, a hidden file) is stray: analysts read
    this folder, so nothing may land here by accident. The current release must
    have the package's files (``ctdc.package``: ``cases.csv``, ``datapackage.json``,
    ``cases.schema.json``, the codebook); a kept older one may predate them.
    Without a public folder (a release audited on its own, e.g. a private one)
    only the release folder is checked, the package's files allowed, not required.
    """
    if area is None:
        problems = list(_release_problems(release, PublicArea(release.parent, mode), release.name))
    else:
        problems = _area_problems(area)
    if problems:
        shown = "; ".join(problems[:8]) + (
            f"; {len(problems) - 8} more" if len(problems) > 8 else ""
        )
        return fail(FILES, shown)
    return ok(
        FILES, f"layout and modes as promised ({mode:04o} folders, {mode & ~0o111:04o} files)"
    )


def _area_problems(area: PublicArea) -> list[str]:
    problems: list[str] = []
    root = area.root
    if _mode(root) != area.mode:
        problems.append(f"the public folder has mode {_mode(root):04o}, not {area.mode:04o}")
    for name in sorted({p.name for p in root.iterdir()} - ROOT_ENTRIES):
        problems.append(f"stray {name}")
    link = area.current
    current = None
    if link.exists() or link.is_symlink():
        target = os.readlink(link) if link.is_symlink() else None
        current = Path(target).name if target is not None else None
        if target is None or Path(target).is_absolute() or Path(target).parent != Path("releases"):
            problems.append("current is not a relative symlink to releases/<id>")
    for name in (CATALOG_FILE, VIEWS_FILE):
        path = root / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            problems.append(f"{name} is not a regular file")
        elif path.exists() and _mode(path) != area.file_mode:
            problems.append(f"{name} has mode {_mode(path):04o}, not {area.file_mode:04o}")
    problems += _dp_problems(area)
    releases = area.releases_dir
    if releases.is_dir():
        if _mode(releases) != area.mode:
            problems.append(f"releases has mode {_mode(releases):04o}, not {area.mode:04o}")
        for child in sorted(releases.iterdir()):
            if not RELEASE_ID.fullmatch(child.name):
                problems.append(f"stray releases/{child.name}")
                continue
            # the current release has the package's files; a kept older one may predate them
            required = RELEASE_FILES | (DERIVED_FILES if child.name == current else frozenset())
            problems += _release_problems(child, area, f"releases/{child.name}", required)
    return problems + list(_synthetic_problems(area))


def _dp_problems(area: PublicArea) -> Iterable[str]:
    """``dp/`` (``ctdc stats --dp``) holds DP tables and their sidecars (``DP_FILE``:
    ``<UTC time>-<name>.parquet`` / ``.json``), regular files with the public file mode."""
    folder = area.root / DP_DIR
    if not (folder.exists() or folder.is_symlink()):
        return
    if folder.is_symlink() or not folder.is_dir():
        yield f"{DP_DIR} is not a folder"
        return
    if _mode(folder) != area.mode:
        yield f"{DP_DIR} has mode {_mode(folder):04o}, not {area.mode:04o}"
    for path in sorted(folder.iterdir()):
        label = f"{DP_DIR}/{path.name}"
        if not DP_FILE.fullmatch(path.name):
            yield f"stray {label}"
        elif path.is_symlink() or not path.is_file():
            yield f"{label} is not a regular file"
        elif _mode(path) != area.file_mode:
            yield f"{label} has mode {_mode(path):04o}, not {area.file_mode:04o}"


def _synthetic_problems(area: PublicArea) -> Iterable[str]:
    """``synthetic/`` (``ctdc synthesize``, docs/synthetic.md): ``current``, a relative link to
    a folder beside it, and folders named like a release id holding exactly the synthetic
    files, at the area's modes; anything else is stray."""
    root = area.root / SYNTHETIC_DIR
    if not root.exists() and not root.is_symlink():
        return
    if root.is_symlink() or not root.is_dir():
        yield f"{SYNTHETIC_DIR} is not a folder"
        return
    if _mode(root) != area.mode:
        yield f"{SYNTHETIC_DIR} has mode {_mode(root):04o}, not {area.mode:04o}"
    for child in sorted(root.iterdir()):
        label = f"{SYNTHETIC_DIR}/{child.name}"
        if child.name == "current":
            target = os.readlink(child) if child.is_symlink() else None
            if target is None or not RELEASE_ID.fullmatch(target) or not (root / target).is_dir():
                yield f"{label} is not a relative symlink to a synthetic folder beside it"
            continue
        if not RELEASE_ID.fullmatch(child.name):
            yield f"stray {label}"
            continue
        if child.is_symlink() or not child.is_dir():
            yield f"{label} is not a folder"
            continue
        if _mode(child) != area.mode:
            yield f"{label} has mode {_mode(child):04o}, not {area.mode:04o}"
        names = {p.name for p in child.iterdir()}
        yield from (f"stray {label}/{n}" for n in sorted(names - SYNTHETIC_FILES))
        yield from (f"{label}/{n} is missing" for n in sorted(SYNTHETIC_FILES - names))
        for n in sorted(names & SYNTHETIC_FILES):
            f = child / n
            if f.is_symlink() or not f.is_file():
                yield f"{label}/{n} is not a regular file"
            elif _mode(f) != area.file_mode:
                yield f"{label}/{n} has mode {_mode(f):04o}, not {area.file_mode:04o}"
