"""What an attacker (or an unlucky clinic) does, done the same way: the command line as a subprocess,
raw `sqlite3` on the database file, real .xlsx/.csv roster files, a full or read-only disk.

`clinic` is a copy of the demo database (tests/conftest.py: 120 persons, 截至日期 2026-11-22, no
settlements); the command line's business day is the real today."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from desktop_app.services.roster_rows import CATEGORY_CODES, PERSON_COLUMNS, USAGE_COLUMNS
from tests.cli_run import cs

LABEL_OF_CATEGORY = {v: k for k, v in CATEGORY_CODES.items()}


class Clinic:
    """A database file and the commands run on it."""

    def __init__(self, path: Path, tmp: Path):
        self.path = path
        self.tmp = tmp
        self._n = 0

    def cs(self, *args, user: str = "clerk", **kw):
        return cs(*args, "--db", str(self.path), user=user, **kw)

    def sql(self, query: str, params=()):
        con = sqlite3.connect(self.path)
        try:
            rows = con.execute(query, params).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def one(self, query: str, params=()):
        return self.sql(query, params)[0][0]

    def count(self, table: str) -> int:
        return self.one(f"SELECT count(*) FROM {table}")

    def file(self, data, name: str | None = None, *, encoding: str = "utf-8") -> Path:
        """A visit or claim file: `data` is dumped as JSON unless it is text or bytes already."""
        self._n += 1
        path = self.tmp / (name or f"visit{self._n}.json")
        if isinstance(data, bytes):
            path.write_bytes(data)
        elif isinstance(data, str):
            path.write_text(data, encoding=encoding)
        else:
            path.write_text(json.dumps(data, ensure_ascii=False), encoding=encoding)
        return path

    def settle(self, visit, *extra, user: str = "clerk"):
        return self.cs("settle", str(self.file(visit)), "--json", *extra, user=user)

    def resident(self, n: int = 0) -> str:
        """A 吕梁离石 resident (general outpatient cap 300.00/year) without a waiting period."""
        return self.sql("SELECT psn_no FROM person WHERE insutype='390' AND category='resident' "
                        "AND admdvs='141102' AND pay_period='集中' ORDER BY psn_no")[n][0]

    def used(self, psn_no: str, benefit: str = "general_outpatient") -> str:
        """The year's fund payment the clerk is shown (`lookup`)."""
        code, out, err = self.cs("lookup", psn_no, "--json")
        assert code == 0, err
        return next(b["fund_paid"] for b in json.loads(out)["benefits"] if b["benefit"] == benefit)

    def roster_row(self, psn_no: str, **change) -> list:
        """The person's roster row as the centre would send it (columns of PERSON_COLUMNS)."""
        (p,) = self.sql("SELECT psn_no, id_no, name, gender, birth_date, insutype, category, admdvs, paid_on, "
                        "pay_period, waiting_exempt, family_doctor_at, acct_balance, as_of, contrib_year FROM person "
                        "WHERE psn_no=?", (psn_no,))
        diseases = ",".join(r[0] for r in self.sql("SELECT disease FROM person_disease WHERE psn_no=?", (psn_no,)))
        row = {"人员编号": p[0], "身份证号": p[1], "姓名": p[2], "性别": p[3], "出生日期": p[4], "险种类型": p[5],
               "人员类别": LABEL_OF_CATEGORY[p[6]], "参保地区划": p[7], "缴费日期": p[8] or "", "缴费期": p[9],
               "免等待期": "是" if p[10] else "否", "家庭医生签约机构": p[11], "登记病种": diseases,
               "个人账户余额": f"{p[12] / 100:.2f}", "截至日期": p[13], "缴费年度": "" if p[14] is None else str(p[14])}
        row.update(change)
        return [row[c] for c in PERSON_COLUMNS]


@pytest.fixture
def clinic(template_db, tmp_path) -> Clinic:
    path = tmp_path / "db" / "clinic.sqlite3"
    path.parent.mkdir()
    shutil.copy(template_db, path)
    return Clinic(path, tmp_path)


def usage_row(psn_no: str, fund_paid: str, *, year: int | None = None, benefit: str = "普通门诊统筹",
              quarter: str = "") -> list:
    return [psn_no, str(year or date.today().year), benefit, "", quarter, fund_paid, "", ""]


def roster_xlsx(path: Path, persons: list[list], usage: list[list] | None = None) -> Path:
    """A real roster workbook: 花名册, and 待遇累计 when `usage` is given (None: no such sheet)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(list(PERSON_COLUMNS))
    for r in persons:
        ws.append(r)
    if usage is not None:
        us = wb.create_sheet("待遇累计")
        us.append(list(USAGE_COLUMNS))
        for r in usage:
            us.append(r)
    wb.save(path)
    return path


@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` made read-only for everyone, root included (a write-protected USB stick): a read-only
    bind mount over it as root, else the permission bits."""
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot bind-mount: {r.stderr.decode(errors='replace')}")
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True, capture_output=True)
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield folder
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "4m"):
    """A tiny tmpfs at `folder` (root only)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    folder.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode(errors='replace')}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> None:
    """Write a filler file until the file system is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
