"""开业检查: what is missing before a clinic's first real settlement — identity, policy packs in force today,
the roster, the insurance catalogue, the price list (0 items = not ready), unmapped items, operators.
The window's 开业检查 panel and `clinic-settle check-ready` show the same list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from desktop_app.errors import Refused
from desktop_app.services import catalogue
from desktop_app.store import models as m
from desktop_app.store.db import Database

OK, WARN, MISSING = "ok", "warn", "missing"
# where things are done, by the window's own tab names (gui/app.py): the CLI user has the commands instead
ADMIN_TAB = "政策包与花名册、设置"
FEW = 5  # items named in a warning; the rest are counted
STATUS_LABELS = {OK: "已就绪", WARN: "请注意", MISSING: "缺少"}


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    status: str  # OK / WARN / MISSING
    detail: str


@dataclass(frozen=True)
class Readiness:
    on: date
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Nothing missing (warnings do not stop a settlement)."""
        return all(c.status != MISSING for c in self.checks)


def _identity(s) -> Check:
    from desktop_app.services.settings import LABELS, clinic_settings

    cs = clinic_settings(s)
    unset = cs.unset()
    if unset:
        return Check("identity", "本机构信息", MISSING, "未设置：" + "、".join(LABELS.get(k, k) for k in unset)
                     + f"（在“{ADMIN_TAB}”页填写）")
    return Check("identity", "本机构信息", OK, f"{cs.clinic_name}（{cs.clinic_code}），医保区划 {cs.get('clinic_admdvs')}")


def _packs(db: Database, s, on: date) -> Check:
    from desktop_app.services import packs as packs_service
    from desktop_app.services.settings import clinic_settings

    region = clinic_settings(s).get("clinic_admdvs")
    n = s.execute(select(func.count()).select_from(m.PolicyPack)).scalar() or 0
    if not n:
        return Check("packs", "政策包", MISSING, f"没有导入政策包（在“{ADMIN_TAB}”页导入）")
    try:
        chain = packs_service.policy(db, s).chain_for(region)
    except Refused as exc:  # a tampered or unreadable stored pack
        return Check("packs", "政策包", MISSING, exc.message)
    live = [p for p in (chain.params("in_force") if chain else []) if p.start <= on < p.end and p.value is True]
    if not live:
        return Check("packs", "政策包", MISSING, f"已导入 {n} 个政策包，但本机构所在区划 {region} 在 {on} 没有生效的待遇")
    return Check("packs", "政策包", OK, f"已导入 {n} 个政策包；{on} 有 {len(live)} 项待遇生效")


def _count(s, model) -> int:
    return s.execute(select(func.count()).select_from(model)).scalar() or 0


def _few(names) -> str:
    names = list(names)
    return "、".join(names[:FEW]) + (f" 等 {len(names)} 个" if len(names) > FEW else "")


def _mapping(c: catalogue.PriceListCounts) -> Check:
    """Ready only when there are items and every one is mapped; the unmapped ones named (the first few)."""
    if not c.items:
        return Check("mapping", "目录对照", WARN, "收费目录中没有项目，还没有可对照的项目")
    if not c.unmapped and not c.expired:
        return Check("mapping", "目录对照", OK, f"{c.items} 个项目都已对照医保目录")
    parts = []
    if c.unmapped:
        parts.append(f"{c.unmapped} 个项目未对照：{_few(c.unmapped_names)}")
    if c.expired:
        parts.append(f"{len(c.expired)} 个项目对照的目录编码已失效：{_few(c.expired)}")
    return Check("mapping", "目录对照", WARN, "；".join(parts) + "。这些项目按全自费结算（在“收费目录”页对照）")


def check_ready(db: Database, on: date | None = None) -> Readiness:
    on = on or date.today()
    with db.read() as s:
        checks = [_identity(s), _packs(db, s, on)]
        persons = _count(s, m.Person)
        checks.append(Check("roster", "花名册", OK if persons else MISSING,
                            f"{persons} 名参保人" if persons else f"没有导入花名册（在“{ADMIN_TAB}”页导入）"))
        operators = s.execute(select(m.Operator.role, func.count()).where(m.Operator.active.is_(True))
                              .group_by(m.Operator.role)).all()
    c = catalogue.counts(db, on)
    checks.append(Check("catalogue", "医保目录", OK if c.catalogue_codes_in_force else MISSING,
                        f"{c.catalogue_codes_in_force} 个编码在 {on} 有效（共 {c.catalogue_rows} 行）"
                        if c.catalogue_codes_in_force else "没有在今天有效的医保目录（在“收费目录”中导入）：所有项目将按全自费结算"))
    if not c.items:
        checks.append(Check("prices", "收费目录", MISSING, "收费目录中没有项目（在“收费目录”中导入或添加）"))
    elif c.no_price:
        checks.append(Check("prices", "收费目录", MISSING, f"{len(c.no_price)} 个项目今天没有有效单价："
                            + "、".join(c.no_price[:10])))
    else:
        checks.append(Check("prices", "收费目录", OK, f"{c.items} 个项目（停用 {c.stopped} 个）"))
    checks.append(_mapping(c))
    roles = dict(operators)
    checks.append(Check("operators", "操作员", OK if roles.get("supervisor") and sum(roles.values()) else MISSING,
                        f"管理员 {roles.get('supervisor', 0)} 人，收费员 {roles.get('clerk', 0)} 人"
                        + ("" if roles.get("clerk") else "（可在“操作员”中添加收费员）")))
    return Readiness(on, checks)
