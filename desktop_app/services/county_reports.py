"""The county centre's reports over every clinic's ingested settlements (`services/county.py`):

- `month_report`: per clinic and benefit, the counts and sums of one month (business days, reversals
  included with their negative amounts — the same rows and totals as each clinic's own 月度汇总);
- `overruns`: persons whose fund payments (统筹 hifp_pay, net of reversals) over all clinics exceed the
  annual or a quarterly cap of their policy (the county database's synced packs and imported roster),
  with the settlements involved — what happens when offline clinics each see only their own history;
- `usage_rows` / `write_usage`: every person's year-to-date usage as the roster import reads it
  (`docs/roster.md`: a 花名册 sheet dated `as_of` and its 待遇累计 sheet), so each clinic learns what was paid
  elsewhere. Usage = the county's own 待遇累计 of the year (as imported there) + every clinic's ingested
  settlements of the year up to the end of `as_of`, by visit quarter.

Per-item counts (辅助生殖 3 次/人) are not in the export format 1 lines (no items): they are carried over from
the county's own 待遇累计 only, and `overruns` does not check them (said in its result).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import extract, func, select

from desktop_app.core import caps
from desktop_app.core.model import SELF_PAY, benefit_label
from desktop_app.store import models as m
from desktop_app.store.db import Database
from desktop_app.store.types import fen_to_yuan

_Z = Decimal("0.00")
REPORT_FIELDS = ("medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")
REPORT_LABELS = {"medfee_sumamt": "医疗费总额", "hifp_pay": "统筹支付", "fund_pay_sumamt": "基金支付合计",
                 "acct_pay": "个人账户", "psn_cash_pay": "现金"}
ITEMS_NOTE = "对账导出（格式1）不含项目明细：按项目次数的限额（如辅助生殖 3 次/人）未核对"


@dataclass(frozen=True)
class MonthRow:
    clinic: str
    clinic_name: str
    benefit: str
    settlements: int
    reversals: int
    sums: dict[str, Decimal]


def _raw(col):
    from sqlalchemy import BigInteger, type_coerce

    return func.sum(type_coerce(col, BigInteger()))


def month_report(db: Database, year: int, month: int) -> list[MonthRow]:
    """Per clinic and benefit for the business days of the month; the last row of each clinic is its total."""
    c = m.CountySettlement
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    q = (select(c.fixmedins_code, c.benefit, c.kind, func.count(), *[_raw(getattr(c, f)) for f in REPORT_FIELDS])
         .where(c.business_date >= start, c.business_date < end)
         .group_by(c.fixmedins_code, c.benefit, c.kind))
    with db.read() as s:
        names = dict(s.execute(select(m.CountyExport.fixmedins_code, m.CountyExport.fixmedins_name)
                               .order_by(m.CountyExport.id)).all())
        agg: dict[tuple[str, str], list] = {}
        for clinic, benefit, kind, n, *sums in s.execute(q):
            row = agg.setdefault((clinic, benefit), [0, 0, [0] * len(REPORT_FIELDS)])
            row[0 if kind == "settle" else 1] += n
            row[2] = [a + int(b or 0) for a, b in zip(row[2], sums, strict=True)]
    out = []
    for (clinic, benefit), (n_set, n_rev, sums) in sorted(agg.items()):
        out.append(MonthRow(clinic, names.get(clinic, ""), benefit, n_set, n_rev,
                            {f: fen_to_yuan(v) for f, v in zip(REPORT_FIELDS, sums, strict=True)}))
    return out


def month_totals(rows: list[MonthRow]) -> dict[str, MonthRow]:
    """Each clinic's total over its benefits, and "" for the whole county."""
    tot: dict[str, MonthRow] = {}
    for key in sorted({r.clinic for r in rows}) + [""]:
        mine = [r for r in rows if key in ("", r.clinic)]
        tot[key] = MonthRow(key, mine[0].clinic_name if key and mine else "全县合计", "",
                            sum(r.settlements for r in mine), sum(r.reversals for r in mine),
                            {f: sum((r.sums[f] for r in mine), _Z) for f in REPORT_FIELDS})
    return tot


def write_month_xlsx(path: Path, rows: list[MonthRow], year: int, month: int) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "全县月报"
    ws.append([f"全县各机构结算月报 {year}年{month}月（按营业日，含冲正）"])
    ws.append(["机构编码", "机构名称", "待遇类型", "结算笔数", "冲正笔数", *REPORT_LABELS.values()])
    totals = month_totals(rows)
    for clinic in sorted({r.clinic for r in rows}):
        for r in (x for x in rows if x.clinic == clinic):
            ws.append([r.clinic, r.clinic_name, benefit_label(r.benefit), r.settlements, r.reversals,
                       *[r.sums[f] for f in REPORT_FIELDS]])
        t = totals[clinic]
        ws.append([clinic, t.clinic_name, "小计", t.settlements, t.reversals, *[t.sums[f] for f in REPORT_FIELDS]])
    t = totals[""]
    ws.append(["", "全县合计", "", t.settlements, t.reversals, *[t.sums[f] for f in REPORT_FIELDS]])
    for row in ws.iter_rows(min_row=3, min_col=6):
        for cell in row:
            cell.number_format = "#,##0.00"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# ---------------------------------------------------------------------------
