"""Property tests of the settlement engine (hypothesis), on the contract's JSON.

Strategies build valid claim dicts for situations the shipped packs cover
(so every claim must compute, exit 0), with random items and histories:

- 山西 resident (390) general outpatient, 2024–2025, 太原/忻州/吕梁/芮城 参保,
  at home, 省内异地 or 跨省, any level and price class, family-doctor or not;
- 洛阳 resident / student general outpatient, 2024–2025, with waiting periods,
  same-day histories (once-a-day deductible) and the personal account;
- 山西 assisted reproduction (310/390), 2024-10-01 – 2025-12-31, catalogue and
  other codes, item-count histories;
- 山西 肝豆状核变性 M01904 (310/390), 2024-05-01 – 2025-12-31 (吕梁 quarterly caps);
- 洛阳 resident maternity delivery (限额支付).

Properties, all checked on the output strings with `Decimal` (never float):
the contract identities and per-item sums, two-decimal money, no negative
amount, fund within the remaining annual (and quarterly) cap — and exactly
min(uncapped, remaining) —, the 3-units-per-item rule of assisted reproduction,
monotonicity when an item is added, and independence from the order of history
entries. Money strategies are built from integers (cents); hypothesis
settings: max_examples=200, deadline=None.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.core.calc import calc_one
from desktop_app.core.model import ITEM_MONEY_FIELDS, MONEY_FIELDS
from desktop_app.core.pack_files import load_policy

POLICY = load_policy()
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

D = Decimal
ZERO = D("0.00")
MONEY_RE = re.compile(r"^\d+\.\d{2}$")
RATIO_RE = re.compile(r"^\d+\.\d{4}$")

SHANXI = ("140100", "140902", "141102", "140830")
AR_CATALOGUE = (  # resources/policy_packs/cn-140000-shanxi/items.csv
    "311100006", "311100006-1", "311100019", "311201037", "311201040", "311201040-1",
    "311201041", "311201041-1", "311201042", "311201042-1", "311201045", "311201045-1",
    "311201063",
)
PLAIN_CODES = ("XA01", "XA02", "XB01", "XB02", "XS01", "XS02", "XM01", "XM02")
BENEFITS = ("general_outpatient", "chronic_special", "assisted_reproduction",
            "two_diseases", "maternity_delivery")
RELATIONS = ("spouse", "parent", "child", "sibling", "grandparent", "grandchild", "other")


# ---------------------------------------------------------------------------
# value strategies (strings built from integers: no float anywhere)
# ---------------------------------------------------------------------------
def cents(lo: int, hi: int) -> st.SearchStrategy[str]:
    """A money string with exactly two decimals, lo..hi cents."""
    return st.integers(lo, hi).map(lambda c: str(D(c).scaleb(-2)))


def price_str(hi_cents: int) -> st.SearchStrategy[str]:
    """Two decimals (often whole dimes, where 5%/10% shares land on half-cents);
    sometimes four (the contract allows up to 4 on prices)."""
    return st.one_of(cents(0, hi_cents),
                     st.integers(0, hi_cents // 10).map(lambda c: str(D(c * 10).scaleb(-2))),
                     st.integers(0, hi_cents * 100).map(lambda c: str(D(c).scaleb(-4))))


QTY = st.one_of(
    st.integers(1, 6).map(str),
    st.integers(1, 100_000).map(lambda c: str(D(c).scaleb(-4))),  # 0.0001 .. 10.0000
)


def inst_code(admdvs: str) -> st.SearchStrategy[str]:
    return st.integers(1, 5).map(lambda n: f"H{admdvs}{n:05d}")


@st.composite
def item(draw, codes=PLAIN_CODES, lv=None, hi_cents=50_000, kinds=("drug", "service", "material"), ar=False):
    price = draw(price_str(hi_cents))
    pay_std = draw(st.one_of(st.none(), price_str(hi_cents)))
    code = draw(st.one_of(st.sampled_from(codes), AR_CODE) if ar else st.sampled_from(codes))
    return {
        "code": code,
        "name": "项目",
        "kind": draw(st.sampled_from(kinds)),
        "chrgitm_lv": lv if lv is not None else draw(st.sampled_from(("01", "02", "03"))),
        "qty": draw(QTY),
        "price": price,
        "pay_std": pay_std,
    }


@st.composite
def history(draw, day: date, benefit: str, inst: str, *, hifp_hi=20_000, near=(), ar=False, since=None):
    """0–10 entries dated on or before `day`, of the same year (or from `since`, earlier years too:
    lifetime item counts); `near`: cap amounts (cents) that an entry's fund payment often comes close
    to, so caps bind."""
    jan1 = date(day.year, 1, 1) if since is None else min(since, day)
    recent = max(jan1, day - timedelta(days=45))  # often the same quarter (吕梁 quarterly caps)
    out = []
    for _ in range(draw(st.integers(0, 10))):
        hb = draw(st.sampled_from((benefit, benefit, benefit, *BENEFITS)))
        hd = None
        if hb == "chronic_special":
            hd = draw(st.sampled_from(("M01904", "M01904", "M00700")))
        entry = {
            "date": draw(st.one_of(st.dates(min_value=jan1, max_value=day),
                                   st.dates(min_value=recent, max_value=day),
                                   st.just(day))).isoformat(),
            "institution": draw(st.sampled_from((inst, inst, "H41030000009", "H14010000009"))),
            "benefit": hb,
            "disease": hd,
            "hifp_pay": draw(st.one_of(
                cents(0, hifp_hi), cents(hifp_hi // 2, hifp_hi),
                *([st.sampled_from(near).flatmap(lambda a: cents(max(0, a - 5_000), a))] if near else []))),
            "act_pay_dedc": draw(st.sampled_from(("0.00", "0.00", "50.00", "80.00", "30.00"))),
        }
        if ar or hb == "assisted_reproduction":
            entry["items"] = draw(st.lists(
                st.fixed_dictionaries({"code": AR_CODE, "qty": st.integers(1, 3).map(str)},
                                      optional={"fund_paid": st.sampled_from((True, False, "true", "false"))}),
                max_size=3))
        out.append(entry)
    return out


AR_CODE = st.one_of(st.sampled_from(AR_CATALOGUE[:3]), st.sampled_from(AR_CATALOGUE))


def family_account():
    return st.one_of(st.none(), st.fixed_dictionaries({
        "relation": st.sampled_from(RELATIONS), "balance": cents(0, 100_000)}))


# ---------------------------------------------------------------------------
# claim strategies, one per in-force situation
# ---------------------------------------------------------------------------
@st.composite
def shanxi_resident_go(draw):
    region = draw(st.sampled_from(SHANXI))
    iadm = draw(st.sampled_from((region, region, region, "140100", "141102", "410300", "110105")))
    day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)))
    code = draw(inst_code(iadm))
    fd = draw(st.sampled_from((None, code, "H14090200042")))
    return {
        "date": day.isoformat(), "benefit": "general_outpatient",
        "insured": {"insutype": "390", "category": draw(st.sampled_from(("resident", "student"))),
                    "admdvs": region, "family_doctor_at": fd, "acct_balance": draw(cents(0, 50_000))},
        "institution": {"code": code, "admdvs": iadm,
                        "level": draw(st.sampled_from(("primary", "county", "city"))),
                        "price_class": draw(st.sampled_from((1, 2, 3)))},
        "use_account": draw(st.booleans()),
        "family_account": draw(family_account()),
        "items": draw(st.lists(item(), min_size=1, max_size=8)),
        "history": draw(history(day, "general_outpatient", code, hifp_hi=10_000, near=(30_000,))),
    }


@st.composite
def luoyang_resident_go(draw):
    day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)))
    iadm = draw(st.sampled_from(("410300", "410300", "410300", "140100")))
    code = draw(inst_code(iadm))
    contribution = draw(st.one_of(st.none(), st.fixed_dictionaries({
        "paid_on": st.dates(min_value=day - timedelta(days=60), max_value=day).map(date.isoformat),
        "in_extended_period": st.booleans(),
        "waiting_exempt": st.booleans(),
    })))
    return {
        "date": day.isoformat(), "benefit": "general_outpatient",
        "insured": {"insutype": "390", "category": draw(st.sampled_from(("resident", "student"))),
                    "admdvs": "410300", "contribution": contribution, "acct_balance": draw(cents(0, 30_000))},
        "institution": {"code": code, "admdvs": iadm,
                        "level": draw(st.sampled_from(("primary", "county", "city"))),
                        "price_class": draw(st.sampled_from((1, 2, 3)))},
        "use_account": draw(st.booleans()),
        "family_account": draw(family_account()),
        "items": draw(st.lists(item(), min_size=1, max_size=8)),
        "history": draw(history(day, "general_outpatient", code, hifp_hi=10_000, near=(28_000, 60_000)))
        + draw(st.lists(st.fixed_dictionaries({  # earlier visits today here: once-a-day deductible
            "date": st.just(day.isoformat()), "institution": st.just(code),
            "benefit": st.just("general_outpatient"), "hifp_pay": cents(0, 10_000),
            "act_pay_dedc": st.sampled_from(("0.00", "20.00", "30.00", "50.00"))}), max_size=3)),
    }


@st.composite
def shanxi_ar(draw):
    region = draw(st.sampled_from(SHANXI))
    iadm = draw(st.sampled_from((region, region, "140100", "410300")))
    day = draw(st.dates(min_value=date(2024, 10, 1), max_value=date(2025, 12, 31)))
    code = draw(inst_code(iadm))
    insutype = draw(st.sampled_from(("310", "390")))
    category = draw(st.sampled_from(("employee_active", "employee_retired") if insutype == "310"
                                    else ("resident", "student")))
    codes = AR_CATALOGUE + ("XS01", "XA01")
    return {
        "date": day.isoformat(), "benefit": "assisted_reproduction",
        "insured": {"insutype": insutype, "category": category, "admdvs": region,
                    "acct_balance": draw(cents(0, 500_000))},
        "institution": {"code": code, "admdvs": iadm, "level": draw(st.sampled_from(("county", "city"))),
                        "price_class": draw(st.sampled_from((1, 2, 3))),
                        "art_approved": draw(st.booleans())},
        "use_account": draw(st.booleans()),
        "family_account": draw(family_account()),
        "items": [dict(it, indication_confirmed=draw(st.booleans())) if it["code"] == "311201063" else it
                  for it in draw(st.lists(item(codes=codes, hi_cents=600_000, ar=True), min_size=1, max_size=8))],
        "history": draw(history(day, "assisted_reproduction", code, hifp_hi=500_000, ar=True,
                                since=date(2024, 10, 1))),
    }


@st.composite
def shanxi_m01904(draw):
    region = draw(st.sampled_from((*SHANXI, "141102", "141102")))
    iadm = draw(st.sampled_from((region, region, "140100")))
    day = draw(st.dates(min_value=date(2024, 5, 1), max_value=date(2025, 12, 31)))
    code = draw(inst_code(iadm))
    insutype = draw(st.sampled_from(("310", "390")))
    category = draw(st.sampled_from(("employee_active", "employee_retired") if insutype == "310"
                                    else ("resident", "student")))
    return {
        "date": day.isoformat(), "benefit": "chronic_special", "disease": "M01904",
        "insured": {"insutype": insutype, "category": category, "admdvs": region,
                    "registered_diseases": draw(st.sampled_from((["M01904"], ["M01904"], []))),
                    "acct_balance": draw(cents(0, 500_000))},
        "institution": {"code": code, "admdvs": iadm, "level": draw(st.sampled_from(("county", "city"))),
                        "price_class": draw(st.sampled_from((1, 2, 3))),
                        "designated_diseases": draw(st.sampled_from((["M01904"], ["M01904"], [])))},
        "use_account": draw(st.booleans()),
        "family_account": draw(family_account()),
        "items": draw(st.lists(item(hi_cents=300_000), min_size=1, max_size=8)),
        "history": draw(history(day, "chronic_special", code, hifp_hi=300_000,
                                near=(300_000, 450_000, 1_200_000, 1_800_000))),
    }


@st.composite
def luoyang_maternity(draw):
    day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)))
    code = draw(inst_code("410300"))
    return {
        "date": day.isoformat(), "benefit": "maternity_delivery",
        "delivery": draw(st.sampled_from(("natural", "cesarean"))),
        "insured": {"insutype": "390", "category": "resident", "admdvs": "410300",
                    "acct_balance": draw(cents(0, 30_000))},
        "institution": {"code": code, "admdvs": "410300", "level": draw(st.sampled_from(("county", "city"))),
                        "price_class": draw(st.sampled_from((1, 2, 3)))},
        "items": draw(st.lists(item(hi_cents=300_000), min_size=1, max_size=8)),
        "history": draw(history(day, "maternity_delivery", code)),
    }


CLAIMS = st.one_of(shanxi_resident_go(), luoyang_resident_go(), shanxi_ar(), shanxi_m01904(),
                   luoyang_maternity())


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def compute(claim: dict) -> dict:
    code, out = calc_one(claim, POLICY)
    assert code == 0, (code, out, claim)
    return out


def m(out: dict, f: str) -> Decimal:
    return D(out[f])


def _paid(h: dict, hi: dict) -> bool:
    """Did the fund pay for this history line? `fund_paid` (true/"true"), by default hifp_pay > 0."""
    v = hi.get("fund_paid")
    return D(h["hifp_pay"]) > 0 if v is None else v in (True, "true")


def caps_for(claim: dict) -> tuple[Decimal | None, Decimal | None]:
    """(annual cap, quarterly cap) of the shipped packs for this claim, from the documents."""
    ins = claim["insured"]
    b = claim["benefit"]
    if b == "general_outpatient":
        if ins["admdvs"] == "410300":
            return (D("600.00") if ins["category"] == "student" else D("280.00")), None
        return D("300.00"), None
    if b == "chronic_special":
        annual = D("18000.00") if ins["insutype"] == "310" else D("12000.00")
        quarterly = None
        if ins["admdvs"].startswith("1411"):
            quarterly = D("4500.00") if ins["insutype"] == "310" else D("3000.00")
        return annual, quarterly
    return None, None  # assisted reproduction: basic cap open; maternity: per-claim limit


def quarter(d: str) -> int:
    return (int(d[5:7]) - 1) // 3


def scope(claim: dict) -> list[dict]:
    """History entries that count against this claim's caps: same benefit (and same disease)."""
    return [h for h in claim.get("history", [])
            if h["benefit"] == claim["benefit"]
            and (claim.get("disease") is None or h.get("disease") == claim.get("disease"))]


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
@SETTINGS
@given(CLAIMS)
def test_identities_hold_exactly_on_output_strings(claim):
    out = compute(claim)
    for f in MONEY_FIELDS:
        assert MONEY_RE.match(out[f]), (f, out[f])
    assert RATIO_RE.match(out["pool_prop_selfpay"]), out["pool_prop_selfpay"]
    for it in out["items"]:
        for f in ITEM_MONEY_FIELDS:
            assert MONEY_RE.match(it[f]), (it["code"], f, it[f])

    assert m(out, "medfee_sumamt") == (m(out, "fulamt_ownpay_amt") + m(out, "overlmt_selfpay")
                                       + m(out, "preselfpay_amt") + m(out, "inscp_scp_amt"))
    assert m(out, "psn_part_amt") == m(out, "medfee_sumamt") - m(out, "fund_pay_sumamt")
    assert m(out, "psn_part_amt") == m(out, "acct_pay") + m(out, "acct_mulaid_pay") + m(out, "psn_cash_pay")
    assert m(out, "fund_pay_sumamt") == m(out, "hifp_pay") + m(out, "hifmi_pay") + m(out, "hifob_pay")

    items = out["items"]
    assert [it["code"] for it in items] == [it["code"] for it in claim["items"]]
    pairs = (("det_item_fee_sumamt", "medfee_sumamt"), ("fulamt_ownpay_amt", "fulamt_ownpay_amt"),
             ("overlmt_amt", "overlmt_selfpay"), ("preselfpay_amt", "preselfpay_amt"),
             ("inscp_scp_amt", "inscp_scp_amt"))
    for fi, ft in pairs:
        assert sum((D(it[fi]) for it in items), ZERO) == m(out, ft), (fi, ft)
    for it in items:
        assert D(it["det_item_fee_sumamt"]) == (D(it["fulamt_ownpay_amt"]) + D(it["overlmt_amt"])
                                                + D(it["preselfpay_amt"]) + D(it["inscp_scp_amt"]))
    # medfee = Σ qty × price, each line rounded half-up to 0.01
    expected = sum((D(ci["qty"]) * D(ci["price"])).quantize(D("0.01"), rounding=ROUND_HALF_UP)
                   for ci in claim["items"])
    assert m(out, "medfee_sumamt") == expected


