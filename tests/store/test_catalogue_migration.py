"""Upgrading a database made by the earlier code (revision 0003, price list with its own classes) to the
catalogue schema (#15): every item keeps settling exactly as before, settled visits are untouched."""

import json
import sqlite3
from datetime import timedelta

from sqlalchemy import select

from desktop_app.services import catalogue, ledger, ledger_types
from desktop_app.store import models as m
from desktop_app.store.db import SCHEMA_HEAD, open_db
from tests.integrity.conftest import v1_db_path  # noqa: F401  (the fixture: a copy of data/v1.sqlite3.gz)


def test_upgrade_maps_each_old_item_onto_its_own_catalogue_row(v1_db_path):  # noqa: F811
    con = sqlite3.connect(v1_db_path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
    old = {r[0]: r[1:] for r in con.execute("SELECT code, kind, chrgitm_lv, price, pay_std, fee_category FROM clinic_item")}
    settled = con.execute("SELECT setl_no, result_json FROM settlement ORDER BY id").fetchall()
    con.close()
    assert old and settled
    d = open_db(v1_db_path)
    try:
        assert d.schema_version() == SCHEMA_HEAD
        infos = {i.code: i for i in catalogue.all_items(d, include_stopped=True)}
        assert set(infos) == set(old)
        for code, (kind, lv, price, pay_std, fee) in old.items():
            i = infos[code]
            assert (i.kind, i.chrgitm_lv, i.price, i.pay_std, i.ins_code, i.status) == \
                (kind, lv, price, pay_std, code, "mapped")
            assert i.fee_category == {"一般诊疗费": "诊查费", "中药饮片": "中药饮片费"}.get(fee, fee)
        with d.read() as s:
            for setl_no, result_json in settled:  # never rewritten
                st = s.execute(select(m.Settlement).where(m.Settlement.setl_no == setl_no)).scalar_one()
                assert st.result_json == result_json
            first = s.execute(select(m.Settlement).where(m.Settlement.kind == "settle").order_by(m.Settlement.id)
                              ).scalars().first()
            lines = [ledger_types.ItemInput(i.code, i.qty) for i in first.items]
            visit = ledger_types.VisitInput(first.psn_no, first.visit_date, first.benefit, lines,
                                            disease=first.disease or None)
            day, stored = first.business_date, json.loads(first.result_json)
        # the same visit, from the migrated lists, gives the stored figures (the history now includes itself,
        # so compare the split of the bill, which history does not change)
        again = ledger.presettle(d, visit, operator="admin", today=day + timedelta(days=30)).result
        for f in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
            assert again[f] == stored[f], f
    finally:
        d.dispose()
