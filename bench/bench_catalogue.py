"""Catalogue benchmarks (#15) — prints figures for docs/benchmarks.md.

    python bench/bench_catalogue.py [--rows 300000] [--items 3000] [--keep DIR]

- import of an N-row insurance catalogue (.xlsx) into a fresh database, against the raw read of the same
  file by python-calamine (the floor: what reading the cells alone costs); goal ≤ 30 s;
- item search while typing on an M-item price list mapped into that catalogue (search_items, p50/p95);
  goal ≤ 5 ms p95;
- a 10-line visit settled from the list (code + qty: price list and catalogue looked up) against the
  same visit with its lines typed in full (price, kind, class: the path that reads neither list).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model

HEADER = ["医保目录编码", "医保目录名称", "目录类别", "收费项目等级", "支付标准", "限定支付范围", "医保区划", "开始日期",
          "结束日期"]
SYLLABLES = "阿莫西林头孢呋辛酯布洛芬缓释胶囊硝苯地平二甲双胍复方甘草奥美拉唑肠溶司匹氯化钠葡萄糖板蓝根颗粒连花清瘟六味黄丸丹参滴"
FORMS = ("片", "胶囊", "颗粒", "注射液", "缓释片", "口服液", "软膏", "滴眼液")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(xs: list[float]) -> str:
    return f"p50 {statistics.median(xs) * 1000:.2f} ms, p95 {pct(xs, 95) * 1000:.2f} ms (n={len(xs)})"


def catalogue_rows(n: int, seed: int = 15) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        cat = rng.choice(("101", "101", "101", "102", "201", "301"))
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 6))) + rng.choice(FORMS)
        pay_std = f"{rng.randint(100, 99999) / 100:.2f}" if rng.random() < 0.2 else ""
        limit = "限二级及以上医疗机构使用" if rng.random() < 0.05 else ""
        rows.append([f"X{cat}{i:018d}", name, cat, rng.choice(("01", "02", "03")), pay_std, limit, "", "2024-01-01", ""])
    return rows


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """A plain .xlsx with inline-string cells (what a province's export tool writes; fast to produce)."""
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData>']
    for r, row in enumerate([header, *rows], start=1):
        cells = "".join(f'<c r="{_col(c)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                        for c, v in enumerate(row) if v != "")
        parts.append(f'<row r="{r}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    ns = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/main" '
        f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="医保目录" sheetId="1" r:id="rId1"/>'
        '</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr("xl/worksheets/sheet1.xml", "".join(parts))


def bench_import(work: Path, n: int) -> tuple:
    from python_calamine import CalamineWorkbook

    from desktop_app.services import accounts
    from desktop_app.services.catalogue_import import import_catalogue
    from desktop_app.store.db import open_db

    xlsx = work / f"catalogue_{n}.xlsx"
    rows = catalogue_rows(n)
    if not xlsx.exists():
        write_xlsx(xlsx, HEADER, rows)
    t0 = time.perf_counter()
    wb = CalamineWorkbook.from_path(str(xlsx))
    raw = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    t_raw = time.perf_counter() - t0
    assert len(raw) == n + 1
    dbp = work / "catalogue.sqlite3"
    for p in work.glob("catalogue.sqlite3*"):
        p.unlink()
    db = open_db(dbp)
    accounts.create_first_supervisor(db, "admin")
    t0 = time.perf_counter()
    res = import_catalogue(db, xlsx, actor="admin")
    t_import = time.perf_counter() - t0
    assert res.written and res.inserted == n, (res.rejected, res.errors[:3])
    size = xlsx.stat().st_size / 1e6
    print(f"catalogue import: {n:,} rows, {size:.1f} MB .xlsx: calamine raw read {t_raw:.2f} s; "
          f"import_catalogue {t_import:.2f} s (ratio {t_import / t_raw:.1f}×; goal ≤ 30 s)")
    return db, rows


def bench_search(db, rows: list[list[str]], items: int, work: Path) -> None:
    import csv

    from desktop_app.services.catalogue import search_items
    from desktop_app.services.prices import import_prices

    rng = random.Random(3)
    picked = rng.sample(rows, items)
    path = work / "prices.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["机构项目编码", "机构项目名称", "规格", "单位", "单价", "收费类别", "医保目录编码", "开始日期"])
        for i, r in enumerate(picked):
            fee = {"101": "西药费", "102": "中药饮片费", "201": "治疗费", "301": "卫生材料费"}[r[2]]
            w.writerow([f"Y{i:05d}", r[1], "", "盒", f"{rng.randint(100, 9999) / 100:.2f}", fee, r[0], "2024-01-01"])
    t0 = time.perf_counter()
    res = import_prices(db, path, actor="admin")
    t_prices = time.perf_counter() - t0
    assert res.written and res.inserted == items, res.errors[:3]
    from desktop_app.services.roster import pinyin_initials

    typed: list[str] = []
    for r in rng.sample(picked, 60):  # what a clerk types: pinyin initials, a name fragment, a code, one key at a time
        py = pinyin_initials(r[1])
        typed += [py[:k] for k in range(1, min(len(py), 4) + 1)] + [r[1][:2], f"Y{rng.randrange(items):05d}"[:4]]
    on = date(2026, 11, 23)
    times = []
    for q in typed:
        t0 = time.perf_counter()
        search_items(db, q, on=on)
        times.append(time.perf_counter() - t0)
    print(f"price list: {items:,} items imported in {t_prices:.2f} s; item search while typing, service "
          f"search_items ({len(typed)} queries): {ms(times)} (goal ≤ 5 ms p95)")
    bench_item_box(db, typed, on)


def bench_item_box(db, typed: list[str], on: date) -> None:
    """The window's item box: the list loaded once (all_items), then each key filters it in Qt (QCompleter)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QStringListModel, Qt
    from PySide6.QtWidgets import QApplication, QCompleter

    from desktop_app.gui.items_pane import _item_label
    from desktop_app.services.catalogue import all_items

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    labels = [_item_label(i) for i in all_items(db, on)]
    t_load = time.perf_counter() - t0
    model = QStringListModel(labels)  # (kept referenced: the completer does not own it)
    comp = QCompleter(model, None)
    comp.setFilterMode(Qt.MatchFlag.MatchContains)
    comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    times, hits = [], 0
    for q in typed:
        t0 = time.perf_counter()
        comp.setCompletionPrefix(q)
        hits += comp.completionCount()
        times.append(time.perf_counter() - t0)
    assert hits, "the completer found nothing: it did not filter"
    del app
    print(f"window item box: {len(labels):,} items loaded in {t_load * 1000:.0f} ms (once, and when the 结算 tab "
          f"is shown); filtering while typing: {ms(times)}")


def bench_settle(work: Path, runs: int) -> None:
    from desktop_app.services import demo, ledger, ledger_types
    from desktop_app.store import models as m
    from desktop_app.store.db import open_db

    for p in work.glob("settle.sqlite3*"):
        p.unlink()
    db = open_db(work / "settle.sqlite3")
    today = date(2026, 11, 23)
    demo.create_demo(db, persons=40, today=today)
    from sqlalchemy import select

    with db.read() as s:
        psns = list(s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                              ).scalars())
    listed = ["XJ01CAA040A001", "XJ01DCA030A001", "XM01AEB010A001", "ZA04AAB010A001", "YP0001", "111000001",
              "120400001", "250101015", "220302001", "HC0001"]
    from desktop_app.services.catalogue import all_items

    info = {i.code: i for i in all_items(db, today)}
    by_list = [ledger_types.ItemInput(c, "1") for c in listed]
    typed = [ledger_types.ItemInput(f"T{c}", "1", price=info[c].price, kind=info[c].kind,
                                    chrgitm_lv=info[c].chrgitm_lv, pay_std=info[c].pay_std) for c in listed]
    times: dict[str, tuple[list, list]] = {"from the list (code + qty)": ([], []), "lines typed in full": ([], [])}
    for i in range(runs):  # interleaved: both see the same growing history
        for label, lines in (("from the list (code + qty)", by_list), ("lines typed in full", typed)):
            v = ledger_types.VisitInput(psns[i % len(psns)], today, "general_outpatient", lines)
            pre, done = times[label]
            t0 = time.perf_counter()
            ledger.presettle(db, v, operator="clerk", today=today)
            pre.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ledger.settle(db, v, operator="clerk", today=today)
            done.append(time.perf_counter() - t0)
    for label, (pre, done) in times.items():
        print(f"10-line visit {label}: presettle {ms(pre)}; settle {ms(done)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--keep", help="work folder kept between runs (the generated .xlsx is reused)")
    a = ap.parse_args()
    print(f"machine: {cpu_model()}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(a.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        db, rows = bench_import(work, a.rows)
        db.dispose()  # searched from a fresh start, as the window would after the import
        from desktop_app.store.db import open_db

        db = open_db(work / "catalogue.sqlite3")
        bench_search(db, rows, a.items, work)
        db.dispose()
        bench_settle(work, a.runs)


if __name__ == "__main__":
    main()