@SETTINGS
@given(CLAIMS)
def test_no_negative_amount_and_fund_within_remaining_cap(claim):
    out = compute(claim)
    for f in MONEY_FIELDS:
        assert m(out, f) >= 0, (f, out[f])
    for it in out["items"]:
        for f in ITEM_MONEY_FIELDS:
            assert D(it[f]) >= 0, (it["code"], f, it[f])
    hifp = m(out, "hifp_pay")
    assert hifp <= m(out, "inscp_scp_amt")
    assert m(out, "fund_pay_sumamt") <= m(out, "medfee_sumamt")
    assert m(out, "acct_pay") <= D(claim["insured"].get("acct_balance", "0.00"))

    annual, quarterly = caps_for(claim)
    hist = scope(claim)
    left = None
    if annual is not None:
        used = sum((D(h["hifp_pay"]) for h in hist), ZERO)
        left = max(annual - used, ZERO)
        assert hifp <= left, (hifp, annual, used)
    if quarterly is not None:
        q = quarter(claim["date"])
        used_q = sum((D(h["hifp_pay"]) for h in hist if quarter(h["date"]) == q), ZERO)
        left_q = max(quarterly - used_q, ZERO)
        assert hifp <= left_q, (hifp, quarterly, used_q)
        left = min(left, left_q)
    if claim["benefit"] == "maternity_delivery":
        limit = D("1000.00") if claim["delivery"] == "natural" else D("2000.00")
        assert hifp <= limit

    # Exactly: the same claim with every earlier fund payment zeroed (so nothing of the caps
    # is used up, all else equal) pays F; with the real history it pays min(F, what is left).
    # (a line's count stays as it was: fund_paid is made explicit before hifp_pay is zeroed)
    fresh = {**claim, "history": [{**h, "hifp_pay": "0.00", "items": [
        {**hi, "fund_paid": _paid(h, hi)} for hi in h.get("items", [])]} for h in claim.get("history", [])]}
    f = m(compute(fresh), "hifp_pay")
    assert hifp == (f if left is None else min(f, left)), (hifp, f, left)