# Overruns
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Overrun:
    psn_no: str
    name: str
    benefit: str
    disease: str
    scope: str  # 年度 / 第N季度
    cap: Decimal
    paid: Decimal
    over: Decimal
    cite: str
    settlements: list[dict] = field(default_factory=list)  # setl_no, clinic, business_date, hifp_pay


@dataclass
class OverrunResult:
    year: int
    persons_checked: int
    overruns: list[Overrun]
    not_in_roster: list[str]  # 人员编号 with settlements but no roster row at the county: caps cannot be told
    note: str = ITEMS_NOTE


def _fund_by_quarter(db: Database, year: int) -> dict[tuple[str, str, str], list[int]]:
    """(person, benefit, disease) → fund paid (fen, net of reversals) in quarters 1..4 of `year` (visit dates).
    全自费 settlements (a walk-in without 人员编号, or an insured person paying all) use no fund: left out."""
    c = m.CountySettlement
    q = (select(c.psn_no, c.benefit, c.disease, extract("month", c.visit_date), _raw(c.hifp_pay))
         .where(c.visit_date >= date(year, 1, 1), c.visit_date <= date(year, 12, 31), c.benefit != SELF_PAY)
         .group_by(c.psn_no, c.benefit, c.disease, extract("month", c.visit_date)))
    out: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with db.read() as s:
        for psn, benefit, disease, month, fen in s.execute(q):
            out[(psn, benefit, disease or "")][(int(month) - 1) // 3] += int(fen or 0)
    return out


def overruns(db: Database, year: int) -> OverrunResult:
    from desktop_app.services.packs import policy as load_policy

    paid = _fund_by_quarter(db, year)
    policy = load_policy(db)
    persons = _persons(db, sorted({k[0] for k in paid}))
    found, missing = [], sorted({k[0] for k in paid} - persons.keys())
    on = date(year, 12, 31)
    caps_of: dict[tuple, tuple] = {}  # the same policy, category and benefit: resolved once

    def caps_for(p, benefit: str, disease: str):
        key = (p.admdvs, p.insutype, p.category, benefit, disease)
        if key not in caps_of:
            chain = policy.chain_for(p.admdvs)
            ctx = {"benefit": benefit, "insutype": p.insutype, "category": p.category, "disease": disease or None}
            caps_of[key] = (None, None) if chain is None else (chain.resolve("annual_cap", ctx, on),
                                                               chain.resolve("quarterly_cap", ctx, on))
        return caps_of[key]

    for (psn, benefit, disease), quarters in sorted(paid.items()):
        p = persons.get(psn)
        if p is None:
            continue
        cap, qcap = caps_for(p, benefit, disease)
        checks = [("年度", 0, cap, sum(quarters))]
        checks += [(f"第{i + 1}季度", i + 1, qcap, v) for i, v in enumerate(quarters)]
        for scope, quarter, cap, fen in checks:
            used = fen_to_yuan(fen)
            if cap is not None and not cap.is_open and cap.value is not None and used > cap.value:
                found.append(Overrun(psn, p.name, benefit, disease, scope, cap.value, used, used - cap.value,
                                     cap.cite, [{"quarter": quarter}]))
    return OverrunResult(year, len(persons), _with_settlements(db, found, year), missing)


def _with_settlements(db: Database, found: list[Overrun], year: int) -> list[Overrun]:
    """Each overrun with the settlements it sums (one query for all of them)."""
    c = m.CountySettlement
    psns = sorted({o.psn_no for o in found})
    rows: dict[tuple, list[dict]] = defaultdict(list)
    with db.read() as s:
        for i in range(0, len(psns), 2000):
            q = (select(c.psn_no, c.benefit, c.disease, c.setl_no, c.kind, c.fixmedins_code, c.business_date,
                        c.visit_date, c.hifp_pay)
                 .where(c.psn_no.in_(psns[i:i + 2000]), c.visit_date >= date(year, 1, 1),
                        c.visit_date <= date(year, 12, 31)).order_by(c.visit_date, c.setl_no))
            for r in s.execute(q):
                rows[(r.psn_no, r.benefit, r.disease or "")].append(
                    {"setl_no": r.setl_no, "kind": r.kind, "clinic": r.fixmedins_code, "business_date": r.business_date,
                     "visit_date": r.visit_date, "hifp_pay": r.hifp_pay})
    out = []
    for o in found:
        quarter = o.settlements[0]["quarter"]
        mine = [x for x in rows[(o.psn_no, o.benefit, o.disease)]
                if not quarter or caps.quarter_number(x["visit_date"]) == quarter]
        out.append(Overrun(o.psn_no, o.name, o.benefit, o.disease, o.scope, o.cap, o.paid, o.over, o.cite, mine))
    return out


def _persons(db: Database, psns: list[str]) -> dict[str, m.Person]:
    out = {}
    with db.read() as s:
        for i in range(0, len(psns), 2000):
            for p in s.execute(select(m.Person).where(m.Person.psn_no.in_(psns[i:i + 2000]))).scalars():
                s.expunge(p)
                out[p.psn_no] = p
    return out
