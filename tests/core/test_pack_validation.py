"""A malformed pack gets a validation error naming file and line — never a traceback, never a silent zero."""

import textwrap
from pathlib import Path

import pytest

from desktop_app.core.pack_files import load_pack, load_policy
from desktop_app.core.policy import PackInvalid, PolicySet

MANIFEST = """\
id = "t-149900"
name = "测试县"
admdvs = "149900"
level = "county"
parent = "cn-140000-shanxi"
version = "1.0.0"

[[document]]
number = "测医保发〔2025〕1号"
title = "测试文件"
effective = 2025-01-01
expires = 2027-01-01
"""

PARAM_OK = """\
[[param]]
key = "annual_cap"
benefit = "general_outpatient"
insutype = "390"
value = "400.00"
cite = "测医保发〔2025〕1号 一"
"""


def write(tmp_path: Path, params: str = PARAM_OK, manifest: str = MANIFEST, **csvs: str) -> Path:
    d = tmp_path / "pack"
    d.mkdir(exist_ok=True)
    (d / "pack.toml").write_text(manifest, encoding="utf-8")
    (d / "params.toml").write_text(params, encoding="utf-8")
    for name, text in csvs.items():
        (d / f"{name}.csv").write_text(textwrap.dedent(text), encoding="utf-8")
    return d


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PackInvalid) as exc:
        load_policy([path])
    return [str(p) for p in exc.value.problems]


def test_valid_override_pack_loads_and_overrides_per_interval(tmp_path):
    from datetime import date

    policy = load_policy([write(tmp_path)])
    chain = policy.chain_for("149901")
    ctx = {"benefit": "general_outpatient", "insutype": "390"}
    assert chain.resolve("annual_cap", ctx, date(2025, 6, 1)).value == 400
    # outside the county document's validity the province value holds again
    assert chain.resolve("annual_cap", ctx, date(2024, 6, 1)).value == 300
    assert chain.resolve("annual_cap", ctx, date(2027, 1, 1)).value == 300
    assert chain.resolve("annual_cap", ctx, date(2026, 12, 31)).value == 400


def test_unknown_key(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace('"annual_cap"', '"annual_cab"')))
    assert any("params.toml:2" in p and "未知的参数键“annual_cab”" in p for p in probs)


def test_unknown_field_in_param(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace("value =", "vaule =")))
    assert any("params.toml:5" in p and "vaule" in p for p in probs)


def test_missing_citation(tmp_path):
    params = "\n".join(line for line in PARAM_OK.splitlines() if not line.startswith("cite"))
    probs = problems_of(write(tmp_path, params))
    assert any("params.toml:1" in p and "缺少出处" in p for p in probs)


def test_citation_without_clause(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace("测医保发〔2025〕1号 一", "测医保发〔2025〕1号")))
    assert any("params.toml:6" in p and "文件号 条款" in p for p in probs)


def test_citation_of_unlisted_document(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace("测医保发〔2025〕1号 一", "测医保发〔2025〕9号 一")))
    assert any("params.toml:1" in p and "未在本包或上级包的清单中列出" in p for p in probs)


def test_overlap_same_selectors(tmp_path):
    params = PARAM_OK + "\n" + PARAM_OK.replace('"400.00"', '"500.00"')
    probs = problems_of(write(tmp_path, params))
    assert any("params.toml:8" in p and "日期重叠" in p for p in probs)


def test_adjacent_intervals_do_not_overlap(tmp_path):
    a = PARAM_OK.replace('value = "400.00"', 'value = "400.00"\nuntil = 2026-01-01')
    b = PARAM_OK.replace('value = "400.00"', 'value = "450.00"\nfrom = 2026-01-01')
    load_policy([write(tmp_path, a + "\n" + b)])


def test_ambiguous_equally_specific_selectors(tmp_path):
    a = PARAM_OK.replace('insutype = "390"', 'insutype = "390"\nlevel = "primary"')
    b = PARAM_OK.replace('insutype = "390"', 'insutype = "390"\nprice_class = 3')
    probs = problems_of(write(tmp_path, a + "\n" + b))
    assert any("无法确定用哪一个" in p for p in probs)


