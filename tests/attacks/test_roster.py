"""#12 holes 2, 3 (import side), 16 and the roster parts of 17, done with real roster workbooks through
`clinic-settle import-roster` as the supervisor would."""

import json
from datetime import date, timedelta

from tests.attacks.conftest import read_only, roster_xlsx, usage_row


def import_roster(clinic, path, *extra):
    code, out, err = clinic.cs("import-roster", str(path), "--json", *extra, user="admin")
    assert code == 0, err or out
    return json.loads(out)


def import_text(clinic, path):
    code, out, err = clinic.cs("import-roster", str(path), user="admin")
    assert code == 0, err
    return out


# ---------------------------------------------------------------------------
# hole 2: a roster without 待遇累计 must not wipe the year's usage
# ---------------------------------------------------------------------------
def test_roster_without_usage_sheet_keeps_the_usage(clinic):
    psn = clinic.resident()
    row = clinic.roster_row(psn)
    import_roster(clinic, roster_xlsx(clinic.tmp / "full.xlsx", [row], [usage_row(psn, "250.00")]))
    assert clinic.used(psn) == "250.00"
    # the same person again, from a workbook that has only the 花名册 sheet (a new phone number, say)
    out = import_text(clinic, roster_xlsx(clinic.tmp / "persons_only.xlsx", [row]))
    assert "更新 1 人" in out and "待遇累计" in out and "未改动" in out, out
    assert clinic.used(psn) == "250.00"
    assert clinic.sql("SELECT fund_paid FROM usage_snapshot WHERE psn_no=?", (psn,)) == [(25000,)]


def test_a_new_usage_sheet_replaces_the_old_one(clinic):
    """#19: the snapshot read after a re-import with a new 待遇累计 is the new one, not old + new."""
    psn = clinic.resident()
    row = clinic.roster_row(psn)
    import_roster(clinic, roster_xlsx(clinic.tmp / "a.xlsx", [row], [usage_row(psn, "250.00")]))
    import_roster(clinic, roster_xlsx(clinic.tmp / "b.xlsx", [row], [usage_row(psn, "40.00", quarter="4"),
                                                                     usage_row(psn, "60.00", quarter="3")]))
    assert clinic.used(psn) == "100.00"
    assert sorted(clinic.sql("SELECT quarter, fund_paid FROM usage_snapshot WHERE psn_no=?", (psn,))) == \
        [(3, 6000), (4, 4000)]
    # and a new sheet without any row for the person: the centre says nothing used
    other = clinic.resident(1)
    import_roster(clinic, roster_xlsx(clinic.tmp / "c.xlsx", [row], [usage_row(other, "10.00")]))
    assert clinic.used(psn) == "0.00" and clinic.used(other) == "10.00"


# ---------------------------------------------------------------------------
# hole 17 (roster): 待遇累计 of a person in the database but not in this file; invisible characters
# ---------------------------------------------------------------------------
def test_usage_of_a_person_in_the_database_but_not_in_this_file_is_accepted(clinic):
    a, b = clinic.resident(0), clinic.resident(1)
    res = import_roster(clinic, roster_xlsx(clinic.tmp / "r.xlsx", [clinic.roster_row(a)],
                                            [usage_row(a, "20.00"), usage_row(b, "120.00"),
                                             usage_row("99999999999999", "1.00")]))
    assert res["usage_rows"] == 3 and res["usage_rejected"] == 1, res["errors"]
    (bad,) = res["errors"]
    assert bad["psn_no"] == "99999999999999" and bad["field"] == "人员编号"
    assert clinic.used(a) == "20.00" and clinic.used(b) == "120.00"


