"""Roster files as an insurer sends them, made by the tests: CSV and .xlsx."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask

from forms_app.content import get_rules
from forms_app.storage import get_crypto, get_db
from forms_app.storage.register import ImportReport, import_roster_file

HEADER = ["保单号", "被保险人姓名", "身份证号码", "首次生效日期", "本期起期", "本期止期",
          "保单状态", "保障计划"]


def record(policy: str = "P2025-0001", name: str = "张三", id_number: str = "11010519491231002X",
           first: dt.date | str = "2024-03-01", start: dt.date | str = "2026-03-01",
           end: dt.date | str = "2027-02-28", status: str = "有效", plan: str = "标准版"
           ) -> list[Any]:
    return [policy, name, id_number, str(first), str(start), str(end), status, plan]


def write_csv(path: Path, rows: list[list[Any]], header: list[str] = HEADER,
              encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    """Dates as real spreadsheet dates, ID numbers as text (as a careful insurer exports)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([dt.date.fromisoformat(v) if i in (3, 4, 5) and isinstance(v, str)
                      and len(v) == 10 and v[4] == "-" else v for i, v in enumerate(row)])
    book.save(path)
    return path


def import_file(app: Flask, path: Path, *, actor: str = "tester", today: dt.date | None = None,
                dry_run: bool = False) -> ImportReport:
    with app.app_context():
        return import_roster_file(get_db(), get_crypto(), get_rules().content.roster_file, path,
                                  actor=actor, today=today or dt.date.today(), dry_run=dry_run)
