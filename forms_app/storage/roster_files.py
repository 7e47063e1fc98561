"""Reading the insurer's roster file row by row: CSV (UTF-8, with or without BOM, or GB18030 as
Chinese Excel saves it) and Excel .xlsx (openpyxl in read_only mode, which streams the sheet's
XML instead of building the workbook in memory). Memory stays bounded whatever the file size.

Each row comes with its line number as the person who opens the file sees it (CSV: the line;
Excel: the row number).
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from service_rules.roster import RosterFileError

XLSX, CSV = "xlsx", "csv"
_SNIFF = 64 * 1024
# a CSV field may be long (addresses in columns we ignore), not unbounded
csv.field_size_limit(1024 * 1024)


def detect_format(stream: IO[bytes], filename: str) -> str:
    """xlsx or csv, from the first bytes (names lie); RosterFileError for other files."""
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return XLSX
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError("这是旧版 Excel（.xls）文件："
                              "请在 Excel 里“另存为” .xlsx 或 CSV 后再导入。")
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise RosterFileError("文件扩展名是 .xlsx，但内容不是 Excel 文件，可能已损坏。")
    if b"\x00" in head:
        raise RosterFileError("文件不是 CSV 或 Excel .xlsx 格式。")
    return CSV


def _csv_encoding(stream: IO[bytes]) -> str:
    head = stream.read(_SNIFF)
    stream.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def iter_rows(stream: IO[bytes], filename: str) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
    """(format, rows): each row as (line number, cell values). The iterator raises
    RosterFileError when the file turns out unreadable part-way (nothing is imported then)."""
    fmt = detect_format(stream, filename)
    return fmt, (_xlsx_rows(stream) if fmt == XLSX else _csv_rows(stream))


def _csv_rows(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    encoding = _csv_encoding(stream)
    physical = 0

    def lines() -> Iterator[str]:
        # decoded line by line (not in TextIOWrapper's 8 KB blocks) so that a byte that is not
        # of the file's encoding is reported at its own line
        nonlocal physical
        for raw in stream:
            physical += 1
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError:
                raise RosterFileError(f"第 {physical} 行附近有无法识别的字符：请把文件另存为"
                                      " UTF-8 编码的 CSV 后再导入。") from None

    reader = csv.reader(lines())
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise RosterFileError(f"第 {physical} 行的 CSV 格式有误（{exc}），"
                              "例如引号没有成对。") from None


def _xlsx_rows(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise RosterFileError("文件无法作为 Excel .xlsx 打开，可能已损坏。") from None
    try:
        if not book.worksheets:
            raise RosterFileError("Excel 文件里没有工作表。")
        sheet = book.worksheets[0]
        try:
            # read_only mode yields every row from the first, empty ones too: enumerate is
            # the row number
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(values)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise RosterFileError(f"Excel 文件读到一半出错（{type(exc).__name__}），"
                                  "可能已损坏。") from None
    finally:
        book.close()
