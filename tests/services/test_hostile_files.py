"""Hostile pack and roster files: each kind is refused (or read safely) with a message naming
the file and entry, and nothing is written — no rows, no audit entry, no error report."""

import csv
import dataclasses
import os
import random
import struct
import warnings
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from desktop_app.core import pack_files as packfiles
from desktop_app.core import safezip
from desktop_app.core.pack_files import shipped_packs_dir
from desktop_app.services import packs, roster, roster_files, roster_rows
from desktop_app.services.demo import _id_number
from desktop_app.store import models as m

PACK = "cn-140000-shanxi"  # has every file kind, CSVs too


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def state(db):
    """Rows that a sync or an import would add to, and the audit entries they would write."""
    with db.read() as s:
        rows = tuple(s.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (m.PolicyPack, m.PackFile, m.PackParam, m.CatalogueItem, m.Person, m.UsageSnapshot))
        audits = s.execute(select(func.count()).select_from(m.AuditEntry)
                           .where(m.AuditEntry.action.in_(("pack_sync", "roster_import")))).scalar_one()
    return rows, audits


def pack_files(**replace):
    """The shipped 山西 pack's files, version bumped, some replaced (None removes one)."""
    files = {f.name: f.read_bytes() for f in (shipped_packs_dir() / PACK).iterdir()}
    files["pack.toml"] = files["pack.toml"].replace(b'"1.1.0"', b'"1.1.1"')
    for name, data in replace.items():
        name = name.replace("_csv", ".csv").replace("_toml", ".toml")
        if data is None:
            files.pop(name, None)
        else:
            files[name] = data
    return files


def make_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names on purpose
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return path


def pack_zip(tmp_path, extra=(), compression=zipfile.ZIP_DEFLATED, **replace):
    return make_zip(tmp_path / "evil.zip", [*pack_files(**replace).items(), *extra], compression)


def lie_about_size(path, name, size):
    """Rewrite the central directory so `name` declares `size` uncompressed bytes."""
    data = bytearray(path.read_bytes())
    at = 0
    while True:
        at = data.find(b"PK\x01\x02", at)
        n = struct.unpack("<H", data[at + 28:at + 30])[0]
        if data[at + 46:at + 46 + n] == name.encode():
            data[at + 24:at + 28] = struct.pack("<L", size)
            path.write_bytes(bytes(data))
            return path
        at += 4


@pytest.fixture
def synced(empty_db):
    packs.sync_shipped(empty_db, actor="admin")
    return empty_db


def refused_pack(db, path, *words):
    before = state(db)
    with pytest.raises(packs.SyncRefused) as exc:
        packs.sync(db, path, actor="admin")
    text = "\n".join(exc.value.problems)
    for w in words:
        assert w in text, text
    assert state(db) == before
    return text


# ---------------------------------------------------------------------------
# packs
# ---------------------------------------------------------------------------
def test_valid_pack_zip_still_syncs_unsigned_for_a_supervisor(synced, tmp_path):
    """The control: the same zips, unharmed, pass the guard (signature aside)."""
    from desktop_app.services import accounts

    accounts.create_operator(synced, "boss", "站长", "supervisor", "boss-pass-1", must_change=False, actor="admin")
    z = pack_zip(tmp_path, SIGNATURE_json=None)
    assert packs.sync(synced, z, allow_unsigned=True, actor="boss")[0].status == "upgraded"


def test_pack_zip_with_parent_path(synced, tmp_path):
    text = refused_pack(synced, pack_zip(tmp_path, extra=[("../params.toml", b"x")]), "非法路径")
    assert "evil.zip!../params.toml" in text


@pytest.mark.parametrize("name", ["/etc/params.toml", "C:/params.toml", "..\\params.toml"])
def test_pack_zip_with_absolute_or_windows_path(synced, tmp_path, name):
    refused_pack(synced, pack_zip(tmp_path, extra=[(name, b"x")]), "非法路径", name)


def test_symlinked_pack_file_and_zip(synced, tmp_path):
    folder = tmp_path / PACK
    folder.mkdir()
    for name, data in pack_files().items():
        (folder / name).write_bytes(data)
    outside = tmp_path / "outside.toml"
    outside.write_bytes((folder / "params.toml").read_bytes())
    (folder / "params.toml").unlink()
    (folder / "params.toml").symlink_to(outside)
    refused_pack(synced, folder, "符号链接", "params.toml")
    z = pack_zip(tmp_path)
    link = tmp_path / "link.zip"
    link.symlink_to(z)
    refused_pack(synced, link, "符号链接", "link.zip")


