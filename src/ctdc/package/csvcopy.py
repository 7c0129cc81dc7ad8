"""``cases.csv``: the release for spreadsheets, R and any CSV reader.

UTF-8 without a byte-order mark, a header line, ``,`` between fields, ``\\n``
at the end of each line, fields quoted only where needed (a ``,``, a quote or a
line break: the ``;``-joined label columns never need it), booleans as
``true``/``false``, NULL as an empty field. The rows are the Parquet file's, in
its order, written a record batch at a time so memory follows the batch, not
the release. No value can start a spreadsheet formula: every text value comes
from the schema's closed lists or hierarchies (``tests/package`` checks it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ctdc.store.release import CASES_FILE

CSV_FILE = "cases.csv"
#: rows converted per step
_BATCH_ROWS = 65_536
_PLAIN_NAME = re.compile(r"[a-z][a-z0-9_]*")


def write_csv_copy(folder: Path) -> str:
    """Write ``cases.csv`` beside ``cases.parquet`` in ``folder``; return its name."""
    source = pq.ParquetFile(folder / CASES_FILE)
    names = source.schema_arrow.names
    bad = [n for n in names if not _PLAIN_NAME.fullmatch(n)]
    if bad:  # the header is written unquoted
        raise ValueError(f"column names a CSV header would need to quote: {bad}")
    options = pacsv.WriteOptions(include_header=False, delimiter=",", quoting_style="needed")
    with open(folder / CSV_FILE, "wb") as out:
        out.write((",".join(names) + "\n").encode("utf-8"))
        with pacsv.CSVWriter(out, source.schema_arrow, write_options=options) as writer:
            for batch in source.iter_batches(batch_size=_BATCH_ROWS):
                writer.write_batch(batch)
    return CSV_FILE
