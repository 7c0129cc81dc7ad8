"""Write the hostile exports of tests/data/bad/ (issue 5, point 7).

Small files are committed (``python tests/data/bad/make_bad.py`` rewrites them
in place and ``tests/formats/test_hostile.py`` checks they still match); large or
binary-crafted ones (a 1 MB field, zip bombs, lying or oversized workbooks)
are written at test time by :func:`write_generated` into a temporary folder.

Every text export uses the columns of ``pipelines/bad-csv.yaml``; a good row
looks like ``001,Ana,2021-03-01,F,PE,``. Row numbers in the comments are the
ones a spreadsheet shows (header = row 1).
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "id,name,registered,gender,country,notes"
GOOD = [
    "001,Ana,2021-03-01,F,PE,",
    "002,Bo,2021-04-02,M,NA,called twice",
    "003,Cy,2022-01-15,F,CO,",
    "004,Di,2022-02-01,M,MX,",
]


def _csv(*rows: str, end: str = "\n") -> bytes:
    return (end.join([HEADER, *rows]) + end).encode("utf-8")


def _json_rec(ref: str, date: str, sex: str, nat: str) -> str:
    return (
        f'{{"case_ref": "{ref}", "registration_date": "{date}", "sex": "{sex}", '
        f'"nationality": "{nat}"}}'
    )


#: a 1x1 PNG image: a binary file someone saved as .csv
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)

MIXED = (
    (
        # \r\n, \n and a lone \r (old Mac) in one file; row 6 has a line break inside quotes
        HEADER + "\r\n"
        "001,Ana,2021-03-01,F,PE,\r\n"  # row 2
        "002,Bo,2021-04-02,M,NA,\n"  # row 3
        "003,Cy,2022-01-15,F,CO,\r"  # row 4
        "004,Di,2022-02-01,M,MX,\r\n"  # row 5
        '005,Ed,2022-02-01,M,MX,"two\r\nlines"\n'  # row 6
        "006,Fa,2022-03-01,F,PE,\r"  # row 7
        "007,Gu,2022-03-02,M,PE,\n"  # row 8
        "008,Ha,2022-03-03,X,PE,\r\n"  # row 9: unknown gender
        "009,Io,2022-03-04,F,PE,\r"  # row 10
        "010,Ju,2022-03-05,F,PE,"  # row 11, no line end at all
    ).encode("utf-8")
)

#: name -> bytes of every committed hostile file
SMALL: dict[str, bytes] = {
    "good.csv": _csv(*GOOD),
    "empty.csv": b"",
    "header-only.csv": _csv(),
    "binary.csv": PNG,
    "unterminated-quote.csv": _csv(GOOD[0], '002,Bo,2021-04-02,M,NA,"says ""help', *GOOD[2:]),
    "too-many-fields.csv": _csv(GOOD[0], "002,Bo,2021-04-02,M,NA,lives in Lima, Peru", *GOOD[2:]),
    "too-few-fields.csv": _csv(GOOD[0], "002,Bo,2021-04-02,M", *GOOD[2:]),
    "duplicate-columns.csv": (
        "id,name,registered,gender,country,gender\n" + "\n".join(GOOD) + "\n"
    ).encode(),
    "nul.csv": _csv(GOOD[0], "002,Bo\x00,2021-04-02,M,NA,", *GOOD[2:]),
    "control-chars.csv": _csv(
        GOOD[0],
        "002,Bo,2021-04-02,M,NA,ring\x07\x1b[2J",  # row 3: BEL and an ANSI escape
        "003,Cy,2022-01-15,F,CO,tab\tand line\u2028separator are fine",
        GOOD[3],
    ),
    "mixed-line-endings.csv": MIXED,
    "duplicate-case-ids.csv": _csv(*GOOD[:3], "002,Bea,2022-05-05,F,PE,", GOOD[3]),
    "duplicate-keys.json": (
        "[\n"
        + _json_rec("A1", "2021-03-01", "female", "PE")
        + ',\n{"case_ref": "A2", "registration_date": "2021-04-02", "sex": "male", '
        '"sex": "female", "nationality": "NA"}\n]\n'
    ).encode(),
    "broken-line.ndjson": "\n".join(
        [
            _json_rec("A1", "2021-03-01", "female", "PE"),
            _json_rec("A2", "2021-04-02", "male", "NA"),
            '{"case_ref": "A3", "registration_date": "2021-0',  # line 3: cut off
            _json_rec("A4", "2022-01-15", "female", "CO"),
        ]
    ).encode()
    + b"\n",
    # organization ids that must be refused before any path is built from them
    "org-names.txt": "\n".join(
        [
            "../etc",
            "a/b",
            "/abs",
            "..",
            ".hidden",
            "hôtline",
            "\uff21\uff22\uff23",
            "Hotline",
            "x",
            "a" * 41,
        ]
    ).encode()
    + b"\n",
}

#: 1 MB: far over MAX_CELL_CHARS (32,767) and over pyarrow's 1 MB parse block
BIG_FIELD_CHARS = 1 << 20
BOMB_BYTES = 64 << 20


def _workbook(rows: list[list[str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Cases"
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rewrite(xlsx: bytes, member: str, data: bytes) -> bytes:
    """``xlsx`` with ``member`` replaced by ``data`` (deflated)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data if info.filename == member else src.read(info))
    return out.getvalue()