@SETTINGS
@given(shanxi_ar())
def test_assisted_reproduction_count_limit(claim):
    """晋医保发〔2024〕16号: at most 3 fund-paid units per person and item (every year's history lines
    the fund paid for, plus earlier lines of the claim); units beyond are 全自费. A free line (price
    0.00) is no fund payment and takes no count; an unconfirmed 311201063 is not paid and takes none
    (docs/policy-notes.md)."""
    out = compute(claim)
    used: dict[str, Decimal] = {}
    for h in claim["history"]:
        if h["benefit"] == "assisted_reproduction":
            for hi in h.get("items", []):
                if _paid(h, hi):
                    used[hi["code"]] = used.get(hi["code"], ZERO) + D(hi["qty"])
    for ci, it in zip(claim["items"], out["items"], strict=True):
        if ci["code"] not in AR_CATALOGUE or D(ci["price"]) == 0:
            continue
        if ci["code"] == "311201063" and not ci.get("indication_confirmed"):
            assert it["fulamt_ownpay_amt"] == it["det_item_fee_sumamt"], (ci, it)
            continue
        left = max(D(3) - used.get(ci["code"], ZERO), ZERO)
        paid_qty = min(D(ci["qty"]), left)
        # the fund-eligible part of the line is the price of the units still within the count
        eligible = D(it["det_item_fee_sumamt"]) - D(it["fulamt_ownpay_amt"])
        assert eligible == (paid_qty * D(ci["price"])).quantize(D("0.01"), rounding=ROUND_HALF_UP), (ci, it, left)
        used[ci["code"]] = used.get(ci["code"], ZERO) + paid_qty