def test_unknown_category_selector_value(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace('insutype = "390"', 'insutype = "391"')))
    assert any("params.toml:4" in p and "391" in p for p in probs)


def test_value_before_document_start(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace('value = "400.00"', 'value = "400.00"\nfrom = 2024-12-31')))
    assert any("params.toml:1" in p and "早于所引文件" in p for p in probs)


def test_value_after_document_expiry(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace('value = "400.00"', 'value = "400.00"\nuntil = 2027-01-02')))
    assert any("params.toml:1" in p and "晚于所引文件" in p for p in probs)


def test_ratio_out_of_range_and_negative_money(tmp_path):
    params = PARAM_OK.replace('"annual_cap"', '"ratio"').replace('"400.00"', '"60"')
    probs = problems_of(write(tmp_path, params))
    assert any("params.toml:5" in p and "0 到 1" in p for p in probs)
    probs = problems_of(write(tmp_path, PARAM_OK.replace('"400.00"', '"-1"')))
    assert any("不能为负数" in p for p in probs)


def test_ratio_below_floor_is_rejected(tmp_path):
    params = PARAM_OK.replace('"annual_cap"', '"ratio"').replace('"390"', '"310"').replace('"400.00"', '"0.45"')
    probs = problems_of(write(tmp_path, params))
    assert any("低于" in p and "下限" in p for p in probs)


def test_open_and_value_together(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK.replace('value = "400.00"', 'value = "400.00"\nopen = true')))
    assert any("open = true 时不能同时给出 value" in p for p in probs)


def test_toml_syntax_error_names_line(tmp_path):
    probs = problems_of(write(tmp_path, PARAM_OK + "\n[[param]\nkey = 1\n"))
    assert any("params.toml:8" in p and "TOML" in p for p in probs)


def test_missing_parent(tmp_path):
    probs = problems_of(write(tmp_path, manifest=MANIFEST.replace("cn-140000-shanxi", "cn-149000-nowhere")))
    assert any("cn-149000-nowhere" in p and "未加载" in p for p in probs)


def test_same_region_twice(tmp_path):
    manifest = MANIFEST.replace('id = "t-149900"', 'id = "t-other"').replace("149900", "141100")
    probs = problems_of(write(tmp_path, manifest=manifest))
    assert any("141100" in p for p in probs)


def test_items_csv_unknown_class_and_kind(tmp_path):
    items = """\
        code,name,benefit,kind,chrgitm_lv,pay_std,max_count,count_scope,category,cite,note
        X1,甲,general_outpatient,drug,04,,,,,测医保发〔2025〕1号 一,
        X2,乙,general_outpatient,pill,01,,,,,测医保发〔2025〕1号 一,
        X3,丙,general_outpatient,drug,01,abc,,,,测医保发〔2025〕1号 一,
        X4,丁,general_outpatient,drug,01,,,,,,
    """
    probs = problems_of(write(tmp_path, items=items))
    assert any("items.csv:2" in p and "chrgitm_lv" in p for p in probs)
    assert any("items.csv:3" in p and "pill" in p for p in probs)
    assert any("items.csv:4" in p and "pay_std" in p for p in probs)
    assert any("items.csv:5" in p and "缺少出处" in p for p in probs)


def test_csv_unknown_column_and_formula(tmp_path):
    probs = problems_of(write(tmp_path, diseases="code,name,benefit,criteria,cite,note,extra\n"))
    assert any("diseases.csv:1" in p and "extra" in p for p in probs)
    inst = "code,name,admdvs,level,price_class,art_approved,designated_diseases,cite,note\n" \
           "H1,=HYPERLINK(\"x\"),149900,primary,3,false,,测医保发〔2025〕1号 一,\n"
    probs = problems_of(write(tmp_path, institutions=inst))
    assert any("institutions.csv:2" in p and "公式" in p for p in probs)


