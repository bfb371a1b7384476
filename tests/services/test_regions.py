"""The shipped 行政区划 table: every row well formed, every county under an existing prefecture, the counties
of Shanxi and Henan all there, and the names the clerk sees (141102 → 离石区)."""

import csv
import re

from desktop_app.resources import runtime_dir
from desktop_app.services import regions


def rows():
    with (runtime_dir("resources/regions") / "admdvs.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_rows_are_well_formed_and_parents_exist():
    table = {r["code"]: r for r in rows()}
    assert len(table) == len(rows())  # no code twice
    for code, r in table.items():
        assert re.fullmatch(r"(14|41)\d{4}", code), code
        assert r["name"] and r["level"] in ("province", "city", "county", "county_stat"), r
        if r["level"] != "province":
            assert r["parent"] in table, r
            assert code[:2] == r["parent"][:2]


def test_every_county_of_shanxi_and_henan_is_there():
    counties = [r for r in rows() if r["level"] == "county"]
    by_province = {p: sum(1 for r in counties if r["code"].startswith(p)) for p in ("14", "41")}
    # 山西 11 prefectures / 117 county-level divisions; 河南 17 prefectures + 济源 / 157 (MCA list, 2023)
    assert by_province == {"14": 117, "41": 157}, by_province
    assert sum(1 for r in rows() if r["level"] == "city") == 11 + 18


def test_names_the_clerk_sees():
    assert regions.name("141102") == "离石区"
    assert regions.full_name("141102") == "山西省吕梁市离石区"
    assert regions.name("140830") == "芮城县" and regions.name("140902") == "忻府区"
    assert regions.name("410300") == "洛阳市" and regions.name("410308") == "孟津区"
    assert regions.name("419001") == "济源市" and regions.name("999999") == ""
