"""Deterministic generator of mixed claim dicts (docs/calc.md input).

    from claimgen import generate
    claims = generate(100_000, seed=20240610)      # list of JSON-like dicts

or, as a script, one claim per line (JSONL) for ``clinic-settle calc --batch``:

    python bench/claimgen.py --n 1000 --seed 7 > claims.jsonl

Everything comes from one ``random.Random(seed)``: the same seed gives the same
claims on every machine and Python version that keeps ``random``'s algorithms.

The mix covers all five benefits, both insutypes, the five benchmark regions
(140100 太原 province-only, 140902 忻州忻府区, 141102 吕梁离石区, 140830 芮城,
410300 洛阳), the three levels and price classes, 1–8 items of random kind /
class / payment standard, and 0–10 earlier entries of the same year dated on or
before the visit (same-day entries at the same institution exercise Luoyang's
once-a-day deductible). Visit dates are drawn from the window in which the
benefit's documents are in force (2024–2025), so most claims compute; the
combinations the packs leave open or do not cover on purpose (e.g. 山西职工普通门诊,
洛阳两病, 洛阳职工生育, 慢特病/辅助生殖 in 洛阳, 生育/两病 in 山西) raise
``PolicyError`` (exit 3) by design and are counted by the benchmarks.

Money is always a string with exactly two decimals, quantities are strings;
nothing here goes through float.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ITEMS_CSV = ROOT / "resources" / "policy_packs" / "cn-140000-shanxi" / "items.csv"

REGIONS = ("140100", "140902", "141102", "140830", "410300")
SHANXI = ("140100", "140902", "141102", "140830")
# Institution regions used for 省内异地 and 跨省 visits.
OTHER_SHANXI = ("140100", "140902", "141102", "140830", "140200", "140700")
OTHER_PROVINCE = ("410300", "110105", "610100")

BENEFITS = ("general_outpatient", "chronic_special", "assisted_reproduction",
            "two_diseases", "maternity_delivery")
# Benefit weights: ordinary outpatient dominates real traffic.
BENEFIT_WEIGHTS = (55, 15, 15, 5, 10)
# Where each benefit's claims come from (参保地), as weights over REGIONS: the
# province benefits mostly from Shanxi, the Luoyang ones mostly from Luoyang,
# with a share of uncovered combinations left in on purpose.
REGION_WEIGHTS = {
    "general_outpatient": (1, 1, 1, 1, 1),
    "chronic_special": (2, 2, 3, 2, 1),
    "assisted_reproduction": (2, 2, 2, 3, 1),
    "two_diseases": (1, 1, 1, 1, 6),
    "maternity_delivery": (1, 1, 1, 1, 8),
}
# Share of employees (310) per benefit.
EMPLOYEE_SHARE = {
    "general_outpatient": 0.20,
    "chronic_special": 0.45,
    "assisted_reproduction": 0.45,
    "two_diseases": 0.20,
    "maternity_delivery": 0.25,
}

# Earliest visit date per benefit at which some shipped document is in force.
WINDOW_START = {
    "general_outpatient": date(2024, 1, 1),
    "chronic_special": date(2024, 5, 1),       # 晋医保发〔2024〕3号/4号
    "assisted_reproduction": date(2024, 10, 1),  # 晋医保发〔2024〕16号
    "two_diseases": date(2024, 1, 1),          # 洛医保〔2023〕63号
    "maternity_delivery": date(2024, 1, 1),
}
WINDOW_END = date(2025, 12, 31)

KINDS = ("drug", "service", "material")
CLASSES = ("01", "02", "03")
LEVELS = ("primary", "county", "city")
RELATIONS = ("spouse", "parent", "child", "sibling", "grandparent", "other")

DRUG_NAMES = ("阿莫西林胶囊", "头孢克肟片", "二甲双胍片", "硝苯地平缓释片", "青霉胺片",
              "葡萄糖酸锌片", "布洛芬缓释胶囊", "复方甘草片")
SERVICE_NAMES = ("一般诊疗费", "血常规", "肝功能检查", "血清铜蓝蛋白测定", "B超检查", "静脉输液")
MATERIAL_NAMES = ("一次性注射器", "输液器", "医用棉签", "敷料")


def load_ar_codes(path: Path = ITEMS_CSV) -> tuple[tuple[str, str, str], ...]:
    """(code, name, class) of the assisted-reproduction catalogue in the Shanxi pack."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["benefit"] == "assisted_reproduction"]
    return tuple((r["code"], r["name"], r["chrgitm_lv"]) for r in rows)


