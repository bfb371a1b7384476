"""`county usage`: the 待遇累计 file a clinic imports (`clinic-settle import-roster FILE`) to learn what every
person was paid elsewhere in the county — in the roster import's own format (docs/roster.md):

- sheet 花名册: every person of the county's roster, dated `as_of` (截至日期), with the personal-account
  balance as of the end of that day (the roster's balance less every clinic's ingested 个人账户 payments
  after the roster's own 截至日期, up to `as_of`);
- sheet 待遇累计: per person, benefit, disease and visit quarter of `as_of`'s year, the fund paid (统筹已支付) =
  the county's own 待遇累计 rows of that year + every clinic's ingested settlements (net of reversals) up to
  the end of `as_of`; and the county's item-count rows (项目编码/次数) as they are.

Imported at a clinic this replaces every person's snapshot with these figures as of `as_of`; the clinic
then counts only its settlements after `as_of` or made after the import (docs/roster.md), so its own
settlements up to `as_of` — in the figures because its exports were ingested — are not counted twice.
`UsageResult.stale` names the clinic's last covered day (closed 日结 when exported) when it is before `as_of`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import BigInteger, extract, func, select, type_coerce

from desktop_app.core.model import BENEFITS
from desktop_app.services.roster_rows import CATEGORY_CODES, PERSON_COLUMNS, USAGE_COLUMNS
from desktop_app.store import models as m
from desktop_app.store.db import Database
from desktop_app.store.types import fen_to_yuan

_CATEGORY_LABELS = {v: k for k, v in CATEGORY_CODES.items()}


@dataclass(frozen=True)
class UsageResult:
    path: str
    persons: int
    usage_rows: int
    as_of: date
    clinic: str
    last_ingested: date | None  # the clinic's last covered day (closed when exported) ingested
    stale: str  # said when that is before as_of (its later settlements are not in the figures)


def _sum(col):
    return func.sum(type_coerce(col, BigInteger()))


def _ingested_fund(s, year: int, as_of: date) -> dict[tuple, int]:
    c = m.CountySettlement
    q = (select(c.psn_no, c.benefit, c.disease, extract("month", c.visit_date), _sum(c.hifp_pay))
         .where(c.visit_date >= date(year, 1, 1), c.visit_date <= date(year, 12, 31), c.business_date <= as_of)
         .group_by(c.psn_no, c.benefit, c.disease, extract("month", c.visit_date)))
    out: dict[tuple, int] = defaultdict(int)
    for psn, benefit, disease, month, fen in s.execute(q):
        out[(psn, year, benefit, disease or "", (int(month) - 1) // 3 + 1, "")] += int(fen or 0)
    return out


def _account_spent(s, as_of: date) -> dict[str, int]:
    """Per person: 个人账户 paid at the clinics after the roster's 截至日期 and up to `as_of` (fen, net)."""
    c = m.CountySettlement
    q = (select(c.psn_no, _sum(c.acct_pay)).join(m.Person, m.Person.psn_no == c.psn_no)
         .where(c.business_date > m.Person.as_of, c.business_date <= as_of).group_by(c.psn_no))
    return {psn: int(fen or 0) for psn, fen in s.execute(q)}


def usage_sheets(db: Database, as_of: date) -> tuple[list[list], list[list]]:
    """The rows of the two sheets (with their header rows)."""
    year = as_of.year
    with db.read() as s:
        fund = _ingested_fund(s, year, as_of)
        counts: list[list] = []
        for u in s.execute(select(m.UsageSnapshot)).scalars():
            if u.year == year and u.fund_paid:
                fund[(u.psn_no, year, u.benefit, u.disease or "", u.quarter, "")] += int(u.fund_paid * 100)
            if u.item_code and u.count:
                counts.append([u.psn_no, u.year, BENEFITS.get(u.benefit, u.benefit), u.disease, u.quarter or "",
                               "0.00", u.item_code, u.count])
        spent = _account_spent(s, as_of)
        diseases = defaultdict(list)
        for psn, d in s.execute(select(m.PersonDisease.psn_no, m.PersonDisease.disease)):
            diseases[psn].append(d)
        persons = [[p.psn_no, p.id_no, p.name, p.gender, p.birth_date.isoformat(), p.insutype,
                    _CATEGORY_LABELS.get(p.category, p.category), p.admdvs,
                    p.paid_on.isoformat() if p.paid_on else "", p.pay_period, "是" if p.waiting_exempt else "否",
                    p.family_doctor_at, ",".join(sorted(diseases[p.psn_no])),
                    str(fen_to_yuan(int(p.acct_balance * 100) - spent.get(p.psn_no, 0))), as_of.isoformat()]
                   for p in s.execute(select(m.Person).order_by(m.Person.psn_no)).scalars()]
    known = {r[0] for r in persons}
    usage = [[psn, y, BENEFITS.get(b, b), d, q or "", str(fen_to_yuan(fen)), "", ""]
             for (psn, y, b, d, q, _i), fen in sorted(fund.items(), key=lambda kv: tuple(map(str, kv[0])))
             if fen and psn in known]
    usage += [r for r in counts if r[0] in known]
    return [list(PERSON_COLUMNS), *persons], [list(USAGE_COLUMNS), *usage]


def coverage(db: Database, clinic: str, as_of: date) -> tuple[date | None, str]:
    """The clinic's last covered day (the latest `covered_to` of its ingested exports: a day closed at the
    clinic when exported — an open day may still get settlements after the export) and, when `as_of` is
    after it, why the figures are not complete up to `as_of`."""
    with db.read() as s:
        last = s.execute(select(func.max(m.CountyExport.covered_to))
                         .where(m.CountyExport.fixmedins_code == clinic)).scalar()
        any_export = s.execute(select(m.CountyExport.id).where(m.CountyExport.fixmedins_code == clinic)).first()
    if last is not None and last >= as_of:
        return last, ""
    if any_export is None:
        return None, f"还没有导入过机构 {clinic} 的对账导出：其本机的结算不在这些数字中"
    if last is None:
        return None, (f"机构 {clinic} 已导入的对账导出没有一天是导出时已日结的：导出时未日结的日子之后仍可能有结算，"
                      f"截至 {as_of} 的数字不完整（请该机构日结后重新导出）")
    return last, (f"机构 {clinic} 已导入的对账导出只覆盖到 {last}（导出时已日结的最后一天）：{last} 之后到 {as_of} "
                  "的本机结算可能不在这些数字中（导出时未日结的日子之后仍可能有结算；请该机构日结后重新导出并导入）")


def write_usage(db: Database, clinic: str, as_of: date, out: str | Path) -> UsageResult:
    from openpyxl import Workbook

    persons, usage = usage_sheets(db, as_of)
    wb = Workbook(write_only=True)
    for title, rows in (("花名册", persons), ("待遇累计", usage)):
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)  # every cell as text or a plain integer: ID numbers stay exact
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    wb.save(tmp)
    tmp.replace(out)
    last, stale = coverage(db, clinic, as_of)
    return UsageResult(str(out), len(persons) - 1, len(usage) - 1, as_of, clinic, last, stale)
