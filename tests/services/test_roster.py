"""Roster import: every bad-row kind, upsert that never touches settlements, the error report round trip."""

import csv
import random
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from desktop_app.services import roster, roster_files, roster_rows
from desktop_app.services.demo import _id_number
from desktop_app.store import models as m

pytestmark = pytest.mark.both_backends  # the same tests on SQLite and on PostgreSQL (tests/conftest.py)

HEADER = list(roster_rows.PERSON_COLUMNS)


def valid_id(birth=date(1980, 5, 17), male=True, seed=1):
    return _id_number(random.Random(seed), birth, male)


def row(psn, idn, name="张三", gender="男", birth="1980-05-17", insutype="390", cat="城乡居民", admdvs="141102",
        paid="2025-10-01", period="集中", exempt="否", fd="", dis="", bal="0.00", as_of="2026-11-20"):
    return [psn, idn, name, gender, birth, insutype, cat, admdvs, paid, period, exempt, fd, dis, bal, as_of]


def write_csv(path, rows, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def test_every_bad_row_kind_is_rejected_with_reason(empty_db, tmp_path):
    from desktop_app.services import packs

    packs.sync_shipped(empty_db, actor="admin")
    ok_m = valid_id(seed=1)
    ok_f = valid_id(birth=date(1990, 2, 3), male=False, seed=2)
    bad_check = ok_m[:-1] + ("0" if ok_m[-1] != "0" else "1")
    wrong_date = "14230119800231" + ok_m[14:17]
    from stdnum.cn import ric
    wrong_date += ric.calc_check_digit(wrong_date + "0")
    lower_x = next(valid_id(seed=s) for s in range(200) if valid_id(seed=s).endswith("X"))
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in ok_f[:9]) + " " + ok_f[9:]
    rows = [
        row("P001", ok_m),                                                  # 2 ok
        row("P002", bad_check),                                             # 3 checksum
        row("P003", wrong_date),                                            # 4 birth date does not exist
        row("P004", valid_id(seed=3), gender="女"),                          # 5 gender disagrees
        row("P005", valid_id(seed=4), birth="1980-05-18"),                   # 6 birth date disagrees
        row("P006", "1.41102E+17"),                                         # 7 Excel number text
        row("P007", fullwidth, name="李四", gender="女", birth="1990-02-03"),  # 8 full-width + space: ok
        row("P008", lower_x.lower(), birth=f"{ric.get_birth_date(lower_x)}",
            gender="男" if int(lower_x[16]) % 2 else "女"),                   # 9 lowercase x: ok
        row("P001", valid_id(seed=5)),                                      # 10 duplicate 人员编号
        row("P010", ok_m),                                                  # 11 duplicate 身份证号
        row("P011", valid_id(seed=6), insutype="320"),                      # 12 unknown 险种
        row("P012", valid_id(seed=7), cat="农民"),                           # 13 unknown 人员类别
        row("P013", valid_id(seed=8), dis="X99999"),                        # 14 unknown 病种
        row("P014", valid_id(seed=9), insutype="310", cat="城乡居民"),        # 15 category vs insutype
        row("P015", valid_id(seed=10), bal="-1.00"),                        # 16 negative balance
        row("P016", valid_id(seed=11), as_of="2026-13-01"),                 # 17 bad date
        row("P017", valid_id(seed=12), admdvs="1411"),                      # 18 bad region
        row("", valid_id(seed=13)),                                         # 19 empty 人员编号
        row("P019", valid_id(seed=14), period="延长", paid=""),              # 20 late payer without date
    ]
    f = write_csv(tmp_path / "roster.csv", rows)
    res = roster.import_roster(empty_db, f, actor="admin")
    reasons = {e.row: (e.field, e.reason) for e in res.errors}
    assert res.inserted == 3, reasons
    expect = {3: ("身份证号", "校验位"), 4: ("身份证号", "出生日期不存在"), 5: ("性别", "不一致"),
              6: ("出生日期", "不一致"), 7: ("身份证号", "科学计数法"), 10: ("人员编号", "重复"),
              11: ("身份证号", "重复"), 12: ("险种类型", "310"), 13: ("人员类别", "农民"),
              14: ("登记病种", "X99999"), 15: ("人员类别", "不一致"), 16: ("个人账户余额", "负数"),
              17: ("截至日期", "不是有效日期"), 18: ("参保地区划", "6位"), 19: ("人员编号", "人员编号"),
              20: ("缴费日期", "延长")}
    for r, (field, word) in expect.items():
        assert r in reasons, (r, reasons)
        assert reasons[r][0] == field and word in reasons[r][1], (r, reasons[r])
    assert res.rejected == len(expect)
    # the report lists exactly those rows and reads back
    assert res.report_path and res.report_path.endswith("roster_错误报告.xlsx")
    back = roster.read_error_report(res.report_path)
    assert [(e.row, e.field, e.reason) for e in back] == [(e.row, e.field, e.reason) for e in res.errors]
    # full-width digits and the space were normalised; lowercase x became X
    with empty_db.read() as s:
        ids = set(s.execute(select(m.Person.id_no)).scalars())
    assert ok_f in ids and lower_x in ids
    assert all(full not in res.report_path for full in (ok_m,))


