"""Issue #18 item 7: old `.xls` rosters are read (python-calamine), with every check the `.xlsx` path has —
a link refused, the size cap, a file that is really a zip goes through the zip checks, broken files refused,
ID numbers stored as numbers and formula-looking text rejected per row, the error report written as text.
Real .xls files (tests/attacks/data/, README there), imported with the command line as the supervisor."""

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tests.cli_run import cs

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "clinic.sqlite3"
    assert cs("demo", "--db", str(path), "--persons", "5", user=None)[0] == 0
    return str(path)


def roster(db, path, *extra):
    code, out, err = cs("import-roster", str(path), *extra, "--db", db, "--json", user="admin")
    data = json.loads(out) if out.strip().startswith("{") else {}
    return code, data, err + data.get("error", {}).get("message", "")


def test_a_real_xls_roster_is_imported_with_its_usage_sheet(db, tmp_path):
    f = tmp_path / "花名册.xls"
    shutil.copy(DATA / "roster_sample.xls", f)
    code, data, err = roster(db, f, "--dry-run")
    assert code == 0 and (data["inserted"] + data["updated"], data["rejected"]) == (12, 0), err
    code, data, err = roster(db, f)
    assert code == 0, err
    assert (data["inserted"] + data["updated"], data["rejected"], data["usage_rows"], data["usage_rejected"]) == \
        (12, 0, 6, 0)
    code, out, _ = cs("lookup", "14110200000002", "--db", db)
    assert code == 0 and "林东英" in out


def test_bad_rows_of_an_xls_are_rejected_and_reported_as_text(db, tmp_path):
    f = tmp_path / "bad.xls"
    shutil.copy(DATA / "roster_bad.xls", f)
    code, data, err = roster(db, f)
    assert code == 0, err
    assert (data["inserted"] + data["updated"], data["rejected"]) == (0, 2)
    fields = {e["field"] for e in data["errors"]}
    assert {"身份证号", "姓名"} <= fields, data["errors"]
    ws = load_workbook(data["report_path"]).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_a_symlinked_xls_is_refused(db, tmp_path):
    link = tmp_path / "link.xls"
    link.symlink_to(DATA / "roster_sample.xls")
    code, _, err = roster(db, link)
    assert code == 2 and "符号链接" in err


def _xlsx_bytes(extra: dict[str, bytes]) -> bytes:
    wb = Workbook()
    wb.active.append(["人员编号", "身份证号"])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
        for i in zin.infolist():
            zout.writestr(i, zin.read(i.filename))
        for name, data in extra.items():
            zout.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_zip_named_xls_goes_through_the_zip_checks(db, tmp_path):
    f = tmp_path / "renamed.xls"
    f.write_bytes(_xlsx_bytes({"../../evil.txt": b"x"}))
    code, _, err = roster(db, f)
    assert code == 2 and "evil.txt" in err, err
    bomb = tmp_path / "bomb.xls"
    bomb.write_bytes(_xlsx_bytes({"xl/pad.bin": b"\0" * (8 * 1024 * 1024)}))  # 8 MiB of zeros: > 200:1
    code, _, err = roster(db, bomb)
    assert code == 2 and "pad.bin" in err, err


@pytest.mark.parametrize("content", [b"", b"not an excel file at all" * 100, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600])
def test_a_broken_xls_is_refused_with_the_reason(db, tmp_path, content):
    f = tmp_path / "broken.xls"
    f.write_bytes(content)
    code, _, err = roster(db, f)
    assert code == 2 and "broken.xls" in err and "Traceback" not in err, err