@SETTINGS
@given(CLAIMS, st.data())
def test_adding_an_item_never_lowers_medfee(claim, data):
    before = compute(claim)
    extra = data.draw(item(codes=PLAIN_CODES + AR_CATALOGUE))
    pos = data.draw(st.integers(0, len(claim["items"])))
    bigger = {**claim, "items": [*claim["items"][:pos], extra, *claim["items"][pos:]]}
    after = compute(bigger)
    assert m(after, "medfee_sumamt") >= m(before, "medfee_sumamt")


@SETTINGS
@given(CLAIMS, st.data())
def test_adding_a_class_a_item_never_lowers_hifp_when_no_cap_binds(claim, data):
    before = compute(claim)
    extra = data.draw(item(codes=PLAIN_CODES + AR_CATALOGUE, lv="01"))
    pos = data.draw(st.integers(0, len(claim["items"])))
    bigger = {**claim, "items": [*claim["items"][:pos], extra, *claim["items"][pos:]]}
    after = compute(bigger)
    # A count limit (辅助生殖 3 次/人) is allocated in line order: a new line placed before a
    # pricier line of the same item can take the last count (docs/policy-notes.md). Elsewhere
    # a cap is a min(): it can stop the fund from rising, never make it fall.
    if not any(n["code"] == "item_limit_reached" for n in after["notices"]):
        assert m(after, "hifp_pay") >= m(before, "hifp_pay"), (before, after)
        assert m(after, "inscp_scp_amt") >= m(before, "inscp_scp_amt")


