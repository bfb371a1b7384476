"""Logs, error messages and tracebacks never hold a full ID number; a password is never stored or logged."""

import logging
import re

from desktop_app.privacy import format_exception, redact, setup_logging
from desktop_app.services import accounts, lookup


def test_redact_masks_id_numbers_and_nothing_else():
    text = ("身份证 140102199003071234、14010219900307123X 与旧号 140102900307123；人员编号 14110200000001，"
            "结算单号 S202611230001，金额 1234567890.12，电话 13912345678，编码 XJ01CAA040A001")
    out = redact(text)
    assert "1401**********1234" in out and "1401**********123X" in out and "1401*******7123" in out
    for kept in ("14110200000001", "S202611230001", "1234567890.12", "13912345678", "XJ01CAA040A001"):
        assert kept in out
    assert not re.search(r"\d{15,18}", out.replace("14110200000001", "").replace("1234567890", ""))


def test_log_file_masks_ids_in_messages_and_tracebacks(tmp_path):
    path = setup_logging(tmp_path / "logs", stderr=False)
    log = logging.getLogger("clinic_settle.test")
    try:
        raise ValueError("找不到 140102199003071234")
    except ValueError:
        log.exception("处理 %s 时出错", "14010219900307123X")
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    assert "Traceback" in text and "1401**********1234" in text and "1401**********123X" in text
    assert "140102199003071234" not in text and "14010219900307123X" not in text
    setup_logging(None, stderr=False)


def test_format_exception_for_the_terminal_is_masked():
    try:
        raise RuntimeError("id=140102199003071234")
    except RuntimeError as exc:
        out = format_exception(exc)
    assert "Traceback" in out and "140102199003071234" not in out


def test_passwords_are_not_in_the_database_file_or_the_log(db, tmp_path):
    setup_logging(tmp_path / "logs", stderr=False)
    secret, wrong = "Harbour-Lamp-73", "Wrong-Guess-19"
    accounts.create_operator(db, "li", "李四", "clerk", "initial-pass-1", must_change=True, actor="admin")
    accounts.change_password(db, "li", secret, actor="li")
    assert accounts.authenticate(db, "li", wrong) is None
    assert accounts.authenticate(db, "li", secret) is not None
    db.dispose()  # everything on disk (database and write-ahead log)
    for f in [db.path, *db.path.parent.glob("*.sqlite3-wal"), *(tmp_path / "logs").glob("*")]:
        data = f.read_bytes()
        for pw in (secret, wrong, "initial-pass-1"):
            assert pw.encode() not in data and pw.encode("utf-16-le") not in data, (f, pw)
    setup_logging(None, stderr=False)


def test_clerk_sees_masked_ids_supervisor_may_see_full(db):
    hit = lookup.search(db, "1411")[0]
    assert "*" in hit.id_masked
    s = lookup.summary(db, hit.psn_no)
    assert s.id_full is None and "**********" in s.id_masked
    assert lookup.reveal_id(db, hit.psn_no, actor="admin", via="window")  # a supervisor, audited


def test_cli_crash_report_is_masked(monkeypatch, capsys):
    from desktop_app.cli import admin
    from desktop_app.cli.main import main
    from desktop_app.errors import EXIT_BUG

    def boom(_db):
        raise RuntimeError("无法处理 140102199003071234")

    monkeypatch.setattr(admin, "show_status", boom)
    assert main(["status"]) == EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and "1401**********1234" in err and "140102199003071234" not in err
