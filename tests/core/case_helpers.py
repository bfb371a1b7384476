"""Shared helpers for the hand-worked policy case tables (tests/core/test_cases_*.py).

Every expected figure in those tables is worked by hand from the document text
(quoted at the top of each case file) and docs/policy-notes.md, never copied from engine output.

- `claim(...)`  builds a contract claim dict with defaults (money as strings);
- `item(...)`, `hist(...)` build claim lines and history entries;
- `ok(...)`, `err(...)` build the expected outcome of a case;
- `case(...)` wraps one row of a table as a `pytest.param`;
- `run_case(...)` runs the claim in-process and checks the expectation, the
  contract identities and the trace bases.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pytest

from desktop_app.core.calc import calc_one
from desktop_app.core.pack_files import load_policy

MONEY_FIELDS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "fund_pay_sumamt", "psn_part_amt",
    "acct_pay", "acct_mulaid_pay", "psn_cash_pay",
)
ITEM_MONEY_FIELDS = ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt",
                     "inscp_scp_amt")
_MONEY_RE = re.compile(r"^\d+\.\d{2}$")
_RATIO_RE = re.compile(r"^\d+\.\d{4}$")
_DOC_RE = re.compile(r"\S+?〔\d{4}〕\d+号")

D = Decimal


def policy(extra=()):
    """The shipped packs (plus `extra` --pack paths); cached by `load_policy`."""
    return load_policy(list(extra))


# ----------------------------------------------------------------------------
# claim builders
# ----------------------------------------------------------------------------
def item(code: str, kind: str, lv: str, qty: str, price: str, pay_std: str | None = None,
         name: str | None = None) -> dict:
    it = {"code": code, "kind": kind, "chrgitm_lv": lv, "qty": qty, "price": price}
    if pay_std is not None:
        it["pay_std"] = pay_std
    if name is not None:
        it["name"] = name
    return it


def hist(date: str, benefit: str = "general_outpatient", hifp: str = "0.00", dedc: str = "0.00",
         institution: str = "H14010000001", disease: str | None = None,
         items: list[tuple[str, str]] | None = None) -> dict:
    h = {"date": date, "institution": institution, "benefit": benefit, "disease": disease,
         "hifp_pay": hifp, "act_pay_dedc": dedc}
    if items is not None:
        h["items"] = [{"code": c, "qty": q} for c, q in items]
    return h


DEFAULT_INSURED = {"insutype": "390", "category": "resident", "admdvs": "140100",
                   "family_doctor_at": None, "registered_diseases": [], "contribution": None,
                   "acct_balance": "0.00"}
DEFAULT_INSTITUTION = {"code": "H14010000001", "admdvs": "140100", "level": "primary",
                       "price_class": 3, "art_approved": False, "designated_diseases": []}


def claim(items: list[dict], *, date: str = "2024-03-01", benefit: str = "general_outpatient",
          insured: dict | None = None, institution: dict | None = None,
          history: list[dict] | None = None, base_insured: dict | None = None,
          base_institution: dict | None = None, **extra) -> dict:
    """A contract claim: defaults (太原 resident at a 三类 primary clinic) overridden field by field."""
    ins = dict(base_insured or DEFAULT_INSURED)
    ins.update(insured or {})
    inst = dict(base_institution or DEFAULT_INSTITUTION)
    inst.update(institution or {})
    c = {"date": date, "benefit": benefit, "insured": ins, "institution": inst,
         "items": items, "history": history or []}
    c.update(extra)
    return c


# ----------------------------------------------------------------------------
# expectations
# ----------------------------------------------------------------------------
def ok(*, medfee: str, inscp: str, hifp: str, cash: str, ratio: str | None,
       ful: str = "0.00", over: str = "0.00", pre: str = "0.00", dedc: str = "0.00",
       hifmi: str = "0.00", hifob: str = "0.00", acct: str = "0.00", mulaid: str = "0.00",
       notices: tuple[str, ...] | list[str] = (), trace_has: tuple = (),
       items: dict | None = None) -> dict:
    """Expected computed result (exit 0).

    `ratio=None` means pool_prop_selfpay is not asserted (used where the fund is
    blocked for the whole claim and the contract does not say which ratio to show).
    `fund_pay_sumamt` = hifp + hifmi + hifob and `psn_part_amt` = medfee − fund
    (the contract's definitions), worked here from the hand figures.
    `trace_has`: (step, value-or-None) pairs that must appear in the trace.
    `items`: {code: {field: value}} per-line expectations.
    """
    fund = D(hifp) + D(hifmi) + D(hifob)
    psn = D(medfee) - fund
    return {
        "exit": 0,
        "medfee_sumamt": medfee, "fulamt_ownpay_amt": ful, "overlmt_selfpay": over,
        "preselfpay_amt": pre, "inscp_scp_amt": inscp, "act_pay_dedc": dedc,
        "pool_prop_selfpay": ratio, "hifp_pay": hifp, "hifmi_pay": hifmi, "hifob_pay": hifob,
        "fund_pay_sumamt": f"{fund:.2f}", "psn_part_amt": f"{psn:.2f}",
        "acct_pay": acct, "acct_mulaid_pay": mulaid, "psn_cash_pay": cash,
        "notices": sorted(notices), "trace_has": tuple(trace_has), "items": items or {},
    }


def err(exit_code: int, code: str, *, parameter: str | set[str] | None = None,
        field: str | None = None) -> dict:
    """Expected error (exit 2 or 3) with its code, and the parameter / field it names."""
    return {"exit": exit_code, "error": code, "parameter": parameter, "field": field}


def case(cid: str, clause: str, claim_dict: dict, expected: dict, *, xfail: str | None = None):
    """One row of a case table. `clause` is the document clause the case tests."""
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    exp = dict(expected, clause=clause)
    return pytest.param(claim_dict, exp, id=cid, marks=marks)


# ----------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------
def check_identities(res: dict) -> None:
    """The contract's identities, on the rounded figures, and the trace's bases."""
    for f in MONEY_FIELDS:
        assert _MONEY_RE.match(res[f]), f"{f} = {res[f]!r} is not a 2-decimal money string"
    assert _RATIO_RE.match(res["pool_prop_selfpay"]), res["pool_prop_selfpay"]
    m = {f: D(res[f]) for f in MONEY_FIELDS}
    assert m["psn_part_amt"] == m["medfee_sumamt"] - m["fund_pay_sumamt"], "psn_part ≠ medfee − fund"
    assert m["psn_part_amt"] == m["acct_pay"] + m["acct_mulaid_pay"] + m["psn_cash_pay"], \
        "psn_part ≠ acct + mulaid + cash"
    assert m["medfee_sumamt"] == (m["fulamt_ownpay_amt"] + m["overlmt_selfpay"] + m["preselfpay_amt"]
                                  + m["inscp_scp_amt"]), "medfee ≠ fulamt + overlmt + preselfpay + inscp"
    assert m["fund_pay_sumamt"] == m["hifp_pay"] + m["hifmi_pay"] + m["hifob_pay"], \
        "fund ≠ hifp + hifmi + hifob"
    for f, v in m.items():
        assert v >= 0, f"{f} is negative: {v}"
    # per line: the five parts add up, and the lines add up to the totals
    tot = dict.fromkeys(ITEM_MONEY_FIELDS, D(0))
    for it in res["items"]:
        v = {f: D(it[f]) for f in ITEM_MONEY_FIELDS}
        for f in ITEM_MONEY_FIELDS:
            assert _MONEY_RE.match(it[f]), (it["code"], f, it[f])
            tot[f] += v[f]
        assert v["det_item_fee_sumamt"] == (v["fulamt_ownpay_amt"] + v["overlmt_amt"]
                                            + v["preselfpay_amt"] + v["inscp_scp_amt"]), it
    assert tot["det_item_fee_sumamt"] == m["medfee_sumamt"]
    assert tot["fulamt_ownpay_amt"] == m["fulamt_ownpay_amt"]
    assert tot["overlmt_amt"] == m["overlmt_selfpay"]
    assert tot["preselfpay_amt"] == m["preselfpay_amt"]
    assert tot["inscp_scp_amt"] == m["inscp_scp_amt"]
    for t in res["trace"]:
        assert isinstance(t.get("basis"), str) and t["basis"].strip(), f"trace step without basis: {t}"
    for n in res["notices"]:
        assert n["message"].strip(), f"notice without message: {n}"


def run_case(claim_dict: dict, exp: dict, pol=None) -> dict:
    code, res = calc_one(copy.deepcopy(claim_dict), pol if pol is not None else policy())
    if exp["exit"] != 0:
        assert code == exp["exit"], f"exit {code}, expected {exp['exit']}: {res}"
        e = res["error"]
        assert e["code"] == exp["error"], e
        assert e["message"].strip()
        if exp["error"] == "no_policy_in_force":
            assert claim_dict["date"] in e["message"], "the message must name the date"
        if exp.get("parameter") is not None:
            want = exp["parameter"]
            allowed = {want} if isinstance(want, str) else set(want)
            assert e.get("parameter") in allowed, f"parameter {e.get('parameter')!r} not in {allowed}"
        if exp.get("field") is not None:
            assert e.get("field") == exp["field"], e
        return res
    assert code == 0, f"exit {code}: {res}"
    check_identities(res)
    wrong = {}
    for f in (*MONEY_FIELDS, "pool_prop_selfpay"):
        if exp[f] is not None and res[f] != exp[f]:
            wrong[f] = f"expected {exp[f]}, engine {res[f]}"
    got_notices = sorted(n["code"] for n in res["notices"])
    if got_notices != exp["notices"]:
        wrong["notices"] = f"expected {exp['notices']}, engine {got_notices}"
    lines = {}
    for it in res["items"]:
        lines.setdefault(it["code"], it)
    for code_, fields in exp["items"].items():
        for f, v in fields.items():
            if lines[code_][f] != v:
                wrong[f"items[{code_}].{f}"] = f"expected {v}, engine {lines[code_][f]}"
    for step, value in exp["trace_has"]:
        if not any(t["step"] == step and (value is None or t["value"] == value) for t in res["trace"]):
            wrong[f"trace:{step}"] = f"expected a step {step!r} with value {value!r}; trace {res['trace']}"
    # the document of the clause under test is cited by a trace step (or a notice)
    doc = _DOC_RE.match(exp["clause"])
    if doc and not (any(doc.group(0) in t["basis"] for t in res["trace"])
                    or any(doc.group(0) in n["message"] for n in res["notices"])):
        wrong["trace:basis"] = f"no trace step or notice cites {doc.group(0)}"
    assert not wrong, wrong
    return res