@SETTINGS
@given(CLAIMS, st.data())
def test_result_does_not_depend_on_history_order(claim, data):
    hist = claim.get("history", [])
    permuted = data.draw(st.permutations(hist))
    a = compute(claim)
    b = compute({**claim, "history": list(permuted)})
    assert a == b


# ---------------------------------------------------------------------------
# #18.3: with a pack that supplies the employee maternity numbers (tests/core/data: test data, made-up
# numbers), the 围产 lump sum of 350.00 never makes the fund pay more than the bill.
EMPLOYEE_MATERNITY = load_policy([Path(__file__).parent / "data" / "test-410322-employee-maternity"])


@st.composite
def luoyang_employee_maternity(draw):
    day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)))
    return {
        "date": day.isoformat(), "benefit": "maternity_delivery",
        "delivery": draw(st.sampled_from(("natural", "cesarean"))),
        "insured": {"insutype": "310", "category": "employee_active", "admdvs": "410322",
                    "acct_balance": draw(cents(0, 30_000))},
        "institution": {"code": "H41032200001", "admdvs": "410322", "level": "county", "price_class": 2},
        "items": draw(st.lists(item(hi_cents=120_000), min_size=1, max_size=4)),
    }


@SETTINGS
@given(st.one_of(CLAIMS, luoyang_employee_maternity()))
def test_the_person_never_gets_money_back_and_the_fund_never_pays_more_than_the_bill(claim):
    pol = EMPLOYEE_MATERNITY if claim["insured"]["admdvs"] == "410322" else POLICY
    code, out = calc_one(claim, pol)
    assert code == 0, out
    assert m(out, "psn_part_amt") >= 0 and m(out, "psn_cash_pay") >= 0, out
    assert m(out, "fund_pay_sumamt") <= m(out, "medfee_sumamt"), out