def money(cents: int) -> str:
    """Cents → a two-decimal string, without float."""
    return f"{cents // 100}.{cents % 100:02d}"


class ClaimGen:
    """Draws claims from one `random.Random(seed)`."""

    def __init__(self, seed: int = 0, ar_codes: tuple[tuple[str, str, str], ...] | None = None):
        self.rng = random.Random(seed)
        self.ar_codes = ar_codes if ar_codes is not None else load_ar_codes()
        self._seq = 0

    # ---- small draws ------------------------------------------------------
    def _date_between(self, a: date, b: date) -> date:
        return a + timedelta(days=self.rng.randint(0, (b - a).days))

    def _cents(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def _qty(self) -> str:
        r = self.rng.random()
        if r < 0.80:
            return str(self.rng.randint(1, 5))
        if r < 0.95:
            return self.rng.choice(("0.5", "1.5", "2.5", "0.25"))
        return str(self.rng.randint(6, 30))

    def _inst_code(self, admdvs: str) -> str:
        return f"H{admdvs}{self.rng.randint(1, 60):05d}"

    # ---- parts of a claim -------------------------------------------------
    def _insured(self, region: str, benefit: str) -> dict:
        rng = self.rng
        employee = rng.random() < EMPLOYEE_SHARE[benefit]
        if employee:
            insutype = "310"
            category = "employee_active" if rng.random() < 0.7 else "employee_retired"
            balance = money(self._cents(0, 300_000))
        else:
            insutype = "390"
            category = "student" if rng.random() < 0.12 else "resident"
            balance = money(self._cents(0, 20_000)) if rng.random() < 0.3 else "0.00"
        ins: dict = {"insutype": insutype, "category": category, "admdvs": region}
        if rng.random() < 0.25:
            ins["family_doctor_at"] = self._inst_code(region)
        if benefit == "chronic_special":
            ins["registered_diseases"] = ["M01904"] if rng.random() < 0.85 else []
        elif rng.random() < 0.1:
            ins["registered_diseases"] = ["M01904"]
        if insutype == "390" and rng.random() < 0.15:
            paid = self._date_between(date(2023, 12, 1), date(2025, 6, 30))
            ins["contribution"] = {"paid_on": paid.isoformat(),
                                   "in_extended_period": rng.random() < 0.6,
                                   "waiting_exempt": rng.random() < 0.2}
        ins["acct_balance"] = balance
        return ins

    def _institution(self, region: str, benefit: str) -> dict:
        rng = self.rng
        r = rng.random()
        if r < 0.80:
            iadm = region
        elif r < 0.92:
            iadm = rng.choice(OTHER_SHANXI) if region in SHANXI else region
        else:
            iadm = rng.choice(OTHER_PROVINCE if region in SHANXI else OTHER_SHANXI)
        if benefit in ("chronic_special", "assisted_reproduction", "maternity_delivery"):
            level = rng.choice(("county", "city", "city"))
        else:
            level = rng.choice(("primary", "primary", "county", "city"))
        inst: dict = {
            "code": self._inst_code(iadm),
            "admdvs": iadm,
            "level": level,
            "price_class": rng.choice((1, 2, 3, 3)),
        }
        if benefit == "assisted_reproduction":
            inst["art_approved"] = rng.random() < 0.85
        elif rng.random() < 0.05:
            inst["art_approved"] = True
        if benefit == "chronic_special":
            inst["designated_diseases"] = ["M01904"] if rng.random() < 0.8 else []
        return inst

    def _item(self, benefit: str) -> dict:
        rng = self.rng
        if benefit == "assisted_reproduction" and rng.random() < 0.8:
            code, name, lv = rng.choice(self.ar_codes)
            # the claim line's class sometimes disagrees with the catalogue's
            if rng.random() < 0.1:
                lv = "01" if lv == "02" else "02"
            price = self._cents(20_000, 600_000)
            item = {"code": code, "name": name, "kind": "service", "chrgitm_lv": lv,
                    "qty": rng.choice(("1", "1", "1", "2", "3", "4")), "price": money(price)}
            r = rng.random()
            if r < 0.5:
                # 晋医保函〔2024〕46号 price: around the charged price
                item["pay_std"] = money(max(0, price + self._cents(-20_000, 10_000)))
            return item
        kind = rng.choices(KINDS, weights=(6, 3, 1))[0]
        lv = rng.choices(CLASSES, weights=(5, 4, 1))[0]
        if kind == "drug":
            code, name = f"XA{rng.randint(1, 9999):04d}", rng.choice(DRUG_NAMES)
            price = self._cents(50, 30_000)
        elif kind == "service":
            code, name = f"XS{rng.randint(1, 9999):04d}", rng.choice(SERVICE_NAMES)
            price = self._cents(100, 80_000)
        else:
            code, name = f"XM{rng.randint(1, 9999):04d}", rng.choice(MATERIAL_NAMES)
            price = self._cents(10, 20_000)
        if benefit == "maternity_delivery":
            price = self._cents(5_000, 300_000)
        item = {"code": code, "name": name, "kind": kind, "chrgitm_lv": lv,
                "qty": self._qty(), "price": money(price)}
        r = rng.random()
        if r < 0.15:
            item["pay_std"] = money(max(0, price - self._cents(0, price // 2 + 1)))  # above std → 超限价
        elif r < 0.25:
            item["pay_std"] = money(price + self._cents(0, 1_000))  # below std
        else:
            item["pay_std"] = None
        return item

    def _history(self, day: date, benefit: str, inst_code: str, disease: str | None) -> list[dict]:
        rng = self.rng
        n = rng.randint(0, 10)
        if n == 0:
            return []
        jan1 = date(day.year, 1, 1)
        out = []
        for _ in range(n):
            same_day = rng.random() < 0.1
            hday = day if same_day else self._date_between(jan1, day - timedelta(days=1)) if day > jan1 else day
            hbenefit = benefit if rng.random() < 0.8 else rng.choice(BENEFITS)
            hdisease = None
            if hbenefit == "chronic_special":
                hdisease = disease if (disease and rng.random() < 0.9) else "M00700"
            entry: dict = {
                "date": hday.isoformat(),
                "institution": inst_code if (same_day or rng.random() < 0.3) else self._inst_code("141102"),
                "benefit": hbenefit,
                "disease": hdisease,
                "hifp_pay": money(self._cents(0, 150_000 if hbenefit == "chronic_special" else 12_000)),
                "act_pay_dedc": rng.choice(("0.00", "0.00", "50.00", "80.00")),
            }
            if hbenefit == "assisted_reproduction":
                entry["items"] = [{"code": rng.choice(self.ar_codes)[0], "qty": str(rng.randint(1, 2))}
                                  for _ in range(rng.randint(0, 3))]
            out.append(entry)
        return out

    # ---- one claim --------------------------------------------------------
    def claim(self) -> dict:
        rng = self.rng
        self._seq += 1
        benefit = rng.choices(BENEFITS, weights=BENEFIT_WEIGHTS)[0]
        region = rng.choices(REGIONS, weights=REGION_WEIGHTS[benefit])[0]
        day = self._date_between(WINDOW_START[benefit], WINDOW_END)
        insured = self._insured(region, benefit)
        inst = self._institution(region, benefit)
        if insured.get("family_doctor_at") and rng.random() < 0.5:
            insured["family_doctor_at"] = inst["code"]
        disease = "M01904" if benefit == "chronic_special" else None
        delivery = rng.choice(("natural", "cesarean")) if benefit == "maternity_delivery" else None
        items = [self._item(benefit) for _ in range(rng.randint(1, 8))]
        claim: dict = {
            "date": day.isoformat(),
            "benefit": benefit,
            "disease": disease,
            "delivery": delivery,
            "insured": insured,
            "institution": inst,
            "use_account": rng.random() < 0.85,
            "family_account": None,
            "items": items,
            "history": self._history(day, benefit, inst["code"], disease),
        }
        if rng.random() < 0.12:
            claim["family_account"] = {"relation": rng.choice(RELATIONS),
                                       "balance": money(self._cents(0, 200_000))}
        return claim


def generate(n: int, seed: int = 20240610) -> list[dict]:
    """`n` claims from `seed` (deterministic)."""
    g = ClaimGen(seed)
    return [g.claim() for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write n generated claims as JSONL to stdout.")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240610)
    args = ap.parse_args(argv)
    g = ClaimGen(args.seed)
    out = sys.stdout
    for _ in range(args.n):
        out.write(json.dumps(g.claim(), ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
