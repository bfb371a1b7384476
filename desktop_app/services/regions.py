"""Names of 医保区划 / 行政区划 codes: the county-level table of Shanxi (14) and Henan (41) shipped in
`resources/regions/admdvs.csv` (source and columns: resources/regions/README.md).

`name("141102")` → 离石区, `name("141100")` → 吕梁市, `name("140000")` → 山西省; `full_name` joins the levels
(山西省吕梁市离石区). A code that is not in the table gives "" (the caller may fall back to a pack's name).
"""

from __future__ import annotations

import csv
import functools

from desktop_app.resources import runtime_dir


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, str, str]]:
    """code → (name, level, parent code)."""
    with (runtime_dir("resources/regions") / "admdvs.csv").open(encoding="utf-8", newline="") as fh:
        return {r["code"]: (r["name"], r["level"], r["parent"]) for r in csv.DictReader(fh)}


def name(code: str) -> str:
    row = _table().get(code or "")
    return row[0] if row else ""


def full_name(code: str) -> str:
    """The names from the province down (山西省吕梁市离石区); "" for an unknown code."""
    parts, seen = [], set()
    while code and code in _table() and code not in seen:
        seen.add(code)
        n, _level, parent = _table()[code]
        parts.append(n)
        code = parent
    return "".join(reversed(parts))


def codes(level: str | None = None) -> list[str]:
    return [c for c, (_n, lv, _p) in _table().items() if level is None or lv == level]