def test_pack_file_over_8_mib(synced, tmp_path):
    big = b"# " + b"x" * (packfiles.MAX_FILE_BYTES + 10) + b"\n"
    refused_pack(synced, pack_zip(tmp_path, params_toml=big), "文件过大", "evil.zip!params.toml")
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, data in pack_files(params_toml=big).items():
        (folder / name).write_bytes(data)
    refused_pack(synced, folder, "文件过大", "params.toml")


def test_non_utf8_pack_file(synced, tmp_path):
    gbk = "code,name,benefit,criteria,cite,note\nM1,高血压,chronic_special,,,\n".encode("gbk")
    refused_pack(synced, pack_zip(tmp_path, diseases_csv=gbk), "UTF-8", "diseases.csv")


@pytest.mark.parametrize("name", ["params.toml", "items.csv"])
def test_binary_pack_file(synced, tmp_path, name):
    blob = b"\x00\x01\x02ELF\x00" + bytes(range(256)) * 4
    text = refused_pack(synced, pack_zip(tmp_path, **{name.replace(".", "_"): blob}), "二进制", name)
    assert "Traceback" not in text


def test_formula_cell_in_pack_csv(synced, tmp_path):
    files = pack_files()
    header, first = files["items.csv"].decode("utf-8").splitlines()[:2]
    cells = first.split(",")
    cells[1] = '=HYPERLINK("http://evil")'
    evil = "\n".join([header, ",".join(cells)]).encode("utf-8")
    refused_pack(synced, pack_zip(tmp_path, items_csv=evil), "公式", "items.csv:2")


def test_pack_zip_that_is_not_a_zip(synced, tmp_path):
    z = tmp_path / "evil.zip"
    z.write_bytes(random.Random(1).randbytes(4096))
    refused_pack(synced, z, "不是有效的 .zip")


