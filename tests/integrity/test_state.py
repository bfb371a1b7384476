"""#18.2: the state that moves money or rights is under the chain — operators and roles, clinic settings,
account balances and the 待遇累计 usage snapshot. Raw edits are reported; changes through the services are not."""

from decimal import Decimal

from sqlalchemy import select

from desktop_app.services import accounts, audit, ledger, ledger_types, roster, settings
from desktop_app.store import models as m
from tests.cli_run import cs
from tests.integrity.helpers import DAY2, kinds, raw, two_days
from tests.services.test_roster import row, valid_id, write_csv


def test_raw_role_change_is_reported(db):
    raw(db, "UPDATE operator SET role = 'supervisor' WHERE login = 'clerk'")
    r = audit.verify(db, actor="admin")
    assert kinds(r) == ["operators_changed"] and "操作员" in r.problems[0].message


def test_raw_password_hash_swap_is_reported(db):
    raw(db, "UPDATE operator SET password_hash = (SELECT password_hash FROM operator WHERE login = 'clerk') "
            "WHERE login = 'admin'")
    assert kinds(audit.verify(db, actor="admin")) == ["operators_changed"]


def test_raw_operator_insert_or_enable_is_reported(db):
    raw(db, "INSERT INTO operator (login, name, role, password_hash, must_change_password, active, created_at, "
            "failed_logins) SELECT 'evil', 'x', 'supervisor', password_hash, 0, 1, created_at, 0 FROM operator "
            "WHERE login = 'clerk'")
    assert kinds(audit.verify(db, actor="admin")) == ["operators_changed"]


def test_raw_setting_change_is_reported(db):
    raw(db, "UPDATE setting SET value = '1' WHERE key = 'clinic_price_class'")
    r = audit.verify(db, actor="admin")
    assert kinds(r) == ["settings_changed"] and "设置" in r.problems[0].message


def test_raw_setting_insert_is_reported(db):
    raw(db, "INSERT INTO setting (key, value) VALUES ('clinic_art_approved', 'true')")
    assert kinds(audit.verify(db, actor="admin")) == ["settings_changed"]


def test_raw_balance_change_is_reported(db):
    raw(db, "UPDATE person SET acct_balance = acct_balance + 100000 WHERE psn_no = "
            "(SELECT psn_no FROM person ORDER BY psn_no LIMIT 1)")
    r = audit.verify(db, actor="admin")
    assert kinds(r) == ["roster_changed"] and "花名册" in r.problems[0].message


def test_raw_usage_snapshot_change_is_reported(db):
    raw(db, "UPDATE usage_snapshot SET fund_paid = 0 WHERE id = (SELECT MIN(id) FROM usage_snapshot)")
    assert kinds(audit.verify(db, actor="admin")) == ["roster_changed"]
    raw(db, "DELETE FROM usage_snapshot")
    assert kinds(audit.verify(db, actor="admin")) == ["roster_changed"]


def test_raw_person_category_change_is_reported(db):
    raw(db, "UPDATE person SET category = 'low_income' WHERE psn_no = (SELECT MIN(psn_no) FROM person)")
    assert kinds(audit.verify(db, actor="admin")) == ["roster_changed"]


def test_a_tamper_is_not_blessed_by_the_next_legitimate_change(db):
    raw(db, "UPDATE operator SET role = 'supervisor' WHERE login = 'clerk'")
    accounts.create_operator(db, "wang", "王五", "clerk", "password-1", actor="admin")
    assert "operators_changed" in kinds(audit.verify(db, actor="admin"))
    raw(db, "UPDATE setting SET value = '1' WHERE key = 'clinic_price_class'")
    settings.save(db, {"receipt_format": "80mm"}, actor="admin")
    assert "settings_changed" in kinds(audit.verify(db, actor="admin"))


def test_changes_through_the_services_verify_clean(db, tmp_path):
    accounts.create_operator(db, "wang", "王五", "clerk", "password-1", actor="admin")
    accounts.change_password(db, "wang", "password-2", actor="admin")
    accounts.change_password(db, "wang", "password-3", actor="wang")
    accounts.set_active(db, "wang", False, actor="admin")
    accounts.set_active(db, "wang", True, actor="admin")
    for _ in range(accounts.MAX_FAILURES):  # lockout counters are not part of the digest
        try:
            accounts.login(db, "clerk", "wrong")
        except accounts.AuthError:
            pass
    settings.save(db, {"clinic_price_class": "2", "receipt_format": "80mm"}, actor="admin")
    settings.save(db, {"clinic_price_class": "3"}, actor="admin")
    two_days(db)
    # a settlement that uses the personal account changes a balance; its reversal gives it back
    with db.read() as s:
        p = s.execute(select(m.Person).where(m.Person.insutype == "310", m.Person.acct_balance > Decimal("50"))
                      .order_by(m.Person.psn_no).limit(1)).scalar_one()
    settings.save(db, {"clinic_level": "city", "clinic_price_class": "1", "clinic_art_approved": "true"},
                  actor="admin")  # an approved institution (a visit cannot name another one: #12 hole 1)
    v = ledger_types.VisitInput(p.psn_no, DAY2, "assisted_reproduction",
                          [ledger_types.ItemInput("311201045", "1", price="800.00", kind="service", chrgitm_lv="01")])
    rec = ledger.settle(db, v, operator="clerk", today=DAY2)
    assert rec.result["acct_pay"] != "0.00"
    r = audit.verify(db, actor="admin")
    assert r.ok, r.problems
    ledger.reverse(db, rec.setl_no, reason="退费", operator="clerk", today=DAY2)
    rec2 = ledger.settle(db, v, operator="clerk", today=DAY2)
    # a roster import updating that person (new balance) and adding one
    f = write_csv(tmp_path / "r.csv", [row("P900001", valid_id(seed=11), bal="12.34"),
                                       row(p.psn_no, p.id_no, name=p.name, gender=p.gender,
                                           birth=p.birth_date.isoformat(), insutype="310", cat="在职",
                                           admdvs=p.admdvs, bal="99.99")])
    res = roster.import_roster(db, f, actor="admin")
    assert res.inserted == 1 and res.updated == 1, res.errors
    r = audit.verify(db, actor="admin")
    assert r.ok, r.problems
    ledger.reverse(db, rec2.setl_no, reason="退费", operator="clerk", today=DAY2)
    r = audit.verify(db, actor="admin")
    assert r.ok, r.problems


def test_cli_verify_reports_a_raw_role_change(db):
    raw(db, "UPDATE operator SET role = 'supervisor' WHERE login = 'clerk'")
    code, out, _ = cs("audit", "verify", "--db", str(db.path), user="admin")
    assert code == 1 and "操作员" in out