# ---------------------------------------------------------------------------
# #14.2: a notice or a trace step appears only where its rule changed a figure
_MONEY_STEPS = ("deductible", "preselfpay", "overlmt", "item_limit", "fulamt_ownpay", "acct_pay",
                "acct_mulaid_pay", "family_doctor_fee", "prenatal_lump_sum")


@SETTINGS
@given(CLAIMS)
def test_a_notice_or_trace_step_implies_its_figure_changed(claim):
    out = compute(claim)
    trace = out["trace"]
    steps = [t["step"] for t in trace]
    codes = [n["code"] for n in out["notices"]]
    # a money step moved money: its figure is above zero
    for t in trace:
        if t["step"] in _MONEY_STEPS:
            assert D(t["value"]) > 0, t
    # a cap step lowered the fund below the figure before it (pool_fund / delivery_limit, then quarterly)
    before = next((D(t["value"]) for t in trace if t["step"] in ("pool_fund", "delivery_limit")), None)
    for cap in ("quarterly_cap", "annual_cap"):
        found = [D(t["value"]) for t in trace if t["step"] == cap]
        assert (f"{cap}_reached" in codes) == bool(found), (cap, codes, steps)
        if found:
            assert before is not None and found[0] < before, (cap, found, before, trace)
            before = found[0]
    # the fund a cap step leaves is what is paid (before the lump sum / split, which only add or move)
    if before is not None and not {"prenatal_lump_sum", "fund_split", "family_doctor_fee"} & set(steps):
        assert m(out, "hifp_pay") == before, (before, out)
    # an item notice names a line of the claim that is (at least partly) 全自费
    for n in out["notices"]:
        if n["code"] == "item_limit_reached":
            assert any(it["code"] == n["item"] and D(it["fulamt_ownpay_amt"]) > 0 for it in out["items"]), n
    # an eligibility notice: the fund pays nothing
    if {"waiting_period", "disease_not_registered", "institution_not_designated"} & set(codes):
        assert m(out, "fund_pay_sumamt") == ZERO, out
