"""Zip bomb guard for XLSX: judge the archive by its central directory before inflating anything.

An XLSX file is a zip archive. ``zipfile.ZipFile`` reads only the central
directory (names, declared sizes), so the checks below cost nothing however
large the archive claims to be. A member whose real data inflates past its
declared size is stopped by ``zipfile`` itself (it never returns more than the
declared size, then fails the CRC check), so the declared sizes are a safe
bound. Limits and their reasons: :mod:`ctdc.limits` and docs/errors.md.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.limits import (
    XLSX_MAX_MEMBERS,
    XLSX_MAX_RATIO,
    XLSX_MAX_UNCOMPRESSED_BYTES,
    XLSX_RATIO_MIN_BYTES,
)


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def check_archive(
    path: Path,
    *,
    max_total: int = XLSX_MAX_UNCOMPRESSED_BYTES,
    max_ratio: float = XLSX_MAX_RATIO,
    ratio_min_bytes: int = XLSX_RATIO_MIN_BYTES,
    max_members: int = XLSX_MAX_MEMBERS,
) -> None:
    """Raise ``archive-too-large`` (or ``unreadable-file``) unless ``path`` is a sane zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise CtdcError(
            "unreadable-file",
            f"not an XLSX workbook (not a valid zip: {exc})",
            file=path,
            fix="save the file again as an Excel workbook (.xlsx), or pin its real `source.format`",
        ) from exc
    if len(members) > max_members:
        raise CtdcError(
            "archive-too-large",
            f"the workbook holds {len(members):,} parts, more than the limit of {max_members:,}",
            file=path,
        )
    total = sum(m.file_size for m in members)
    if total > max_total:
        raise CtdcError(
            "archive-too-large",
            f"the workbook would unpack to {_mb(total)}, more than the limit of {_mb(max_total)}",
            file=path,
        )
    for m in members:
        if m.file_size >= ratio_min_bytes:
            ratio = m.file_size / max(m.compress_size, 1)
            if ratio > max_ratio:
                raise CtdcError(
                    "archive-too-large",
                    f"part {m.filename!r} would unpack "
                    f"{ratio:,.0f} times its size ({_mb(m.file_size)}); real sheets "
                    f"compress at most {max_ratio:,.0f} times",
                    file=path,
                )
