"""The clinic's price list (药品/诊疗/耗材) for item entry: by code, name or pinyin initials."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from desktop_app.store import models as m
from desktop_app.store.db import Database


@dataclass(frozen=True)
class ClinicItemInfo:
    code: str
    name: str
    pinyin: str
    kind: str
    chrgitm_lv: str
    fee_category: str
    unit: str
    price: str
    pay_std: str | None


def _info(i: m.ClinicItem) -> ClinicItemInfo:
    return ClinicItemInfo(i.code, i.name, i.pinyin, i.kind, i.chrgitm_lv, i.fee_category, i.unit, i.price, i.pay_std)


def all_items(db: Database) -> list[ClinicItemInfo]:
    with db.read() as s:
        return [_info(i) for i in s.execute(select(m.ClinicItem).where(m.ClinicItem.active.is_(True))
                                            .order_by(m.ClinicItem.code)).scalars()]


def search_items(db: Database, query: str, limit: int = 30) -> list[ClinicItemInfo]:
    q = query.strip()
    if not q:
        return []
    with db.read() as s:
        rows = s.execute(select(m.ClinicItem).where(m.ClinicItem.active.is_(True), or_(
            m.ClinicItem.code.startswith(q, autoescape=True), m.ClinicItem.pinyin.startswith(q.lower(), autoescape=True),
            m.ClinicItem.name.contains(q, autoescape=True))).order_by(m.ClinicItem.code).limit(limit)).scalars()
        return [_info(i) for i in rows]
