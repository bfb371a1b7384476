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

# code, name, kind, class, fee category, unit, price, pay_std
PRICE_LIST = [
    ("XJ01CAA040A001", "阿莫西林胶囊", "drug", "01", "西药费", "盒", "12.50", None),
    ("XJ01DCA030A001", "头孢呋辛酯片", "drug", "02", "西药费", "盒", "23.80", "22.00"),
    ("XM01AEB010A001", "布洛芬缓释胶囊", "drug", "01", "西药费", "盒", "9.60", None),
    ("XC08CAA010A001", "硝苯地平缓释片", "drug", "01", "西药费", "盒", "15.20", None),
    ("XA10BAA010A001", "二甲双胍片", "drug", "01", "西药费", "盒", "8.40", None),
    ("XR05DAA010A001", "复方甘草片", "drug", "01", "西药费", "瓶", "4.50", None),
    ("XA02BCA010A001", "奥美拉唑肠溶胶囊", "drug", "02", "西药费", "盒", "18.90", None),
    ("XB01ACA010A001", "阿司匹林肠溶片", "drug", "01", "西药费", "盒", "11.30", None),
    ("XC10AAA050A001", "阿托伐他汀钙片", "drug", "02", "西药费", "盒", "27.60", None),
    ("XJ05ABA010A001", "阿昔洛韦片", "drug", "02", "西药费", "盒", "6.80", None),
    ("XB05BBA010A001", "氯化钠注射液(0.9% 250ml)", "drug", "01", "西药费", "袋", "3.20", None),
    ("XB05BAG010A001", "葡萄糖注射液(5% 250ml)", "drug", "01", "西药费", "袋", "3.50", None),
    ("ZA04AAB010A001", "板蓝根颗粒", "drug", "01", "中成药费", "袋", "1.20", None),
    ("ZA01AAA020A001", "连花清瘟胶囊", "drug", "02", "中成药费", "盒", "26.50", None),
    ("ZA09AAA030A001", "六味地黄丸", "drug", "02", "中成药费", "瓶", "16.00", None),
    ("ZA12BAA010A001", "复方丹参滴丸", "drug", "02", "中成药费", "瓶", "24.70", None),
    ("YP0001", "黄芪(饮片)", "drug", "02", "中药饮片费", "克", "0.12", None),
    ("YP0002", "当归(饮片)", "drug", "02", "中药饮片费", "克", "0.18", None),
    ("XZ0001", "维生素C咀嚼片(保健)", "drug", "03", "西药费", "瓶", "19.80", None),
    ("111000001", "普通门诊诊查费", "service", "01", "诊查费", "次", "10.00", None),
    ("110200005", "一般诊疗费", "service", "01", "诊查费", "次", "10.00", None),
    ("120400001", "肌肉注射", "service", "01", "治疗费", "次", "3.00", None),
    ("120400006", "静脉输液", "service", "01", "治疗费", "组", "8.00", None),
    ("250101015", "血常规(五分类)", "service", "01", "化验费", "次", "20.00", None),
    ("250102001", "尿常规", "service", "01", "化验费", "次", "8.00", None),
    ("250302001", "血糖测定", "service", "01", "化验费", "次", "6.00", None),
    ("310701001", "常规心电图", "service", "01", "检查费", "次", "20.00", None),
    ("220302001", "腹部B超", "service", "02", "检查费", "次", "60.00", None),
    ("310300001", "针灸", "service", "02", "治疗费", "次", "15.00", None),
    ("340200001", "推拿治疗", "service", "02", "治疗费", "次", "25.00", None),
    ("HC0001", "一次性输液器", "material", "02", "卫生材料费", "套", "2.50", None),
    ("HC0002", "一次性注射器(5ml)", "material", "01", "卫生材料费", "支", "0.60", None),
    ("HC0003", "医用棉签", "material", "03", "卫生材料费", "包", "1.50", None),
]

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
    _price_list(db)
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


def _price_list(db: Database) -> None:
    with db.write() as s:
        for code, name, kind, lv, fee, unit, price, pay_std in PRICE_LIST:
            if s.get(m.ClinicItem, code) is None:
                py = roster_service.pinyin_initials(name)  # Latin letters and digits kept: 维生素C → wssc…
                s.add(m.ClinicItem(code=code, name=name, pinyin=py, kind=kind, chrgitm_lv=lv, fee_category=fee,
                                   unit=unit, price=price, pay_std=pay_std, active=True))


