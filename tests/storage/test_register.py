"""The policy register on SQLite and PostgreSQL: CSV and .xlsx imports, idempotent and atomic,
bad rows refused with their line, a bad file refused whole, ID numbers never in clear, and the
history of imports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask
from sqlalchemy import select, text

from forms_app.storage import get_crypto, get_db
from forms_app.storage.models import AuditLog, PolicyRecord, RosterImport
from forms_app.storage.register import import_history, records_for
from forms_app.storage.requests import ID_PURPOSE
from tests.support.forms import make_id
from tests.support.roster import import_file, record, write_csv, write_xlsx

ID_A = "11010519491231002X"
ID_B = make_id("44030419800101123")
ID_C = make_id("31010119900615004")


def rows() -> list[list[object]]:
    return [record(), record(policy="P2025-0002", name="李四", id_number=ID_B),
            record(policy="P2025-0003", name="王五", id_number=ID_C, status="失效")]


def stored(app: Flask) -> list[PolicyRecord]:
    with app.app_context(), get_db().read_session() as s:
        return list(s.scalars(select(PolicyRecord).order_by(PolicyRecord.policy_number)))


def test_csv_import_adds_records_found_by_id_hash_never_in_clear(any_app: Flask,
                                                                 tmp_path: Path) -> None:
    report = import_file(any_app, write_csv(tmp_path / "roster.csv", rows()))
    assert (report.outcome, report.rows_read, report.added, report.refused) == \
        ("applied", 3, 3, 0)
    records = stored(any_app)
    assert [r.policy_number for r in records] == ["P2025-0001", "P2025-0002", "P2025-0003"]
    with any_app.app_context():
        crypto = get_crypto()
        first = records[0]
        assert first.id_hash == crypto.lookup_hash(ID_PURPOSE, ID_A)
        assert crypto.decrypt_text(first.id_number_enc) == ID_A
        assert first.id_number_masked == "110105********002X"
        assert (first.first_effective, first.status, first.plan) == \
            (dt.date(2024, 3, 1), "in_force", "标准版")
        with get_db().read_connection() as conn:
            found = records_for(conn, crypto, ID_C)
            dump = " ".join(str(v) for table in ("policy_record", "roster_import", "audit_log")
                            for row in conn.execute(text(f"SELECT * FROM {table}"))
                            for v in row)
    assert [(r.insured_name, r.status) for r in found] == [("王五", "lapsed")]
    for id_number in (ID_A, ID_B, ID_C):
        assert id_number not in dump and id_number[:14] not in dump


def test_xlsx_import_reads_spreadsheet_dates(any_app: Flask, tmp_path: Path) -> None:
    report = import_file(any_app, write_xlsx(tmp_path / "名册.xlsx", rows()))
    assert (report.file_format, report.added, report.refused) == ("xlsx", 3, 0)
    assert [r.period_end for r in stored(any_app)] == [dt.date(2027, 2, 28)] * 3


def test_import_again_changes_nothing_and_a_changed_row_is_changed(any_app: Flask,
                                                                   tmp_path: Path) -> None:
    path = write_csv(tmp_path / "roster.csv", rows())
    first = import_file(any_app, path)
    again = import_file(any_app, path)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    assert again.file_sha256 == first.file_sha256
    renewed = rows()
    renewed[2] = record(policy="P2025-0003", name="王五", id_number=ID_C, status="有效")
    changed = import_file(any_app, write_csv(tmp_path / "roster2.csv", renewed))
    assert (changed.added, changed.changed, changed.unchanged) == (0, 1, 2)
    assert [r.status for r in stored(any_app)] == ["in_force"] * 3
    with any_app.app_context():
        history = import_history(get_db())
    assert [(h.outcome, h.added, h.changed, h.unchanged, h.actor) for h in history] == [
        ("applied", 0, 1, 2, "tester"), ("applied", 0, 0, 3, "tester"),
        ("applied", 3, 0, 0, "tester")]
    assert history[2].file_sha256 == history[1].file_sha256 != history[0].file_sha256


def test_a_bad_row_is_refused_with_its_line_and_the_others_imported(any_app: Flask,
                                                                    tmp_path: Path) -> None:
    bad = rows()
    bad.insert(1, record(policy="P2025-0009", name="赵六", id_number=ID_B[:17] + "0"))
    bad.append(record(policy="P2025-0001"))  # the first row again
    report = import_file(any_app, write_csv(tmp_path / "roster.csv", bad))
    assert (report.added, report.refused) == (3, 2)
    assert report.refused_rows[0][0] == 3  # line 1 is the heading
    assert "校验码" in report.refused_rows[0][1]
    assert report.refused_rows[1] == (6, "与第 2 行的保单号和身份证号码相同（重复的行）。")
    assert any("第 3 行：" in line for line in report.lines())
    with any_app.app_context(), get_db().read_session() as s:
        kept = s.scalar(select(RosterImport).where(RosterImport.id == report.import_id))
        assert kept.refused == 2 and kept.refused_rows[0][0] == 3


def test_a_file_without_an_id_column_is_refused_whole(any_app: Flask, tmp_path: Path) -> None:
    import_file(any_app, write_csv(tmp_path / "good.csv", rows()))
    before = [(r.policy_number, r.status) for r in stored(any_app)]
    header = ["保单号", "被保险人姓名", "首次生效日期", "本期起期", "本期止期", "保单状态"]
    broken = [[r[0], r[1], r[3], r[4], r[5], "退保"] for r in rows()]
    report = import_file(any_app, write_csv(tmp_path / "bad.csv", broken, header=header))
    assert report.outcome == "refused" and "找不到“身份证号码”这一列" in report.file_problem
    assert "名册没有任何改变" in report.summary()
    assert [(r.policy_number, r.status) for r in stored(any_app)] == before
    with any_app.app_context():
        history = import_history(get_db())
        with get_db().read_session() as s:
            actions = list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert history[0].outcome == "refused" and history[0].added == 0
    assert actions[-2:] == ["roster_imported", "roster_refused"]


def test_a_file_unreadable_part_way_changes_nothing(any_app: Flask, tmp_path: Path) -> None:
    many = [record(policy=f"P-{i:06d}",
                   id_number=make_id(f"110105198001{1 + i % 28:02d}{i % 1000:03d}"))
            for i in range(1500)]  # past the 64 KB the encoding is guessed from
    path = write_csv(tmp_path / "roster.csv", many)
    with open(path, "ab") as fh:  # a GBK name after UTF-8 rows: not one encoding
        fh.write(b"P2025-0004," + "张三".encode("gbk") * 3 + b",x\r\n")
    with any_app.app_context():
        from forms_app.content import get_rules
        from forms_app.storage.register import import_roster

        with open(path, "rb") as fh:
            report = import_roster(get_db(), get_crypto(), get_rules().content.roster_file,
                                   fh, filename="roster.csv", actor="tester",
                                   today=dt.date.today(), chunk_rows=100)
    assert report.outcome == "refused" and "第 1502 行附近" in report.file_problem
    assert stored(any_app) == []  # the chunks written before the bad line are rolled back
    # the same rows without the bad line are all valid: they were written, then undone
    assert import_file(any_app, write_csv(tmp_path / "ok.csv", many)).added == 1500


def test_gbk_csv_and_dry_run(any_app: Flask, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", rows(), encoding="gbk")
    trial = import_file(any_app, path, dry_run=True)
    assert trial.dry_run and trial.added == 3 and "试导入" in trial.summary()
    assert stored(any_app) == []
    with any_app.app_context():
        assert import_history(get_db()) == []
    assert import_file(any_app, path).added == 3
