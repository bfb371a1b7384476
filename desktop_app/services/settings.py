"""Clinic settings kept in the database (`setting` table).

What the fund pays may not hang on a value the clinic edits for itself: the clinic's 定点救治病种
(designated diseases) come from the signed packs' institution lists by 机构编码 (`services/claims`,
docs/ledger.md). The old setting `clinic_designated_diseases` is no longer a setting: saving it is refused
as an unknown key, and a row of that name left in (or written into) the `setting` table is never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from desktop_app.store import models as m
from desktop_app.store.db import Database

DEFAULTS = {
    "clinic_code": "H00000000000",
    "clinic_name": "未设置机构名称",
    "clinic_admdvs": "140000",
    "clinic_level": "primary",
    "clinic_price_class": "3",
    "clinic_art_approved": "false",
    "receipt_format": "A5",
    "printer": "",
    "font_path": "",
    "max_qty": "999",  # 数量上限 per line
    "max_line_amount": "99999.99",  # 单行金额上限 (数量 × 单价), yuan
}
LABELS = {
    "clinic_code": "机构编码",
    "clinic_name": "机构名称",
    "clinic_admdvs": "机构医保区划",
    "clinic_level": "机构级别",
    "clinic_price_class": "收费价格类别",
    "clinic_art_approved": "批准开展辅助生殖技术",
    "receipt_format": "结算单格式",
    "printer": "打印机",
    "font_path": "字体文件",
    "max_qty": "数量上限",
    "max_line_amount": "单行金额上限（元）",
}


@dataclass(frozen=True)
class ClinicSettings:
    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.values.get(key, DEFAULTS[key])

    @property
    def clinic_code(self) -> str:
        return self.get("clinic_code")

    @property
    def clinic_name(self) -> str:
        return self.get("clinic_name")

    def unset(self) -> list[str]:
        """The keys of the clinic's identity still at their placeholder (机构编码, 机构名称): nothing is settled
        under `H00000000000 未设置机构名称`."""
        return [k for k in ("clinic_code", "clinic_name") if self.get(k) == DEFAULTS[k]]

    def institution(self) -> dict:
        """This clinic as the contract's `institution` object, without `designated_diseases` (from the packs)."""
        return {
            "code": self.clinic_code,
            "admdvs": self.get("clinic_admdvs"),
            "level": self.get("clinic_level"),
            "price_class": int(self.get("clinic_price_class")),
            "art_approved": self.get("clinic_art_approved") == "true",
        }


def clinic_settings(s) -> ClinicSettings:
    return ClinicSettings({r.key: r.value for r in s.execute(select(m.Setting)).scalars()})


def load(db: Database) -> ClinicSettings:
    with db.read() as s:
        return clinic_settings(s)


CLINIC_CODE = re.compile(r"H\d{11}")  # 定点医药机构编码: H + 11 digits (H14110200031)
CHOICES = {"clinic_level": ("primary", "county", "city"), "clinic_price_class": ("1", "2", "3"),
           "receipt_format": ("A5", "80mm"), "clinic_art_approved": ("true", "false")}


def problems(values: dict[str, str]) -> list[tuple[str, str]]:
    """(field, message) for every value that cannot be saved; empty when all can (the window shows them all)."""
    out = []
    for k, v in values.items():
        v = str(v)
        if k not in DEFAULTS:
            out.append(("key", f"未知的设置项：{k}（可设置：{'、'.join(DEFAULTS)}）"))
        elif k == "clinic_code" and not CLINIC_CODE.fullmatch(v):
            out.append((k, f"机构编码须为定点医药机构编码：大写 H 加 11 位数字（如 H14110200031），收到“{v[:20]}”"))
        elif k == "clinic_name" and not v.strip():
            out.append((k, "机构名称不能为空"))
        elif k == "clinic_admdvs" and not (v.isascii() and v.isdigit() and len(v) == 6):
            out.append((k, "机构医保区划须为6位数字"))
        elif k in CHOICES and v not in CHOICES[k]:
            out.append((k, f"{LABELS[k]}须为 {' / '.join(CHOICES[k])}"))
    return out


def check(values: dict[str, str]) -> None:
    """Refuse (invalid_input, naming the key) an unknown key or a value the program cannot use."""
    from desktop_app.errors import Refused

    bad = problems(values)
    if bad:
        raise Refused("；".join(msg for _f, msg in bad), field=bad[0][0], code="invalid_input")
    for key in ("max_qty", "max_line_amount"):
        try:
            check_limits({key: values[key]} if key in values else {})
        except ValueError as exc:
            raise Refused(str(exc), field=key, code="invalid_input") from None


def check_limits(values: dict[str, str]) -> None:
    """数量上限 and 单行金额上限 are positive numbers (the ledger refuses a line above them)."""
    from decimal import Decimal, InvalidOperation

    for key, dp in (("max_qty", 2), ("max_line_amount", 2)):
        if key not in values:
            continue
        try:
            v = Decimal(str(values[key]).strip())
            ok = v.is_finite() and 0 < v < Decimal("1e9") and v == v.quantize(Decimal(1).scaleb(-dp))
        except InvalidOperation:
            ok = False
        if not ok:
            raise ValueError(f"{LABELS[key]}须为大于 0 的数字（最多 {dp} 位小数）")


def save(db: Database, values: dict[str, str], *, actor: str) -> ClinicSettings:
    from desktop_app.services import audit

    check(values)
    digest = audit.settings_digest  # recorded before/after; `audit verify` compares the stored settings

    from desktop_app.services.accounts import require_supervisor

    with db.write() as s:
        require_supervisor(s, actor, "修改设置")
        before = clinic_settings(s).values
        for k, v in values.items():
            row = s.get(m.Setting, k)
            if row is None:
                s.add(m.Setting(key=k, value=str(v)))
            else:
                row.value = str(v)
        s.flush()
        after = clinic_settings(s).values
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        audit.append(s, actor, "settings", ",".join(changed)[:64], {"changed": changed},
                     before=digest(before), after=digest(after))
    return load(db)
