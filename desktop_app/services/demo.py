"""Demo data: a township health centre in 吕梁市离石区, two operators, the shipped
packs, a price list, and a synthetic roster (valid ID numbers) imported through
the ordinary roster import. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import random
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from desktop_app.core import caps
from desktop_app.services import packs as packs_service
from desktop_app.services import roster as roster_service
from desktop_app.services import settings as settings_service
from desktop_app.services.accounts import create_first_operators
from desktop_app.store import models as m
from desktop_app.store.db import Database

CLINIC = {
    "clinic_code": "H14110200031",
    "clinic_name": "吕梁市离石区信义镇卫生院（演示）",
    "clinic_admdvs": "141102",
    "clinic_level": "primary",
    "clinic_price_class": "3",
}
DEMO_OPERATORS = (("admin", "管理员", "supervisor", "admin123"), ("clerk", "收费员小王", "clerk", "clerk123"))

# the demo's 医保目录 and 收费目录: synthetic sample files imported through the ordinary imports
SAMPLE_CATALOGUE = "演示医保目录.csv"
SAMPLE_PRICES = "演示收费目录.csv"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文单解"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强晓东春梅海燕小红文博子涵浩然欣怡雨轩思远梓萱"
# county codes for ID numbers (birth place) in the seed regions
BIRTH_PLACES = ("142301", "141102", "142322", "140902", "142201", "140830", "140105", "410302", "410322")


@dataclass(frozen=True)
class DemoResult:
    db_path: str
    clinic_code: str
    persons: int
    operators: list[str]
    packs: int
    roster_file: str  # the name of the generated roster (written to a temporary folder, removed again)


def _id_number(rng: random.Random, birth: date, male: bool) -> str:
    from stdnum.cn import ric

    from desktop_app.services.roster_rows import validate_ric

    while True:
        place = rng.choice(BIRTH_PLACES)
        seq = rng.randrange(0, 50) * 2 + (1 if male else 0)
        body = f"{place}{birth:%Y%m%d}{rng.randrange(0, 10)}{seq:02d}"
        idn = body + ric.calc_check_digit(body + "0")  # stdnum expects the check digit position present
        try:
            return validate_ric(idn)  # the place code must have existed in the birth year
        except ValueError:
            continue


def _name(rng: random.Random) -> str:
    g = rng.choice(GIVEN) if rng.random() < 0.4 else rng.choice(GIVEN) + rng.choice(GIVEN)
    return rng.choice(SURNAMES) + g


def roster_rows(n: int, *, seed: int = 20241001, today: date | None = None,
                clinic_code: str = CLINIC["clinic_code"]) -> tuple[list[list[str]], list[list[str]]]:
    """Synthetic roster rows (header first) and 待遇累计 rows."""
    rng = random.Random(seed)
    today = today or date.today()
    as_of = today - timedelta(days=1)
    persons = [list(roster_service.PERSON_COLUMNS)]
    usage = [list(roster_service.USAGE_COLUMNS)]
    used_ids: set[str] = set()
    for i in range(n):
        r = rng.random()
        if r < 0.70:
            insutype, cat, admdvs = "390", "城乡居民", "141102"
        elif r < 0.75:
            insutype, cat, admdvs = "390", "大学生", "141102"
        elif r < 0.80:
            insutype, cat, admdvs = "390", "城乡居民", rng.choice(("140902", "140830", "410300"))
        elif r < 0.93:
            insutype, cat, admdvs = "310", "在职", "141102"
        else:
            insutype, cat, admdvs = "310", "退休", "141102"
        if cat == "大学生":
            age = rng.randint(18, 23)
        elif cat == "退休":
            age = rng.randint(60, 85)
        elif cat == "在职":
            age = rng.randint(22, 59)
        else:
            age = rng.randint(1, 88)
        birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
        male = rng.random() < 0.5
        idn = _id_number(rng, birth, male)
        while idn in used_ids:
            idn = _id_number(rng, birth, male)
        used_ids.add(idn)
        psn_no = f"{admdvs}{i + 1:08d}"
        late = insutype == "390" and rng.random() < 0.04
        paid_on = (today - timedelta(days=rng.randint(3, 40))) if late else date(today.year - 1, rng.randint(9, 12), rng.randint(1, 28))
        family = clinic_code if insutype == "390" and admdvs == "141102" and rng.random() < 0.3 else ""
        diseases = "M01904" if rng.random() < 0.01 else ""
        balance = str(Decimal(rng.randint(0, 300000)).scaleb(-2)) if insutype == "310" else "0.00"
        persons.append([
            psn_no, idn, _name(rng), "男" if male else "女", birth.isoformat(), insutype, cat, admdvs,
            paid_on.isoformat(), "延长" if late else "集中", "否", family, diseases, balance, as_of.isoformat(),
            str(paid_on.year if late else paid_on.year + 1),
        ])
        if insutype == "390" and rng.random() < 0.25:
            for q in range(1, caps.quarter_number(as_of) + 1):
                if rng.random() < 0.5:
                    usage.append([psn_no, str(as_of.year), "普通门诊统筹", "", str(q),
                                  str(Decimal(rng.randint(500, 9000)).scaleb(-2)), "", ""])
    return persons, usage


def create_demo(db: Database, *, persons: int = 500, seed: int = 20241001, today: date | None = None) -> DemoResult:
    """Fill an empty database with the demo clinic. Refuses a database that already holds persons or
    operators: the demo accounts have published passwords and must never appear in a clinic's real data."""
    with db.read() as s:
        if s.execute(select(m.Person.psn_no).limit(1)).first() is not None:
            raise ValueError("数据库中已有参保人员，不能再生成演示数据（演示数据只写入空数据库）")
        if s.execute(select(m.Operator.id).limit(1)).first() is not None:
            raise ValueError("数据库中已有操作员账户，不能再生成演示数据（演示账户的密码是公开的，只写入空数据库）")
    # the demo's supervisor sets up the rest (the services check the role: there is no "program itself")
    admin = create_first_operators(db, [(login, name, role, pw, False) for login, name, role, pw in DEMO_OPERATORS])[0]
    logins = [login for login, *_ in DEMO_OPERATORS]
    settings_service.save(db, CLINIC, actor=admin.login)
    synced = packs_service.sync_shipped(db, actor=admin.login)
    _price_list(db, admin.login)
    p_rows, u_rows = roster_rows(persons, seed=seed, today=today)
    with tempfile.TemporaryDirectory(prefix="clinic-demo-", ignore_cleanup_errors=True) as tmp:  # removed after
        roster = Path(tmp) / "演示花名册.csv"
        usage = Path(tmp) / "演示待遇累计.csv"
        for path, rows in ((roster, p_rows), (usage, u_rows)):
            with path.open("w", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh).writerows(rows)
        res = roster_service.import_roster(db, roster, usage_path=usage, actor=admin.login)
    if res.rejected:
        raise RuntimeError(f"演示花名册有 {res.rejected} 行未通过校验：{res.errors[:3]}")
    from desktop_app.privacy import mask_url_password

    return DemoResult(mask_url_password(str(db.path or db.url)), CLINIC["clinic_code"], res.inserted, logins, len(synced), roster.name)


def sample_file(name: str) -> Path:
    """A file of resources/samples (synthetic: see its README)."""
    from desktop_app.resources import runtime_dir

    return runtime_dir("resources/samples") / name


def _price_list(db: Database, actor: str) -> None:
    """The demo's catalogue and price list, through the same imports a clinic uses for its own files."""
    from desktop_app.services.catalogue_import import import_catalogue
    from desktop_app.services.prices import import_prices

    cat = import_catalogue(db, sample_file(SAMPLE_CATALOGUE), actor=actor)
    prices = import_prices(db, sample_file(SAMPLE_PRICES), actor=actor)
    if cat.rejected or prices.rejected:
        raise RuntimeError(f"演示目录有未通过校验的行：{(cat.errors + prices.errors)[:3]}")