def test_invisible_characters_in_a_name_are_stripped(clinic):
    psn = clinic.resident()
    name = clinic.one("SELECT name FROM person WHERE psn_no=?", (psn,))
    dirty = "\ufeff" + name[0] + "\u200b" + name[1:] + "\u00a0\u2060"
    res = import_roster(clinic, roster_xlsx(clinic.tmp / "r.xlsx", [clinic.roster_row(psn, 姓名=dirty)]))
    assert res["rejected"] == 0, res["errors"]
    assert clinic.one("SELECT name FROM person WHERE psn_no=?", (psn,)) == name
    code, out, _ = clinic.cs("lookup", name, "--json")
    assert code == 0 and psn in out


# ---------------------------------------------------------------------------
# hole 3 (import side): a 截至日期 in the future
# ---------------------------------------------------------------------------
def test_a_future_as_of_date_is_a_row_error(clinic):
    psn = clinic.resident()
    before = clinic.one("SELECT as_of FROM person WHERE psn_no=?", (psn,))
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    res = import_roster(clinic, roster_xlsx(clinic.tmp / "r.xlsx", [clinic.roster_row(psn, 截至日期=tomorrow)],
                                            [usage_row(psn, "0.00")]))
    assert res["rejected"] == 1 and res["updated"] == 0
    assert any(e["field"] == "截至日期" and "今天" in e["reason"] for e in res["errors"]), res["errors"]
    assert clinic.one("SELECT as_of FROM person WHERE psn_no=?", (psn,)) == before
    # today itself is allowed
    res = import_roster(clinic, roster_xlsx(clinic.tmp / "r2.xlsx",
                                            [clinic.roster_row(psn, 截至日期=date.today().isoformat())]))
    assert res["rejected"] == 0 and res["updated"] == 1


# ---------------------------------------------------------------------------
# hole 16: a roster on a write-protected USB stick
# ---------------------------------------------------------------------------
def test_roster_from_a_read_only_folder_reports_beside_the_database(clinic):
    stick = clinic.tmp / "usb"
    stick.mkdir()
    good, bad = clinic.roster_row(clinic.resident(0)), clinic.roster_row(clinic.resident(1), 性别="?")
    path = roster_xlsx(stick / "花名册.xlsx", [good, bad])
    with read_only(stick):
        code, out, err = clinic.cs("import-roster", str(path), user="admin")
        assert code == 0, err
        assert "共 2 行" in out and "更新 1 人" in out and "拒绝 1 行" in out, out
        report = clinic.path.parent / "reports" / "花名册_错误报告.xlsx"
        assert f"错误报告：{report}" in out and report.is_file()
        assert list(stick.iterdir()) == [path]


# ---------------------------------------------------------------------------
# holes 4 and 15 in the roster: a comma in an amount, unbounded codes in 待遇累计
# ---------------------------------------------------------------------------
def test_roster_amount_with_a_comma_and_overlong_usage_codes_are_row_errors(clinic):
    a, b = clinic.resident(0), clinic.resident(1)
    usage = [usage_row(a, "1,250.00"), [b, str(date.today().year), "门诊慢特病", "M" * 100, "", "10.00", "", ""],
             [b, str(date.today().year), "治疗性辅助生殖", "", "", "10.00", "X" * 100, "1"],
             usage_row(b, "9" * 30)]  # past what the database stores (integer fen)
    res = import_roster(clinic, roster_xlsx(clinic.tmp / "r.xlsx", [clinic.roster_row(a, 个人账户余额="1,000.00"),
                                                                    clinic.roster_row(b)], usage))
    fields = sorted((e["sheet"], e["field"]) for e in res["errors"])
    assert fields == [("待遇累计", "病种"), ("待遇累计", "统筹已支付"), ("待遇累计", "统筹已支付"), ("待遇累计", "项目编码"),
                      ("花名册", "个人账户余额")]
    money = sorted(e["reason"] for e in res["errors"] if e["field"] in ("统筹已支付", "个人账户余额"))
    assert sum("逗号" in r for r in money) == 2 and sum("数值过大" in r for r in money) == 1, money
    assert clinic.one("SELECT max(length(disease)) FROM usage_snapshot") <= 32