def test_xlsx_number_id_is_refused_and_usage_sheet_imported(empty_db, tmp_path):
    from desktop_app.services import packs

    packs.sync_shipped(empty_db, actor="admin")
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(HEADER)
    good = valid_id(seed=21)
    ws.append(row("Q001", good))
    numeric = valid_id(seed=22, male=True)
    r = row("Q002", numeric)
    r[1] = int(numeric[:17]) * 10  # the way Excel keeps a long number (digits lost)
    ws.append(r)
    u = wb.create_sheet("待遇累计")
    u.append(list(roster_rows.USAGE_COLUMNS))
    u.append(["Q001", 2026, "普通门诊统筹", "", 1, 120.5, "", ""])
    u.append(["Q001", 2026, "普通门诊", "", 2, "30.00", "", ""])
    u.append(["Q002", 2026, "普通门诊统筹", "", 1, "10.00", "", ""])   # person rejected → row rejected
    u.append(["Q001", 2026, "牙科", "", 1, "10.00", "", ""])            # unknown benefit
    f = tmp_path / "roster.xlsx"
    wb.save(f)
    res = roster.import_roster(empty_db, f, actor="admin")
    assert res.inserted == 1 and res.rejected == 1
    assert "精度" in [e for e in res.errors if e.row == 3][0].reason
    assert res.usage_rows == 4 and res.usage_rejected == 2
    with empty_db.read() as s:
        paid = s.execute(select(func.sum(m.UsageSnapshot.fund_paid)).where(m.UsageSnapshot.psn_no == "Q001")).scalar()
    assert paid == Decimal("150.50")  # 120.50 + 30.00, exact (stored as fen)


def test_reimport_updates_persons_and_never_touches_settlements(db, tmp_path):
    from desktop_app.services import ledger, ledger_types

    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                      .limit(1)).scalar_one()
        idn, psn, birth, gender = p.id_no, p.psn_no, p.birth_date, p.gender
    rec = ledger.settle(db, ledger_types.VisitInput(psn, date(2026, 11, 23), "general_outpatient",
                                              [ledger_types.ItemInput("110200005", "1")]), operator="clerk",
                        today=date(2026, 11, 23))
    f = write_csv(tmp_path / "again.csv", [row(psn, idn, name="改名字", gender=gender, birth=birth.isoformat(),
                                                fd="H14110200031")])
    res = roster.import_roster(db, f, actor="admin")
    assert (res.inserted, res.updated, res.rejected) == (0, 1, 0)
    with db.read() as s:
        p = s.get(m.Person, psn)
        assert p.name == "改名字" and p.family_doctor_at == "H14110200031"
        st = s.execute(select(m.Settlement).where(m.Settlement.setl_no == rec.setl_no)).scalar_one()
        assert str(st.hifp_pay) == rec.result["hifp_pay"] and st.psn_no == psn
    from desktop_app.services import lookup

    assert lookup.search(db, "gmz")[0].psn_no == psn  # new pinyin keys