def test_gbk_csv_is_refused_with_message(tmp_path):
    d = write(tmp_path)
    (d / "diseases.csv").write_bytes(b"code,name,benefit,criteria,cite,note\n" + "病种".encode("gbk"))
    probs = problems_of(d)
    assert any("diseases.csv" in p and "UTF-8" in p for p in probs)


def test_unknown_disease_selector(tmp_path):
    params = PARAM_OK.replace('"general_outpatient"', '"chronic_special"').replace(
        'insutype = "390"', 'insutype = "390"\ndisease = "M99999"')
    probs = problems_of(write(tmp_path, params))
    assert any("M99999" in p for p in probs)


def test_manifest_problems(tmp_path):
    manifest = MANIFEST.replace('admdvs = "149900"', 'admdvs = "1499"').replace("level = \"county\"", "level = \"town\"")
    probs = problems_of(write(tmp_path, manifest=manifest))
    assert any("pack.toml:3" in p and "6位数字" in p for p in probs)
    assert any("pack.toml:4" in p and "level" in p for p in probs)


def test_missing_pack_folder_and_zip(tmp_path):
    probs = problems_of(tmp_path / "nope")
    assert probs and "找不到政策包" in probs[0]
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    probs = problems_of(bad)
    assert any("zip" in p for p in probs)


def test_zip_with_traversal_is_refused(tmp_path):
    import zipfile

    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("pack.toml", MANIFEST)
        zf.writestr("../params.toml", PARAM_OK)
    probs = problems_of(z)
    assert any("非法路径" in p for p in probs)


def test_zip_pack_loads(tmp_path):
    import zipfile

    z = tmp_path / "good.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("t-149900/pack.toml", MANIFEST)
        zf.writestr("t-149900/params.toml", PARAM_OK)
    policy = load_policy([z])
    assert "t-149900" in policy.packs


def test_shipped_packs_are_valid_and_every_value_cites_a_listed_document():
    policy = load_policy()
    assert len(policy.packs) == 7
    for pack in policy.packs.values():
        chain = policy.chain_for(pack.admdvs)
        for p in (q for pk in chain.packs for q in pk.params):
            assert p.doc_number in chain.documents, p
            assert p.cite.split(" ", 1)[1].strip()


def test_pack_set_rejects_a_lone_child():
    from desktop_app.core.pack_files import shipped_packs_dir

    child = load_pack(shipped_packs_dir() / "cn-140830-ruicheng")
    with pytest.raises(PackInvalid):
        PolicySet([child])


@pytest.mark.parametrize(("key", "value", "why"), [
    ("settle_range_counties", '["4103"]', "6位医保区划代码"),
    ("settle_range_counties", "[]", "非空列表"),
    ("service_fee_categories", '["挂号费"]', "检查费"),
    ("designation_levels", '["二级"]', "primary"),
])
def test_round2_list_keys_are_checked(tmp_path, key, value, why):
    """The round-2 keys (#14) take closed lists: a value outside them is a problem naming the line."""
    params = PARAM_OK + f'\n[[param]]\nkey = "{key}"\nbenefit = "general_outpatient"\nvalue = {value}\n' \
                        'cite = "测医保发〔2025〕1号 一"\n'
    probs = problems_of(write(tmp_path, params=params))
    assert any("params.toml:11" in p and key in p and why in p for p in probs), probs


def test_items_indication_column_is_optional_and_read(tmp_path):
    """items.csv may carry a 限定支付范围 text in `indication` (the fund pays such a line only once confirmed)."""
    from datetime import date

    items = """\
        code,name,benefit,kind,chrgitm_lv,pay_std,max_count,count_scope,category,cite,note,indication
        T1,测试项目,assisted_reproduction,service,02,,3,person,,测医保发〔2025〕1号 附件,,限：测试适应症
        """
    policy = load_policy([write(tmp_path, items=items)])
    it = policy.chain_for("149900").catalogue_item("assisted_reproduction", "T1", date(2025, 6, 1))
    assert it.indication == "限：测试适应症" and it.count_scope == "person" and it.max_count == 3