def test_truncated_and_corrupted_pack_zip(synced, tmp_path):
    z = pack_zip(tmp_path)
    data = z.read_bytes()
    z.write_bytes(data[: len(data) // 2])
    refused_pack(synced, z, "不是有效的 .zip")
    # directory intact, compressed data damaged
    bad = bytearray(data)
    at = bad.find(b"params.toml") + len("params.toml") + 40
    bad[at:at + 64] = bytes(64)
    z.write_bytes(bytes(bad))
    refused_pack(synced, z, "已损坏", "params.toml")


def test_zip_bomb_too_many_entries(synced, tmp_path):
    extra = [(f"junk/{i}.txt", b"") for i in range(packfiles.PACK_ZIP_LIMITS.max_entries + 1)]
    refused_pack(synced, pack_zip(tmp_path, extra=extra), "文件过多")


def test_zip_bomb_compression_ratio(synced, tmp_path):
    # 4 MiB of one repeated line deflates ~1000:1 (a real catalogue: 3-5:1)
    header = pack_files()["items.csv"].split(b"\n")[0]
    bomb = header + b"\n" + b"#" * (4 * 1024 * 1024)
    text = refused_pack(synced, pack_zip(tmp_path, items_csv=bomb), "压缩比", "evil.zip!items.csv")
    assert "压缩炸弹" in text


def test_zip_bomb_total_size(synced, tmp_path, monkeypatch):
    monkeypatch.setattr(packfiles, "PACK_ZIP_LIMITS", dataclasses.replace(packfiles.PACK_ZIP_LIMITS, max_total=64 * 1024))
    noise = random.Random(2).randbytes(100 * 1024)  # incompressible: only the total is over
    refused_pack(synced, pack_zip(tmp_path, extra=[("README.bin", noise)]), "总大小")


def test_zip_entry_lying_about_its_size_is_stopped_while_inflating(synced, tmp_path):
    """The directory says 1 KB; inflating produces 2 MiB: stopped at the declared size."""
    params = pack_files()["params.toml"]
    big = params + b"\n" + b"# padding\n" * (200 * 1024)
    z = lie_about_size(pack_zip(tmp_path, params_toml=big), "params.toml", 1024)
    refused_pack(synced, z, "实际大小超过", "params.toml")


def test_read_zip_entry_stops_at_the_total_while_inflating(tmp_path):
    z = make_zip(tmp_path / "a.zip", [("a.txt", random.Random(3).randbytes(300_000))])
    limits = safezip.ZipLimits(max_entries=10, max_total=1_000_000, max_ratio=100, max_entry=1_000_000)
    with zipfile.ZipFile(z) as zf, z.open("rb") as fh:
        info = zf.infolist()[0]
        assert len(safezip.read_zip_entry(fh, info, limits, 0)) == 300_000
        with pytest.raises(safezip.ZipRefused, match="总大小"):
            safezip.read_zip_entry(fh, info, limits, 800_000)  # 800 000 already read elsewhere


def test_duplicate_and_unsupported_entries(synced, tmp_path):
    refused_pack(synced, pack_zip(tmp_path, extra=[("params.toml", b"[[param]]\n")]), "重名", "params.toml")
    refused_pack(synced, pack_zip(tmp_path, compression=zipfile.ZIP_BZIP2), "不支持的压缩方式")


# ---------------------------------------------------------------------------
# rosters
# ---------------------------------------------------------------------------
HEADER = list(roster_rows.PERSON_COLUMNS)


def person(psn, seed, name="张三", fd=""):
    birth = date(1980, 5, 17)
    idn = _id_number(random.Random(seed), birth, True)
    return [psn, idn, name, "男", birth.isoformat(), "390", "城乡居民", "141102", "2025-10-01", "集中", "否",
            fd, "", "0.00", "2026-11-20"]


def good_rows():
    return [person(f"H{i:03d}", 7000 + i) for i in range(3)]


def good_xlsx(path, rows=None):
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    for r in [HEADER, *(rows or good_rows())]:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path, rows, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def xlsx_plus(tmp_path, extra=(), name="roster.xlsx", compression=zipfile.ZIP_DEFLATED):
    """A genuine small roster .xlsx with extra entries added to the archive."""
    src = good_xlsx(tmp_path / "src.xlsx")
    with zipfile.ZipFile(src) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    return make_zip(tmp_path / name, [*entries, *extra], compression)


def refused_roster(db, path, *words, **kw):
    before = state(db)
    with pytest.raises(roster_files.RosterError) as exc:
        roster.import_roster(db, path, **kw, actor="admin")
    msg = str(exc.value)
    for w in words:
        assert w in msg, msg
    assert "Traceback" not in msg
    assert state(db) == before
    assert not roster.error_report_path(db, path).exists()
    return msg


def test_genuine_xlsx_passes_the_guard(db, tmp_path):
    res = roster.import_roster(db, xlsx_plus(tmp_path, extra=[("xl/media/image1.png", os.urandom(2048))]), actor="admin")
    assert res.inserted == 3 and res.rejected == 0


def test_roster_xlsx_with_parent_or_absolute_path(db, tmp_path):
    refused_roster(db, xlsx_plus(tmp_path, [("../../evil.txt", b"x")]), "roster.xlsx", "../../evil.txt", "非法路径")
    refused_roster(db, xlsx_plus(tmp_path, [("/tmp/evil.txt", b"x")]), "非法路径")


def test_symlinked_roster_files(db, tmp_path):
    real = good_xlsx(tmp_path / "real.xlsx")
    link = tmp_path / "roster.xlsx"
    link.symlink_to(real)
    refused_roster(db, link, "roster.xlsx", "符号链接")
    c = write_csv(tmp_path / "ok.csv", good_rows())
    ulink = tmp_path / "usage.csv"
    ulink.symlink_to(c)
    refused_roster(db, c, "usage.csv", "符号链接", usage_path=ulink)


def test_roster_zip_bomb_ratio(db, tmp_path):
    z = xlsx_plus(tmp_path, [("xl/media/image9.png", bytes(4 * 1024 * 1024))])  # ~1000:1
    refused_roster(db, z, "roster.xlsx", "xl/media/image9.png", "压缩比", "压缩炸弹")


def test_roster_zip_bomb_entries(db, tmp_path):
    extra = [(f"x/{i}", b"") for i in range(roster_files.XLSX_LIMITS.max_entries + 1)]
    refused_roster(db, xlsx_plus(tmp_path, extra), "roster.xlsx", "文件过多")


def test_roster_zip_bomb_total(db, tmp_path, monkeypatch):
    monkeypatch.setattr(roster_files, "XLSX_LIMITS", dataclasses.replace(roster_files.XLSX_LIMITS, max_total=1024 * 1024))
    z = xlsx_plus(tmp_path, [("xl/media/big.bin", os.urandom(1024 * 1024))], compression=zipfile.ZIP_STORED)
    refused_roster(db, z, "roster.xlsx", "总大小")


def test_roster_entry_lying_about_its_size(db, tmp_path):
    """calamine would inflate what the directory does not declare: the guard inflates first."""
    z = xlsx_plus(tmp_path, [("xl/media/pic.bin", b"\x01" * (3 * 1024 * 1024))])
    lie_about_size(z, "xl/media/pic.bin", 2000)
    refused_roster(db, z, "xl/media/pic.bin", "实际大小超过")


def test_truncated_and_renamed_xlsx(db, tmp_path):
    z = good_xlsx(tmp_path / "cut.xlsx")
    z.write_bytes(z.read_bytes()[:3000])
    refused_roster(db, z, "cut.xlsx", "不是有效的 Excel 文件")
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(random.Random(4).randbytes(8192))
    refused_roster(db, fake, "fake.xlsx", "不是有效的 Excel 文件")
    ole = tmp_path / "old.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    refused_roster(db, ole, "old.xlsx", ".xls")


def test_roster_file_size_cap(db, tmp_path, monkeypatch):
    monkeypatch.setattr(roster_files, "MAX_FILE_BYTES", 500)
    big = write_csv(tmp_path / "big.csv", good_rows() * 3)
    refused_roster(db, big, "big.csv", "过大")
    small = tmp_path / "small.csv"
    small.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    refused_roster(db, small, "big.csv", "待遇累计", "过大", usage_path=big)


def test_binary_and_utf16_csv(db, tmp_path):
    b = tmp_path / "bin.csv"
    b.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + random.Random(5).randbytes(2048))
    refused_roster(db, b, "bin.csv", "不是文本文件")
    u = tmp_path / "u16.csv"
    u.write_bytes(("\ufeff" + ",".join(HEADER) + "\n").encode("utf-16-le"))
    refused_roster(db, u, "u16.csv", "UTF-16")
    c = tmp_path / "ctrl.csv"
    c.write_text(",".join(HEADER) + "\n" + ",".join(good_rows()[0]).replace("张三", "张\x07三") + "\n",
                 encoding="utf-8")
    refused_roster(db, c, "ctrl.csv", "第 2 行", "控制字符")


def test_gbk_csv_is_read_correctly(db, tmp_path):
    f = write_csv(tmp_path / "gbk.csv", [person("G001", 7100, name="欧阳娜娜")], encoding="gbk")
    res = roster.import_roster(db, f, actor="admin")
    assert res.inserted == 1 and "GBK" in res.encoding_note
    with db.read() as s:
        assert s.execute(select(m.Person.name).where(m.Person.psn_no == "G001")).scalar_one() == "欧阳娜娜"


FORMULAS = ['=HYPERLINK("http://evil","点我")', "+1+1", "-2+3", "@SUM(A1:A9)", "=cmd|' /C calc'!A0"]


def test_formula_cells_in_csv_are_refused_and_reported_as_text(db, tmp_path):
    rows = [person(f"F{i:03d}", 7200 + i, name=v) for i, v in enumerate(FORMULAS)]
    rows.append(person("F100", 7300, fd="=1+1"))
    rows.append(person("F101", 7301))
    f = write_csv(tmp_path / "f.csv", rows)
    res = roster.import_roster(db, f, actor="admin")
    assert res.inserted == 1 and res.rejected == len(FORMULAS) + 1
    assert all("公式" in e.reason for e in res.errors)
    with db.read() as s:
        stored = set(s.execute(select(m.Person.psn_no).where(m.Person.psn_no.like("F%"))).scalars())
        names = set(s.execute(select(m.Person.name)).scalars())
    assert stored == {"F101"} and not any(n[:1] in "=+-@" for n in names)
    ws = load_workbook(res.report_path).active
    cells = [c for r in ws.iter_rows(min_row=2) for c in r if c.value is not None]
    assert cells and all(c.data_type != "f" and not str(c.value).startswith(("=", "+", "-", "@")) for c in cells)


def test_formula_cells_in_xlsx_are_never_evaluated(db, tmp_path):
    rows = good_rows()
    wb = Workbook()
    ws = wb.active
    for r in [HEADER, *rows]:
        ws.append(r)
    ws["C2"] = "=1+1"                       # a real formula: calamine gives its cached value (none)
    ws["C3"].value = "=cmd|' /C calc'!A0"   # text that looks like one
    ws["C3"].data_type = "s"
    f = tmp_path / "f.xlsx"
    wb.save(f)
    res = roster.import_roster(db, f, actor="admin")
    reasons = {e.row: e.reason for e in res.errors}
    assert res.inserted == 1 and "姓名为空" in reasons[2] and "公式" in reasons[3]


def test_usage_formula_cells_are_refused(db, tmp_path):
    f = write_csv(tmp_path / "p.csv", [person("U001", 7400)])
    u = tmp_path / "u.csv"
    with u.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(roster_rows.USAGE_COLUMNS)
        w.writerow(["U001", "2026", "普通门诊统筹", "", "1", "10.00", "=1+1", "1"])
    res = roster.import_roster(db, f, usage_path=u, actor="admin")
    assert res.inserted == 1 and res.usage_rejected == 1
    assert any(e.field == "项目编码" and "公式" in e.reason for e in res.errors)

