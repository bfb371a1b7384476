"""Hand-worked cases: 晋政办发〔2021〕103号 — 职工门诊共济 (职工普通门诊统筹, 个人账户, 家庭共济).

Document text (quoted from the document; its reading is in docs/policy-notes.md):
  二(一) "２０２３年１月１日起在全省统一实施……政策范围内支付比例不低于５０％……科学测算起付标准和
          最高支付限额……职工医保普通门诊统筹办法由省医保局会同省财政厅、省卫健委另行制定。"
  二(四) "个人账户主要用于支付参保人员在定点医疗机构或定点零售药店发生的政策范围内自付费用；
          可以用于支付参保人员本人及其配偶、父母、子女在定点医疗机构就医发生的由个人负担的医疗费用"
Readings from docs/policy-notes.md: employee general-outpatient deductible/ratio/cap
are open → exit 3 policy_parameter_missing naming the parameter, until a pack
supplies them; ratio floor 50% rejects a pack below it. Person's part is paid by
own account, then 家庭共济 (spouse/parent/child only, else notice
family_account_relation_not_allowed), then cash; the accounts may pay the whole
personal part, 全自费 included. Shanxi residents (390) have no own account but may be
paid for by an employee relative's account.

Computing claims used for the account: employee M01904 (晋医保发〔2024〕4号: 75%, no
deductible) at a designated hospital, and 辅助生殖 (晋医保发〔2024〕16号: 职工 70%).
"""

import pytest

from desktop_app.core.calc import calc_one
from desktop_app.core.pack_files import load_policy
from desktop_app.core.policy import PackInvalid
from tests.core.case_helpers import DEFAULT_INSURED, case, claim, err, item, ok, run_case

T103_1 = "晋政办发〔2021〕103号 二(一)"
T103_4 = "晋政办发〔2021〕103号 二(四)"
OPEN_PARAMS = {"deductible", "ratio", "annual_cap"}
EMP = dict(DEFAULT_INSURED, insutype="310", category="employee_active")
A100 = item("XA01", "drug", "01", "1", "100.00")
A1000 = item("XA01", "drug", "01", "1", "1000.00")
HOSP = {"code": "H14010000100", "level": "city", "price_class": 3, "designated_diseases": ["M01904"]}


def emp_go(date="2024-03-01", **insured):
    return claim([A100], date=date, base_insured=EMP, insured=insured)


def wilson(items=None, acct="0.00", family=None, use_account=True, **insured):
    """Employee M01904 claim at a designated 太原 hospital: fund = 75% of 政策范围内."""
    ins = {"registered_diseases": ["M01904"], "acct_balance": acct, **insured}
    extra = {"family_account": family} if family is not None else {}
    return claim(items or [A1000], date="2024-06-10", benefit="chronic_special", disease="M01904",
                 base_insured=EMP, insured=ins, institution=HOSP, use_account=use_account, **extra)


def fam(relation, balance):
    return {"relation": relation, "balance": balance}


