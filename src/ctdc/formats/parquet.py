"""Parquet exports: every column cast to text, so a typed file reads like a CSV would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctdc import limits
from ctdc.errors import CtdcError
from ctdc.formats.chunk import Chunk, check_header
from ctdc.formats.options import ParquetOptions
from ctdc.text import without_quoted


def _unreadable_parquet(path: Path, exc: Exception) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"cannot read as parquet: {without_quoted(str(exc).splitlines()[0])}",
        file=path,
        fix="check `source.format` in pipelines/<org>.yaml",
    )


def iter_parquet(path: Path, options: ParquetOptions) -> Iterator[Chunk]:
    """The file's row groups in ``CHUNK_ROWS`` batches, nulls as empty text."""
    try:
        pf = pq.ParquetFile(path)
        names = check_header(path, pf.schema_arrow.names)
        text = pa.schema([(n, pa.string()) for n in pf.schema_arrow.names])
        batches = pf.iter_batches(batch_size=limits.CHUNK_ROWS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise _unreadable_parquet(path, exc) from exc
    first = 1
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            table = pa.Table.from_batches([batch]).cast(text)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise _unreadable_parquet(path, exc) from exc
        table = pa.Table.from_arrays(
            [pc.fill_null(c, "").combine_chunks() for c in table.columns], names=names
        )
        rows = np.arange(first, first + table.num_rows, dtype=np.int64)
        first += table.num_rows
        yield Chunk(table, rows)
