"""The insurance catalogue (医保目录) and the clinic's price list (本机构收费目录), imported from real files
the way a clinic would, and visits settled from them (#15)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from desktop_app.services import catalogue, ledger, ledger_types, prices
from desktop_app.services.catalogue_import import import_catalogue
from desktop_app.services.roster import read_error_report
from desktop_app.services.roster_files import RosterError
from desktop_app.store import models as m
from tests.services.catalogue_files import CAT_HEADER, PRICE_HEADER, write_csv, write_xlsx

TODAY = date(2026, 11, 23)
V = ledger_types.VisitInput
I = ledger_types.ItemInput  # noqa: E741
CEFU = "XJ01DCA030A001"  # 头孢呋辛酯片 in the demo price list: 乙类, 支付标准 22.00, 23.80 a box
CEFU_INS = "XJ01DCA030A001010100002"

GOOD = [
    ["XA0001", "阿莫西林胶囊", "101", "01", "", "", "", "2024-01-01", ""],
    ["XA0002", "头孢呋辛酯片", "101", "乙", "22.00", "", "", "2024-01-01", ""],
    ["YP0001", "黄芪", "102", "02", "0.1234", "", "141100", "2024-01-01", "2030-01-01"],
    ["S0001", "普通门诊诊查费", "201", "甲类", "", "", "", "2024-01-01", ""],
    ["C0001", "一次性输液器", "301", "03", "", "限门诊输液", "", "2024-01-01", ""],
]


def catalogue_rows(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(m.InsCatalogueRow)).scalar()


def audit_actions(db) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(m.AuditEntry.action).order_by(m.AuditEntry.id)).scalars())


def resident(db):
    with db.read() as s:
        return s.execute(select(m.Person).where(m.Person.insutype == "390", m.Person.admdvs == "141102",
                                                m.Person.category == "resident").order_by(m.Person.psn_no)
                         .limit(1)).scalar_one()


def test_good_xlsx_catalogue_is_imported_with_an_audit_entry(empty_db, tmp_path):
    path = write_xlsx(tmp_path / "目录.xlsx", CAT_HEADER, GOOD)
    dry = import_catalogue(empty_db, path, actor="admin", dry_run=True)
    assert (dry.rows, dry.inserted, dry.rejected, dry.written) == (5, 5, 0, False)
    assert catalogue_rows(empty_db) == 0
    res = import_catalogue(empty_db, path, actor="admin")
    assert (res.rows, res.inserted, res.rejected, res.written, res.report_path) == (5, 5, 0, True, None)
    assert "catalogue_import" in audit_actions(empty_db)
    with pytest.raises(RosterError, match="已经导入过"):  # the same file twice: refused, nothing doubled
        import_catalogue(empty_db, path, actor="admin")
    assert catalogue_rows(empty_db) == 5
    hit = catalogue.search_catalogue(empty_db, "hq", on=date(2025, 1, 1))  # pinyin initials of 黄芪
    assert [(h.code, h.class_label, h.pay_std, h.admdvs) for h in hit] == [("YP0001", "乙类", "0.1234", "141100")]
    assert catalogue.search_catalogue(empty_db, "XA000", on=date(2025, 1, 1))[1].chrgitm_lv == "02"
    assert catalogue.search_catalogue(empty_db, "输液", on=date(2025, 1, 1))[0].limit_text == "限门诊输液"


BAD_ROWS = [  # (row, field, words in the reason)
    (["", "无编码", "101", "01", "", "", "", "2024-01-01", ""], "医保目录编码", "为空"),
    (["1.4E+17", "科学计数", "101", "01", "", "", "", "2024-01-01", ""], "医保目录编码", "科学计数法"),
    (["X 01", "空格", "101", "01", "", "", "", "2024-01-01", ""], "医保目录编码", "非法字符"),
    (["X02", "", "101", "01", "", "", "", "2024-01-01", ""], "医保目录名称", "为空"),
    (["X03", "=HYPERLINK(\"x\")", "101", "01", "", "", "", "2024-01-01", ""], "医保目录名称", "公式"),
    (["X04", "类别错", "401", "01", "", "", "", "2024-01-01", ""], "目录类别", "101"),
    (["X05", "等级错", "101", "丁", "", "", "", "2024-01-01", ""], "收费项目等级", "甲类"),
    (["X06", "负标准", "101", "02", "-1", "", "", "2024-01-01", ""], "支付标准", "大于"),
    (["X07", "逗号", "101", "02", "1,5", "", "", "2024-01-01", ""], "支付标准", "逗号"),
    (["X08", "文字", "101", "02", "十元", "", "", "2024-01-01", ""], "支付标准", "不是数字"),
    (["X09", "区划", "101", "01", "", "", "1411", "2024-01-01", ""], "医保区划", "6位"),
    (["X10", "无日期", "101", "01", "", "", "", "", ""], "开始日期", "为空"),
    (["X11", "坏日期", "101", "01", "", "", "", "2024-02-30", ""], "开始日期", "不是有效日期"),
    (["X12", "倒置", "101", "01", "", "", "", "2024-05-01", "2024-05-01"], "结束日期", "须晚于"),
    (["XA0001", "重叠", "101", "01", "", "", "", "2024-06-01", ""], "开始日期", "重叠"),
]


def test_every_bad_catalogue_row_is_reported_and_nothing_is_imported(empty_db, tmp_path):
    rows = GOOD + [r for r, _f, _w in BAD_ROWS]
    path = write_csv(tmp_path / "坏目录.csv", CAT_HEADER, rows)
    res = import_catalogue(empty_db, path, actor="admin")
    assert res.written is False and res.rejected == len(BAD_ROWS)
    assert catalogue_rows(empty_db) == 0 and "catalogue_import" not in audit_actions(empty_db)
    report = read_error_report(res.report_path)
    assert [(e.row, e.field) for e in report] == [(len(GOOD) + 2 + i, f) for i, (_r, f, _w) in enumerate(BAD_ROWS)]
    for e, (_r, _f, words) in zip(report, BAD_ROWS, strict=True):
        assert words in e.reason, (e.row, e.reason)


def test_excel_numbers_and_formula_cells_in_an_xlsx_are_row_errors(empty_db, tmp_path):
    rows = GOOD + [[311201045, "数字编码", "201", "01", "", "", "", "2024-01-01", ""],
                   ["X20", "公式标准", "101", "02", "", "", "", "2024-01-01", ""]]
    path = write_xlsx(tmp_path / "公式.xlsx", CAT_HEADER, rows, formulas={"E8": "=2*11"})
    res = import_catalogue(empty_db, path, actor="admin")
    assert res.written is False and catalogue_rows(empty_db) == 0
    got = {e.row: e.reason for e in res.errors}
    assert set(got) == {7, 8}
    assert "存成了数字" in got[7] and "E8" in got[8] and "公式" in got[8]


def test_gbk_csv_catalogue_is_read(empty_db, tmp_path):
    path = write_csv(tmp_path / "省目录.csv", CAT_HEADER, GOOD, encoding="gbk")
    res = import_catalogue(empty_db, path, actor="admin")
    assert res.written and res.inserted == 5 and "GBK" in res.encoding_note
    assert catalogue.search_catalogue(empty_db, "黄芪", on=date(2025, 1, 1))[0].name == "黄芪"


def test_a_file_that_cannot_be_read_changes_nothing_and_a_clerk_cannot_import(db, tmp_path):
    before = catalogue_rows(db)
    with pytest.raises(RosterError, match="缺少列"):
        import_catalogue(db, write_csv(tmp_path / "缺列.csv", CAT_HEADER[:3], [r[:3] for r in GOOD]), actor="admin")
    with pytest.raises(RosterError, match="不支持"):
        import_catalogue(db, write_csv(tmp_path / "目录.txt", CAT_HEADER, GOOD), actor="admin")
    with pytest.raises(RosterError, match="只有管理员"):
        import_catalogue(db, write_csv(tmp_path / "目录.csv", CAT_HEADER, GOOD), actor="clerk")
    assert catalogue_rows(db) == before


def _settle(db, psn, day, code=CEFU, qty="1"):
    return ledger.settle(db, V(psn, day, "general_outpatient", [I(code, qty)]), operator="clerk", today=TODAY)


def test_class_change_from_yi_to_jia_splits_visits_by_date(db, tmp_path):
    p = resident(db)
    before = _settle(db, p.psn_no, TODAY - timedelta(days=20))  # settled under 乙类 before the new catalogue
    assert before.items[0]["chrgitm_lv"] == "02" and before.result["preselfpay_amt"] != "0.00"
    change = TODAY - timedelta(days=10)
    path = write_csv(tmp_path / "新目录.csv", CAT_HEADER,
                     [[CEFU_INS, "头孢呋辛酯片", "101", "甲", "22.00", "", "", change.isoformat(), ""]])
    res = import_catalogue(db, path, actor="admin")
    assert res.written and res.superseded == 1
    early = _settle(db, p.psn_no, change - timedelta(days=1))
    late = _settle(db, p.psn_no, change)
    assert early.items[0]["chrgitm_lv"] == "02" and early.result["preselfpay_amt"] != "0.00"
    assert late.items[0]["chrgitm_lv"] == "01" and late.result["preselfpay_amt"] == "0.00"
    assert ledger.get(db, before.setl_no).items[0]["chrgitm_lv"] == "02"  # a settled visit keeps its class
    assert [e.chrgitm_lv for e in catalogue.catalogue_history(db, CEFU_INS)] == ["02", "01"]  # history kept


def test_price_change_dated_tomorrow_does_not_affect_today(db):
    p = resident(db)
    tomorrow = TODAY + timedelta(days=1)
    prices.change_price(db, CEFU, "30.00", tomorrow, actor="admin", today=TODAY)
    today_visit = _settle(db, p.psn_no, TODAY)
    assert today_visit.items[0]["price"] == "23.80"
    assert [i.price for i in catalogue.search_items(db, CEFU, on=tomorrow)] == ["30.00"]
    with pytest.raises(prices.PriceListError, match="早于今天"):
        prices.change_price(db, CEFU, "1.00", TODAY - timedelta(days=1), actor="admin", today=TODAY)
    with pytest.raises(prices.PriceListError, match="只有管理员"):
        prices.change_price(db, CEFU, "1.00", tomorrow, actor="clerk", today=TODAY)


def test_unmapped_item_settles_as_self_pay_with_the_notice_on_the_receipt(db, tmp_path):
    from desktop_app.services.settling import settle_and_save_receipt
    from tests.cli.test_cli_receipt import text as pdf_text

    prices.add_item(db, {"机构项目编码": "ZF001", "机构项目名称": "代煎中药", "单位": "剂", "单价": "5.00",
                         "收费类别": "其他费", "开始日期": "2026-01-01"}, actor="admin", today=TODAY)
    p = resident(db)
    done = settle_and_save_receipt(db, V(p.psn_no, TODAY, "general_outpatient", [I("ZF001", "2"), I(CEFU, "1")]),
                                   token=None, operator="clerk", receipts_dir=tmp_path)
    r = done.record.result
    assert r["items"][0]["fulamt_ownpay_amt"] == "10.00" and done.record.items[0]["chrgitm_lv"] == "03"
    notice = next(n for n in r["notices"] if n["code"] == "item_not_mapped")
    assert "代煎中药" in notice["message"] and "全自费" in notice["message"]
    assert "代煎中药未纳入医保，按全自费结算" in pdf_text(done.receipt)  # (the instruction to map it: on screen only)


def test_expired_mapping_settles_as_self_pay_and_limits_are_a_notice(db, tmp_path):
    p = resident(db)
    end = TODAY - timedelta(days=3)
    import_catalogue(db, write_csv(tmp_path / "止.csv", CAT_HEADER, [
        [CEFU_INS, "头孢呋辛酯片", "101", "02", "22.00", "限二线用药", "", "2020-01-01", end.isoformat()]]),
        actor="admin")
    inside = _settle(db, p.psn_no, end - timedelta(days=1))
    assert [n["code"] for n in inside.result["notices"]] == ["item_payment_limit"]
    assert "限二线用药" in inside.result["notices"][0]["message"]
    after = _settle(db, p.psn_no, end)
    assert after.items[0]["chrgitm_lv"] == "03" and after.result["fulamt_ownpay_amt"] == "23.80"
    assert [n["code"] for n in after.result["notices"]] == ["item_mapping_expired"]
    assert CEFU in catalogue.counts(db, on=end).expired


def test_a_line_cannot_override_the_lists_and_a_stopped_item_is_refused(db):
    p = resident(db)
    for given, field in (({"price": "1.00"}, "items[0].price"), ({"chrgitm_lv": "01"}, "items[0].chrgitm_lv")):
        with pytest.raises(ledger_types.LedgerError) as exc:
            ledger.settle(db, V(p.psn_no, TODAY, "general_outpatient", [I(CEFU, "1", **given)]), operator="clerk",
                          today=TODAY)
        assert exc.value.field == field
    prices.set_active(db, CEFU, False, actor="admin")
    with pytest.raises(ledger_types.LedgerError, match="已停用"):
        _settle(db, p.psn_no, TODAY)
    assert CEFU not in [i.code for i in catalogue.search_items(db, "XJ01")]
    assert audit_actions(db)[-1] == "price_item_stop"


def test_price_list_import_export_round_trip_and_bad_rows(db, tmp_path):
    out = tmp_path / "导出.xlsx"
    n = prices.export_prices(db, out, on=TODAY)
    assert n == len(catalogue.all_items(db, TODAY))
    again = prices.import_prices(db, out, actor="admin", today=TODAY)
    assert (again.written, again.inserted, again.updated, again.price_changes, again.rejected) == (True, 0, 0, 0, 0)
    bad = write_csv(tmp_path / "坏价格.csv", PRICE_HEADER, [
        ["N1", "新项目", "", "次", "5.00", "治疗费", "", ""],
        ["N1", "重复", "", "次", "5.00", "治疗费", "", ""],
        ["N2", "类别错", "", "次", "5.00", "一般诊疗费", "", ""],
        ["N3", "无价", "", "次", "", "治疗费", "", ""],
        ["N4", "未知目录", "", "次", "5.00", "治疗费", "NOSUCHCODE", ""],
        [CEFU, "头孢呋辛酯片", "", "盒", "25.00", "西药费", CEFU_INS, "2026-01-01"],  # a price change in the past
    ])
    res = prices.import_prices(db, bad, actor="admin", today=TODAY)
    assert res.written is False
    assert [(e.row, e.field) for e in res.errors] == [(3, "机构项目编码"), (4, "收费类别"), (5, "单价"),
                                                     (6, "医保目录编码"), (7, "开始日期")]
    assert catalogue.search_items(db, "N1") == [] and catalogue.search_items(db, CEFU)[0].price == "23.80"


def test_hostile_catalogue_files_are_refused_whole(empty_db, tmp_path):
    """The roster's guards: a link, UTF-16 text, a file renamed .xlsx, binary content — refused, nothing read."""
    good = write_csv(tmp_path / "真目录.csv", CAT_HEADER, GOOD)
    link = tmp_path / "链接.csv"
    link.symlink_to(good)
    utf16 = tmp_path / "unicode.csv"
    utf16.write_bytes("\n".join(",".join(r) for r in [CAT_HEADER, *GOOD]).encode("utf-16"))
    fake = tmp_path / "假.xlsx"
    fake.write_bytes(b"this is not a workbook")
    binary = tmp_path / "二进制.csv"
    binary.write_bytes(b"\x00\x01" * 100)
    for path, words in ((link, "符号链接"), (utf16, "UTF-16"), (fake, "不是有效的 Excel"), (binary, "二进制")):
        with pytest.raises(RosterError, match=words):
            import_catalogue(empty_db, path, actor="admin")
    assert catalogue_rows(empty_db) == 0