CASES = [
    # ---------------- 二(一): employee general outpatient is left open ----------------
    case("employee-active-go-parameter-missing", T103_1, emp_go(),
         # 起付标准/比例/限额 "另行制定" → no number in the set
         err(3, "policy_parameter_missing", parameter=OPEN_PARAMS)),
    case("employee-retired-go-parameter-missing", T103_1, emp_go(category="employee_retired"),
         err(3, "policy_parameter_missing", parameter=OPEN_PARAMS)),
    case("employee-go-start-2023-01-01", T103_1, emp_go(date="2023-01-01"),
         # in force from 2023-01-01, but still open
         err(3, "policy_parameter_missing", parameter=OPEN_PARAMS)),
    case("employee-go-before-2022-12-31", T103_1, emp_go(date="2022-12-31"),
         # "２０２３年１月１日起在全省统一实施" → nothing in force before
         err(3, "no_policy_in_force")),
    case("employee-go-xinzhou-parameter-missing", T103_1, emp_go(admdvs="140902"),
         err(3, "policy_parameter_missing", parameter=OPEN_PARAMS)),
    case("employee-go-lvliang-parameter-missing", T103_1, emp_go(admdvs="141102"),
         err(3, "policy_parameter_missing", parameter=OPEN_PARAMS)),

    # ---------------- 二(四): own account → 家庭共济 → cash ----------------
    case("acct-then-spouse-then-cash", T103_4, wilson(acct="100.00", family=fam("spouse", "100.00")),
         # fund 1000×75%=750.00; person 250.00: own acct 100.00, spouse 100.00, cash 50.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", acct="100.00",
            mulaid="100.00", cash="50.00")),
    case("acct-covers-all", T103_4, wilson(acct="300.00", family=fam("spouse", "100.00")),
         # person 250 ≤ own balance 300 → acct 250.00; nothing left for the spouse; cash 0
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", acct="250.00",
            mulaid="0.00", cash="0.00")),
    case("parent-account-pays-all", T103_4, wilson(family=fam("parent", "1000.00")),
         # no own balance; parent's account pays 250.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", mulaid="250.00", cash="0.00")),
    case("child-account-partial", T103_4, wilson(family=fam("child", "50.00")),
         # child's balance 50.00; cash 250−50=200.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", mulaid="50.00", cash="200.00")),
    case("sibling-not-allowed", T103_4, wilson(acct="100.00", family=fam("sibling", "500.00")),
         # only 配偶、父母、子女: sibling pays nothing; acct 100.00; cash 150.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", acct="100.00", cash="150.00",
            notices=["family_account_relation_not_allowed"])),
    case("grandparent-not-allowed", T103_4, wilson(family=fam("grandparent", "500.00")),
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", cash="250.00",
            notices=["family_account_relation_not_allowed"])),
    case("use-account-false", "晋医保发〔2024〕4号 一; 晋政办发〔2021〕103号 二(四)",
         wilson(acct="300.00", use_account=False),
         # person chose not to use the account: acct 0; cash 250.00
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7500", hifp="750.00", cash="250.00")),
    case("acct-pays-fulamt-too", T103_4,
         wilson(items=[item("XC01", "drug", "03", "1", "200.00"), A1000], acct="1000.00"),
         # 丙类 200 全自费; fund 750.00; person 1200−750=450.00 ("由个人负担的医疗费用") → acct 450.00
         ok(medfee="1200.00", ful="200.00", inscp="1000.00", ratio="0.7500", hifp="750.00",
            acct="450.00", cash="0.00")),
    case("acct-pays-when-fund-blocked", T103_4, wilson(acct="300.00", registered_diseases=[]),
         # not registered → fund 0 (晋医保发〔2024〕4号 三); person 1000: acct 300.00, cash 700.00
         ok(medfee="1000.00", inscp="1000.00", ratio=None, hifp="0.00", acct="300.00", cash="700.00",
            notices=["disease_not_registered"])),
    case("acct-on-art-claim", T103_4,
         claim([item("311201045", "service", "01", "1", "1000.00")], date="2024-10-15",
               benefit="assisted_reproduction", base_insured=EMP, insured={"acct_balance": "500.00"},
               institution={"code": "H14010000200", "level": "city", "art_approved": True}),
         # 人工授精 甲类: 职工 70% → 700.00; person 300.00 → acct 300.00 (balance 500); cash 0
         ok(medfee="1000.00", inscp="1000.00", ratio="0.7000", hifp="700.00", acct="300.00", cash="0.00",
            trace_has=[("fund_split", "undetermined")])),

    # ---------------- 家庭共济 for a resident relative (the relative holds the account) ----------------
    case("resident-paid-by-parent-account", T103_4,
         claim([A100], insured={"acct_balance": "50.00"}, family_account=fam("parent", "30.00")),
         # 居民 三类 60% → 60.00; person 40.00; own "balance" not used (居民 has no account);
         # parent's employee account 30.00; cash 10.00
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", mulaid="30.00", cash="10.00")),
    case("resident-spouse-account-covers", T103_4,
         claim([A100], family_account=fam("spouse", "100.00")),
         # person 40.00 ≤ 100 → mulaid 40.00; cash 0
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", mulaid="40.00", cash="0.00")),
    case("resident-sibling-not-allowed", T103_4,
         claim([A100], family_account=fam("sibling", "100.00")),
         ok(medfee="100.00", inscp="100.00", ratio="0.6000", hifp="60.00", cash="40.00",
            notices=["family_account_relation_not_allowed"])),
]


@pytest.mark.parametrize(("claim_dict", "expected"), CASES)
def test_case(claim_dict, expected):
    run_case(claim_dict, expected)


# ---------------- a pack that supplies the "另行制定" numbers ----------------
# A test-only city pack for 太原 with made-up employee numbers (document
# "测试医保发〔2099〕1号" does not exist): it shows that once a pack supplies
# deductible / ratio / cap the claim computes, and that the 50% floor of 二(一) holds.
PACK_TOML = """\
id = "test-140100-taiyuan"
name = "太原市（测试用）"
admdvs = "140100"
level = "city"
parent = "cn-140000-shanxi"
version = "0.0.1"

[[document]]
number = "测试医保发〔2099〕1号"
title = "测试用：职工普通门诊统筹办法（虚构，仅供测试）"
effective = 2023-01-01
"""


def params_toml(ratio: str) -> str:
    out = []
    for key, value in (("deductible", "200.00"), ("ratio", ratio), ("annual_cap", "2000.00")):
        out.append(f'[[param]]\nkey = "{key}"\nbenefit = "general_outpatient"\ninsutype = "310"\n'
                   f'value = "{value}"\ncite = "测试医保发〔2099〕1号 一"\n')
    return "\n".join(out)


def write_pack(root, ratio):
    d = root / f"pack-{ratio}"
    d.mkdir()
    (d / "pack.toml").write_text(PACK_TOML, encoding="utf-8")
    (d / "params.toml").write_text(params_toml(ratio), encoding="utf-8")
    return d


def test_supplied_employee_parameters_compute(tmp_path):
    pol = load_policy([write_pack(tmp_path, "0.60")])
    c = claim([item("XA01", "drug", "01", "1", "500.00")], base_insured=EMP, insured={"acct_balance": "100.00"})
    # supplied: 起付 200, 60%, cap 2000 → (500−200)×60%=180.00; person 320.00: acct 100.00, cash 220.00
    exp = ok(medfee="500.00", inscp="500.00", dedc="200.00", ratio="0.6000", hifp="180.00",
             acct="100.00", cash="220.00")
    run_case(c, dict(exp, clause=T103_4), pol)
    # with 1900 already paid this year: 100 left of 2000 → 100.00; person 400: acct 100, cash 300
    c["history"] = [{"date": "2024-02-01", "institution": "H14010000001", "benefit": "general_outpatient",
                     "hifp_pay": "1900.00", "act_pay_dedc": "200.00"}]
    exp = ok(medfee="500.00", inscp="500.00", dedc="200.00", ratio="0.6000", hifp="100.00",
             acct="100.00", cash="300.00", notices=["annual_cap_reached"])
    run_case(c, dict(exp, clause="测试医保发〔2099〕1号 一"), pol)
    # a resident claim of the same region is unaffected: 60.00
    code, res = calc_one(claim([A100]), pol)
    assert code == 0 and res["hifp_pay"] == "60.00"


def test_ratio_below_50pct_floor_is_rejected(tmp_path):
    # "政策范围内支付比例不低于５０％": a pack with 45% for employees is invalid
    with pytest.raises(PackInvalid) as exc:
        load_policy([write_pack(tmp_path, "0.45")])
    assert any("0.45" in str(p) for p in exc.value.problems)