def test_id_held_by_another_person_in_database(db, tmp_path):
    with db.read() as s:
        p = s.execute(select(m.Person).limit(1)).scalar_one()
    f = write_csv(tmp_path / "dup.csv", [row("NEW0001", p.id_no, gender=p.gender, birth=p.birth_date.isoformat())])
    res = roster.import_roster(db, f, actor="admin")
    assert res.rejected == 1 and "已属于数据库中的人员" in res.errors[0].reason


def test_gbk_csv_is_read_with_a_note(empty_db, tmp_path):
    from desktop_app.services import packs

    packs.sync_shipped(empty_db, actor="admin")
    f = write_csv(tmp_path / "gbk.csv", [row("G001", valid_id(seed=31))], encoding="gbk")
    res = roster.import_roster(empty_db, f, actor="admin")
    assert res.inserted == 1 and "GBK" in res.encoding_note


def test_missing_column_and_unsupported_file(empty_db, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("人员编号,姓名\nP1,张三\n", encoding="utf-8")
    with pytest.raises(roster_files.RosterError, match="缺少列"):
        roster.import_roster(empty_db, f, actor="admin")
    g = tmp_path / "bad.pdf"
    g.write_bytes(b"%PDF")
    with pytest.raises(roster_files.RosterError, match="不支持"):
        roster.import_roster(empty_db, g, actor="admin")


def test_formula_in_error_report_is_neutralised(empty_db, tmp_path):
    f = write_csv(tmp_path / "f.csv", [row("=HYPERLINK(1)", valid_id(seed=41))])
    res = roster.import_roster(empty_db, f, actor="admin")
    from openpyxl import load_workbook

    ws = load_workbook(res.report_path).active
    assert all(not str(c.value).startswith("=") for r in ws.iter_rows(min_row=2) for c in r if c.value)


def test_pinyin_keys_cover_surname_readings():
    keys = roster.pinyin_keys("单田芳")
    assert {"shantianfang", "stf", "dantianfang", "dtf"} <= set(keys)
    assert roster.pinyin_keys("张三")[:2] == ["zhangsan", "zs"]


def test_shipped_samples_import_cleanly(empty_db, tmp_path):
    import shutil
    from pathlib import Path

    from desktop_app.services import packs

    packs.sync_shipped(empty_db, actor="admin")
    samples = Path(__file__).resolve().parents[2] / "docs" / "samples"
    x = tmp_path / "roster_sample.xlsx"
    shutil.copy(samples / "roster_sample.xlsx", x)
    res = roster.import_roster(empty_db, x, actor="admin")
    assert (res.inserted, res.rejected, res.usage_rejected) == (12, 0, 0) and res.usage_rows == 6
    c = tmp_path / "roster_sample.csv"
    shutil.copy(samples / "roster_sample.csv", c)
    res = roster.import_roster(empty_db, c, usage_path=samples / "usage_sample.csv", actor="admin")
    assert (res.updated, res.rejected, res.report_path) == (12, 0, None)


def test_dry_run_reports_and_changes_nothing(db, tmp_path):
    from sqlalchemy import func

    with db.read() as s:
        before = s.execute(select(func.count()).select_from(m.Person)).scalar_one()
        p = s.execute(select(m.Person).limit(1)).scalar_one()
    f = write_csv(tmp_path / "dry.csv", [row("NEWDRY1", valid_id(seed=77)),
                                          row(p.psn_no, p.id_no, name="改", gender=p.gender, birth=p.birth_date.isoformat()),
                                          row("BAD", "123")])
    res = roster.import_roster(db, f, dry_run=True, actor="admin")
    assert (res.inserted, res.updated, res.rejected) == (1, 1, 1) and res.report_path
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(m.Person)).scalar_one() == before
        assert s.get(m.Person, p.psn_no).name == p.name
