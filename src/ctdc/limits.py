"""Safety limits on hostile input, in one place so that code, docs and tests agree.

An export may be damaged or crafted; these numbers bound what ingest will
read before it stops (run level) or sets a row aside (row level). Each one is
listed with its reason in docs/errors.md ("Hostile input"). They sit in a
module of their own, with no imports, so that ``errors.py`` can quote them.
"""

from __future__ import annotations

#: a cell longer than this is quarantined (``value-too-long``): it is Excel's own
#: cell limit, so no spreadsheet export can hold more; a longer value is a damaged
#: export (often an unclosed quote) or an attack on whoever opens the file next
MAX_CELL_CHARS = 32_767

#: the exact CSV path stops the read (run level) at a single value this large:
#: beyond it, the file is not a table any more (an unclosed quote near the top)
MAX_FIELD_BYTES = 64 * 1024 * 1024

#: XLSX/zip bomb limits, checked on the zip central directory *before* anything
#: is decompressed. Python's zipfile never inflates a member beyond the size the
#: directory declares (it stops, then fails the CRC), so checking the declared
#: sizes bounds what the reader can be made to unpack.
#: - total uncompressed size: a full 1,048,576-row sheet of a wide export is ~1.2 GB
XLSX_MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
#: - compression ratio of any member over XLSX_RATIO_MIN_BYTES: real sheets
#:   compress 5-20x (a sheet of one repeated number: 17x); deflate bombs 1000x
XLSX_MAX_RATIO = 100
XLSX_RATIO_MIN_BYTES = 1024 * 1024
#: - members: a workbook has a dozen; a bomb of many small overlapping members has thousands
XLSX_MAX_MEMBERS = 10_000

#: Excel's sheet size: a sheet claiming rows beyond it is crafted, not exported
EXCEL_MAX_ROWS = 1_048_576

#: a binary file is told from text by the share of control characters in its
#: first SNIFF_BYTES (text with a stray NUL stays far below it)
SNIFF_BYTES = 64 * 1024
BINARY_CONTROL_SHARE = 0.10

#: how much of an offending cell the quarantine's ``value`` keeps (a cell with a control
#: character, an overlong one: the whole cell is in the quarantine's raw copy of the row).
#: The text of a record that could not be parsed (``bad-field-count``, ``bad-json-line``)
#: has no other copy, so it is kept whole, up to MAX_CELL_CHARS (``formats.chunk.raw_text``)
SHOWN_VALUE_CHARS = 200
#: the longest value a summary shows as itself (a vocabulary code of a mapped column,
#: ``ctdc.ingest.redact``): the longest country name is 44 characters; longer is free text
MAX_SHOWN_CODE_CHARS = 48

#: a YAML file (mapping, schema) larger than this is refused unread: hand-written
#: configuration is a few KB (the committed schema: 16 KB)
MAX_YAML_BYTES = 2 * 1024 * 1024
#: ... and one nested deeper than this (PyYAML builds nodes recursively)
MAX_YAML_DEPTH = 64

#: ingest reads, maps, validates and writes an export one chunk at a time, so that
#: memory follows the chunk, not the file: a chunk holds at most CHUNK_ROWS records ...
CHUNK_ROWS = 100_000
#: ... and at most CHUNK_BYTES of CSV text (exports with very wide rows) ...
CHUNK_BYTES = 64 * 1024 * 1024
#: ... and, for readers that build Python text first (XLSX, JSON, NDJSON, the exact CSV
#: path; ~60 bytes a cell), at most CHUNK_CELLS cells
CHUNK_CELLS = 1_000_000
#: a file this large gets a progress bar (on a terminal)
PROGRESS_BYTES = 16 * 1024 * 1024
#: how much of a text export's start is looked at to guess an unpinned encoding/delimiter
SNIFF_GUESS_BYTES = 1024 * 1024