def _lie_about_size(archive: bytes, member: str, declared: int) -> bytes:
    """Patch ``member``'s uncompressed size in both zip headers to ``declared``."""
    info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(member)
    buf = bytearray(archive)
    struct.pack_into("<I", buf, info.header_offset + 22, declared)  # local file header
    name = member.encode()
    central = buf.find(b"PK\x01\x02")
    while central != -1:  # central directory entries: the name starts at offset 46
        if buf[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", buf, central + 24, declared)
        central = buf.find(b"PK\x01\x02", central + 4)
    return bytes(buf)


SHEET = "xl/worksheets/sheet1.xml"
XLSX_ROWS = [
    ["case_ref", "registration_date", "sex", "nationality"],
    ["A1", "2021-03-01", "female", "PE"],
    ["A2", "2021-04-02", "male", "NA"],
]


def write_generated(out: Path) -> dict[str, Path]:
    """Write the large / crafted files into ``out``; return name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}

    big = _csv(GOOD[0], "002,Bo,2021-04-02,M,NA," + "x" * BIG_FIELD_CHARS, *GOOD[2:])
    paths["big-field.csv"] = out / "big-field.csv"
    paths["big-field.csv"].write_bytes(big)

    # a deflate bomb: 64 MB of one byte, ~64 KB on disk (ratio ~1000)
    bomb = out / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(SHEET, "w") as fh:
        block = b" " * (1 << 20)
        for _ in range(BOMB_BYTES >> 20):
            fh.write(block)
    paths["bomb.xlsx"] = bomb

    # a real workbook whose sheet inflates to 64 MB while both headers declare 2 KB
    xlsx = _workbook(XLSX_ROWS)
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read(SHEET)
    padded = sheet.replace(b"<sheetData>", b"<sheetData>" + b" " * BOMB_BYTES, 1)
    lying = _lie_about_size(_rewrite(xlsx, SHEET, padded), SHEET, len(sheet))
    paths["lying-sizes.xlsx"] = out / "lying-sizes.xlsx"
    paths["lying-sizes.xlsx"].write_bytes(lying)

    # a tiny sheet that claims every cell of a spreadsheet (openpyxl would pad every row)
    assert b'<dimension ref="A1:D3" />' in sheet, "openpyxl changed how it writes a sheet"
    dim = sheet.replace(b'<dimension ref="A1:D3" />', b'<dimension ref="A1:XFD1048576" />')
    paths["huge-dimension.xlsx"] = out / "huge-dimension.xlsx"
    paths["huge-dimension.xlsx"].write_bytes(_rewrite(xlsx, SHEET, dim))

    # a formula saved without its value (openpyxl never computes one): never read as empty
    rows = [list(r) for r in XLSX_ROWS]
    rows[2][3] = '=IF(C3="male","NA","PE")'
    paths["uncached-formula.xlsx"] = out / "uncached-formula.xlsx"
    paths["uncached-formula.xlsx"].write_bytes(_workbook(rows))

    # a row numbered past Excel's last row (openpyxl yields every empty row before it)
    far = sheet.replace(b'<row r="3"', b'<row r="9999999"').replace(b'r="A3"', b'r="A9999999"')
    far = far.replace(b'r="B3"', b'r="B9999999"').replace(b'r="C3"', b'r="C9999999"')
    far = far.replace(b'r="D3"', b'r="D9999999"')
    paths["far-row.xlsx"] = out / "far-row.xlsx"
    paths["far-row.xlsx"].write_bytes(_rewrite(xlsx, SHEET, far))
    return paths


def write_small(out: Path) -> None:
    for name, data in SMALL.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    write_small(target)
    if len(sys.argv) > 2 and sys.argv[2] == "--generated":
        write_generated(target)
    print(f"wrote {len(SMALL)} files to {target}")
