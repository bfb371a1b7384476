"""The use cases the window and the command line share: settle and save the receipt; 日结 with its backup
and 日结单; the database file (locate, check, restore with its audit entry); and the layering they allow
(screens and report renderers never reach the database themselves)."""

import ast
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from desktop_app.services import (
    accounts,
    audit,
    closing,
    database,
    days,
    ledger,
    ledger_types,
    settling,
)
from desktop_app.store import backup as bk
from desktop_app.store import models as m
from desktop_app.store.db import open_db
from tests.services.test_ledger import resident

ROOT = Path(__file__).resolve().parents[2]


def today_visit(psn_no):
    return ledger_types.VisitInput(psn_no, date.today(), "general_outpatient",
                             [ledger_types.ItemInput("XJ01DCA030A001", "2"), ledger_types.ItemInput("110200005", "1")])


def count(db, model):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_settle_and_save_receipt_writes_the_pdf_once_per_token(db, tmp_path):
    v = today_visit(resident(db).psn_no)
    out = settling.settle_and_save_receipt(db, v, token="t-1", operator="clerk", receipts_dir=tmp_path / "r",
                                           receipt_format="80mm")
    assert out.receipt == tmp_path / "r" / f"{out.record.setl_no}.pdf"
    assert out.receipt.read_bytes().startswith(b"%PDF")
    assert ledger.get(db, out.record.setl_no).result == out.record.result
    again = settling.settle_and_save_receipt(db, v, token="t-1", operator="clerk", receipts_dir=tmp_path / "r")
    assert again.record.setl_no == out.record.setl_no and again.record.replayed
    assert count(db, m.Settlement) == 1


def test_settle_refused_saves_neither_settlement_nor_receipt(db, tmp_path):
    v = today_visit("NOBODY")
    with pytest.raises(ledger_types.LedgerError):
        settling.settle_and_save_receipt(db, v, token=None, operator="clerk", receipts_dir=tmp_path / "r")
    assert count(db, m.Settlement) == 0 and not (tmp_path / "r").exists()


def test_close_day_makes_the_backup_and_the_day_report(db, tmp_path):
    v = today_visit(resident(db).psn_no)
    rec = ledger.settle(db, v, operator="clerk")
    out = closing.close_day(db, operator="clerk", folder=tmp_path / "reports")
    day = date.today()
    assert out.business_date == day and out.count == 1 and out.record.totals["settlements"] == 1
    assert out.backup is not None and database.check(Path(out.backup)) == "ok"
    assert Path(out.backup).parent == db.path.parent / "backups"
    con = sqlite3.connect(f"file:{out.backup}?mode=ro", uri=True)  # the copy holds the closed day
    assert con.execute("SELECT business_date FROM day_close").fetchall() == [(day.isoformat(),)]
    con.close()
    assert out.xlsx == tmp_path / "reports" / f"日结单_H14110200031_{day:%Y%m%d}.xlsx"
    assert out.pdf == tmp_path / "reports" / f"日结单_H14110200031_{day:%Y%m%d}.pdf"
    assert "已日结" in load_workbook(out.xlsx)["日结单"]["A1"].value
    assert out.pdf.read_bytes().startswith(b"%PDF")
    assert ledger.get(db, rec.setl_no).day_closed
    # a second close is refused before anything is written (its 日结单 are there)
    before = {f: f.stat().st_mtime_ns for f in (out.xlsx, out.pdf)}
    with pytest.raises(ledger_types.LedgerError, match="已经日结"):
        closing.close_day(db, operator="clerk", folder=tmp_path / "reports")
    assert {f: f.stat().st_mtime_ns for f in (out.xlsx, out.pdf)} == before
    assert len(list((db.path.parent / "backups").glob("*.sqlite3"))) == 1


def test_close_day_again_finishes_a_close_cut_off_before_its_day_report(db, tmp_path):
    """The kill harness found it: killed after the close committed but before the 日结单 (or the backup) was
    written, the day stayed closed with no 日结单 and 日结 again only said 已经日结过了. Now 日结 again
    writes what is missing (and a backup of the closed day); the close itself is not repeated."""
    ledger.settle(db, today_visit(resident(db).psn_no), operator="clerk")
    days.day_close(db, operator="clerk")  # … and the program died here
    folder = tmp_path / "reports"
    (folder).mkdir()
    day = date.today()
    (folder / f"日结单_H14110200031_{day:%Y%m%d}.pdf").write_bytes(b"%PDF-1.4 cut off")
    out = closing.close_day(db, operator="clerk", folder=folder)
    assert out.count == 1 and out.record.totals["settlements"] == 1
    assert "已日结" in load_workbook(out.xlsx)["日结单"]["A1"].value
    assert out.pdf.read_bytes().rstrip().endswith(b"%%EOF")
    assert out.backup is not None and database.check(Path(out.backup)) == "ok"
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(m.DayClose)).scalar_one() == 1


