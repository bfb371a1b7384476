"""Clinic settings kept in the database (`setting` table)."""

from __future__ import annotations

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
    "clinic_designated_diseases": "",
    "receipt_format": "A5",
    "printer": "",
    "font_path": "",
}
LABELS = {
    "clinic_code": "机构编码",
    "clinic_name": "机构名称",
    "clinic_admdvs": "机构医保区划",
    "clinic_level": "机构级别",
    "clinic_price_class": "收费价格类别",
    "clinic_art_approved": "批准开展辅助生殖技术",
    "clinic_designated_diseases": "定点救治病种",
    "receipt_format": "结算单格式",
    "printer": "打印机",
    "font_path": "字体文件",
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
        """This clinic as the contract's `institution` object."""
        return {
            "code": self.clinic_code,
            "admdvs": self.get("clinic_admdvs"),
            "level": self.get("clinic_level"),
            "price_class": int(self.get("clinic_price_class")),
            "art_approved": self.get("clinic_art_approved") == "true",
            "designated_diseases": [d for d in self.get("clinic_designated_diseases").split(",") if d],
        }


def clinic_settings(s) -> ClinicSettings:
    return ClinicSettings({r.key: r.value for r in s.execute(select(m.Setting)).scalars()})


def load(db: Database) -> ClinicSettings:
    with db.read() as s:
        return clinic_settings(s)


CHOICES = {"clinic_level": ("primary", "county", "city"), "clinic_price_class": ("1", "2", "3"),
           "receipt_format": ("A5", "80mm"), "clinic_art_approved": ("true", "false")}


def check(values: dict[str, str]) -> None:
    """Refuse (invalid_input, naming the key) an unknown key or a value the program cannot use."""
    from desktop_app.errors import Refused

    for k, v in values.items():
        if k not in DEFAULTS:
            raise Refused(f"未知的设置项：{k}（可设置：{'、'.join(DEFAULTS)}）", field="key", code="invalid_input")
        if k in ("clinic_code", "clinic_name") and not str(v).strip():
            raise Refused(f"{LABELS[k]}不能为空", field=k, code="invalid_input")
        if k == "clinic_admdvs" and not (str(v).isascii() and str(v).isdigit() and len(str(v)) == 6):
            raise Refused(f"{LABELS[k]}须为6位数字", field=k, code="invalid_input")
        if k in CHOICES and str(v) not in CHOICES[k]:
            raise Refused(f"{LABELS[k]}须为 {' / '.join(CHOICES[k])}", field=k, code="invalid_input")


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