def test_restore_writes_who_restored_what_into_the_restored_trail(db, tmp_path):
    assert database.latest_backup(db.path) is None
    made = bk.backup(db)
    assert database.latest_backup(db.path).path == made.path
    path = db.path
    db.dispose()
    out = database.restore(path, Path(made.path), actor=accounts.SYSTEM, via="window", reason="磁盘错误" * 60)
    assert out.kept.exists() and out.target == path and database.check(path) == "ok"
    restored = open_db(path)
    last = audit.recent(restored, 1, actor="admin")[0]
    assert (last.actor, last.action, last.subject) == ("system", "restore", Path(made.path).name)
    assert last.detail == {"via": "window", "reason": ("磁盘错误" * 60)[:200], "kept": out.kept.name}
    assert audit.verify(restored, actor="admin").ok
    restored.dispose()
    # the command line's form: checked already, no reason
    out = database.restore(path, Path(made.path), actor="admin", via="cli", verified=True)
    restored = open_db(path)
    assert audit.recent(restored, 1, actor="admin")[0].detail == {"via": "cli", "kept": out.kept.name}
    restored.dispose()


def test_restore_refuses_a_bad_backup_and_writes_nothing(db, tmp_path):
    path = db.path
    n = count(db, m.AuditEntry)
    db.dispose()
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    with pytest.raises(database.BackupError, match="校验未通过"):
        database.restore(path, bad, actor="admin", via="cli")
    assert database.check(path) == "ok" and count(open_db(path), m.AuditEntry) == n


def test_locate_and_folders(db, tmp_path):
    assert database.locate(tmp_path / "x.sqlite3") == (tmp_path / "x.sqlite3").resolve()
    assert database.locate("postgresql://county/clinic") is None
    assert database.data_dir(db) == db.path.parent and database.reports_dir(db) == db.path.parent / "reports"
    assert database.check(db.path, quick=True) == "ok"
    assert database.daily_backup(db) is not None and database.daily_backup(db) is None


def _imports(folder: str) -> list[tuple[str, int, str]]:
    out = []
    for path in (ROOT / "desktop_app" / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            out += [(path.name, node.lineno, n) for n in names]
    return out


@pytest.mark.reads_source
def test_screens_and_renderers_do_not_reach_the_database():
    """gui/ goes through services; reports/ renders the rows it is given (services/reporting.py reads them)."""
    for folder in ("gui", "reports"):
        bad = [i for i in _imports(folder) if i[2].startswith(("desktop_app.store", "sqlalchemy"))]
        assert bad == [], folder


def test_cli_day_close_makes_the_backup_and_the_day_report_like_the_window(db, tmp_path):
    import json

    from tests.cli_run import cs

    ledger.settle(db, today_visit(resident(db).psn_no), operator="clerk")
    code, out, _ = cs("day-close", "--db", str(db.path), "--json", user="admin")
    dc = json.loads(out)
    assert code == 0 and dc["count"] == 1 and dc["business_date"] == date.today().isoformat()
    assert Path(dc["xlsx"]) == db.path.parent / "reports" / f"日结单_H14110200031_{date.today():%Y%m%d}.xlsx"
    assert Path(dc["xlsx"]).exists() and Path(dc["pdf"]).read_bytes().startswith(b"%PDF")
    assert database.check(Path(dc["backup"])) == "ok"
    code, _, err = cs("day-close", "--db", str(db.path), user="admin")  # its 日结单 are there: refused
    assert code == 1 and "已经日结" in err


def test_two_databases_in_one_folder_keep_their_own_day_reports_backups_and_receipts(template_db, tmp_path):
    """A clinic kept two databases in one folder: the 日结单 carried only the date, the backups only the time,
    the receipts only the settlement number, so the second database's 日结 and F9 replaced the first's files."""
    import shutil

    from desktop_app.services import settings

    dbs = []
    for stem in ("a", "b"):
        shutil.copy(template_db, tmp_path / f"{stem}.sqlite3")
        dbs.append(open_db(tmp_path / f"{stem}.sqlite3"))
    try:
        # the same clinic code in both databases: the same 结算单号 — the first receipt is not replaced
        got = [settling.settle_and_save_receipt(d, today_visit(resident(d).psn_no), token=None, operator="clerk",
                                                receipts_dir=tmp_path / "receipts") for d in dbs]
        assert got[0].record.setl_no == got[1].record.setl_no
        assert got[0].receipt.name == f"{got[0].record.setl_no}.pdf"
        assert got[1].receipt.name == f"{got[1].record.setl_no}_b.pdf"
        before = got[0].receipt.read_bytes()
        again = settling.settle_and_save_receipt(dbs[1], today_visit(resident(dbs[1]).psn_no), token=None,
                                                 operator="clerk", receipts_dir=tmp_path / "receipts")
        assert again.receipt.name == f"{again.record.setl_no}.pdf" and got[0].receipt.read_bytes() == before
        settings.save(dbs[1], {"clinic_code": "H14110200032"}, actor="admin")
        outs = [closing.close_day(d, operator="clerk", folder=tmp_path / "reports") for d in dbs]
        day = date.today()
        assert outs[0].pdf.name == f"日结单_H14110200031_{day:%Y%m%d}.pdf"
        assert outs[1].xlsx.name == f"日结单_H14110200032_{day:%Y%m%d}.xlsx"
        assert len({o.pdf for o in outs} | {o.xlsx for o in outs}) == 4 and all(o.pdf.exists() for o in outs)
        assert Path(outs[0].backup).name.startswith("clinic-settle-a-")
        assert Path(outs[1].backup).name.startswith("clinic-settle-b-")
        assert [Path(b.path).name for b in bk.list_backups(dbs[0].path)] == [Path(outs[0].backup).name]
    finally:
        for d in dbs:
            d.dispose()
