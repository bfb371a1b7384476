"""Policy packs (政策包): loading, validation, the county → city → province chain.

A pack is a folder (or a .zip of one) holding

- ``pack.toml``  — manifest: id, 医保区划 code, parent pack, version, the documents
  it encodes (number, start, expiry);
- ``params.toml`` — dated parameters ``[[param]]``: a known key, selectors that say
  to whom it applies, a value (or ``open = true`` where the document leaves it to
  another one), a half-open validity ``[from, until)`` and a required citation
  (document number + clause);
- ``items.csv``, ``institutions.csv``, ``diseases.csv`` — catalogues.

See ``docs/policy-packs.md`` for the format. Every problem found is reported
with its file and line; a pack with a problem is never used.

This module holds data and lookups only; the calculation steps live in
``engine.py``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import struct
import tomllib
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from desktop_app.core.model import (
    BENEFITS,
    CATEGORIES,
    CLASSES,
    DELIVERIES,
    INSUTYPES,
    KINDS,
    LEVELS,
    RELATIONS,
    admdvs_levels,
)
from desktop_app.core.money import parse_decimal

FAR_FUTURE = date(9999, 12, 31)

# --------------------------------------------------------------------------
# The closed list of parameter keys: value type and a Chinese label.
# A key not in this list is a validation error (never a silent zero).
# --------------------------------------------------------------------------
KEY_TYPES: dict[str, str] = {
    "in_force": "bool",
    "annual_cap": "money",
    "quarterly_cap": "money",
    "basic_annual_cap": "money",
    "deductible": "money",
    "deductible_per": "enum:visit,day_institution",
    "ratio": "ratio",
    "ratio_floor": "ratio",
    "cross_province_ratio_reduction": "ratio",
    "class_b_selfpay_share": "ratio",
    "delivery_limit": "money",
    "prenatal_lump_sum": "money",
    "waiting_days": "int",
    "family_doctor_fee_share": "ratio",
    "covered_kinds": "kinds",
    "catalogue_only": "bool",
    "requires_registration": "bool",
    "requires_designation": "bool",
    "requires_art_approval": "bool",
    "over_cap_to_critical_fund": "bool",
    "account_usable": "bool",
    "family_account_relations": "relations",
}

KEY_LABELS: dict[str, str] = {
    "in_force": "待遇生效",
    "annual_cap": "年度最高支付限额",
    "quarterly_cap": "季度支付限额",
    "basic_annual_cap": "基本医保年度最高支付限额",
    "deductible": "起付标准",
    "deductible_per": "起付标准计算方式",
    "ratio": "统筹基金支付比例",
    "ratio_floor": "支付比例下限",
    "cross_province_ratio_reduction": "跨省就医支付比例降低",
    "class_b_selfpay_share": "乙类先行自付比例",
    "delivery_limit": "生育医疗费限额支付标准",
    "prenatal_lump_sum": "围产保健定额",
    "waiting_days": "待遇等待期(天)",
    "family_doctor_fee_share": "家庭医生签约服务费基金支付比例",
    "covered_kinds": "支付范围(费用类型)",
    "catalogue_only": "仅支付目录内项目",
    "requires_registration": "须登记备案病种",
    "requires_designation": "须在定点救治医疗机构",
    "requires_art_approval": "须在批准开展辅助生殖技术的定点机构",
    "over_cap_to_critical_fund": "超基本医保限额部分由大额/大病保险支付",
    "account_usable": "个人账户可支付",
    "family_account_relations": "家庭共济允许的亲属关系",
}

# What an open (另行制定) parameter does at settlement time, for `packs check`.
OPEN_EFFECT: dict[str, str] = {
    "basic_annual_cap": "不阻止结算：基本医保与大额/大病的分担记为无法确定",
    "family_doctor_fee_share": "明细含家庭医生签约服务费项目时报 policy_parameter_missing",
}
OPEN_EFFECT_DEFAULT = "结算时报 policy_parameter_missing"

BOOL = (True, False)
SELECTORS: dict[str, object] = {
    "benefit": tuple(BENEFITS),
    "insutype": tuple(INSUTYPES),
    "category": tuple(CATEGORIES),
    "level": tuple(LEVELS),
    "price_class": tuple(range(1, 4)),
    "disease": None,  # any disease code (checked against diseases.csv of the chain)
    "delivery": tuple(DELIVERIES),
    "cross_province": BOOL,
    "family_doctor": BOOL,
    "kind": tuple(KINDS),
}
PARAM_FIELDS = {"key", "value", "open", "from", "until", "cite", "note", *SELECTORS}
DOC_FIELDS = {"number", "title", "issuer", "issued", "effective", "expires", "validity", "bounded_by", "note"}
MANIFEST_FIELDS = {"id", "name", "admdvs", "parent", "version", "level", "note", "document"}
PACK_LEVELS = ("province", "city", "county")

ITEM_COLUMNS = ("code", "name", "benefit", "kind", "chrgitm_lv", "pay_std", "max_count",
                "count_scope", "category", "from", "until", "cite", "note")
INSTITUTION_COLUMNS = ("code", "name", "admdvs", "level", "price_class", "art_approved",
                       "designated_diseases", "from", "until", "cite", "note")
DISEASE_COLUMNS = ("code", "name", "benefit", "criteria", "cite", "note")
ITEM_CATEGORIES = ("", "family_doctor_fee")
COUNT_SCOPES = ("", "person", "year")

_CITE = re.compile(r"^(?P<doc>\S+?〔\d{4}〕\d+号)\s+(?P<clause>\S.*)$")
_ADMDVS = re.compile(r"^\d{6}$")


class _Open:
    """Marker: the document leaves this value to another document (另行制定)."""

    _inst = None

    def __new__(cls):
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "OPEN"

    def __reduce__(self):
        return (_Open, ())


OPEN = _Open()


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class PackInvalid(Exception):
    """A pack (or a set of packs) failed validation; `problems` lists every one."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class Document:
    number: str
    title: str
    issuer: str
    issued: date | None
    effective: date
    expires: date | None
    validity: str
    bounded_by: tuple[str, ...]
    pack_id: str
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    selectors: tuple[tuple[str, object], ...]
    value: object  # Decimal | bool | int | str | tuple | OPEN
    start: date
    end: date  # exclusive; FAR_FUTURE when open-ended
    cite: str
    note: str
    pack_id: str
    file: str
    line: int

    @property
    def doc_number(self) -> str:
        m = _CITE.match(self.cite)
        return m.group("doc") if m else self.cite

    @property
    def is_open(self) -> bool:
        return self.value is OPEN


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    code: str
    name: str
    benefit: str
    kind: str
    chrgitm_lv: str
    pay_std: Decimal | None
    max_count: int | None
    count_scope: str
    category: str
    start: date
    end: date
    cite: str
    note: str
    pack_id: str


@dataclass(frozen=True, slots=True)
class InstitutionRow:
    code: str
    name: str
    admdvs: str
    level: str
    price_class: int | None
    art_approved: bool
    designated_diseases: tuple[str, ...]
    start: date
    end: date
    cite: str
    note: str
    pack_id: str


@dataclass(frozen=True, slots=True)
class Disease:
    code: str
    name: str
    benefit: str
    criteria: str
    cite: str
    note: str
    pack_id: str


@dataclass(slots=True)
class Pack:
    id: str
    name: str
    admdvs: str
    parent: str
    version: str
    level: str
    note: str
    path: str
    content_hash: str
    documents: dict[str, Document] = field(default_factory=dict)
    params: list[Param] = field(default_factory=list)
    items: list[CatalogueItem] = field(default_factory=list)
    institutions: list[InstitutionRow] = field(default_factory=list)
    diseases: list[Disease] = field(default_factory=list)


# --------------------------------------------------------------------------
# Reading files (folder or zip) with line numbers
# --------------------------------------------------------------------------
PACK_FILES = ("pack.toml", "params.toml", "items.csv", "institutions.csv", "diseases.csv", "SIGNATURE.json")
MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds for reading a zip archive (a pack .zip, a roster .xlsx): a zip-bomb guard.

    `max_entries`: entries in the central directory (its size is checked before
    Python parses it); `max_total`: uncompressed bytes of all entries, both as
    declared and as counted while inflating; `max_ratio`: uncompressed:compressed
    per entry, checked once an entry passes `ratio_grace` bytes (a small entry
    may compress any amount and costs nothing); `max_entry`: bytes of one entry.
    """

    max_entries: int
    max_total: int
    max_ratio: int
    max_entry: int
    ratio_grace: int = 1024 * 1024


# A pack zip holds six text files of a few KB (the shipped ones: 0.4–9 KB,
# compressing 2–5×), each at most MAX_FILE_BYTES; the limits leave wide room.
PACK_ZIP_LIMITS = ZipLimits(max_entries=1000, max_total=64 * 1024 * 1024, max_ratio=100,
                            max_entry=MAX_FILE_BYTES)
_ZIP_DIR_BYTES_PER_ENTRY = 1024  # central directory bytes allowed per entry (46 + name + extras)
_ZIP_CHUNK = 64 * 1024


class ZipRefused(Exception):
    """A zip archive is refused before anything in it is used; `entry` is "" for the whole archive."""

    def __init__(self, entry: str, message: str):
        self.entry = entry
        self.message = message
        super().__init__(f"{entry}: {message}" if entry else message)


class NotAZip(ZipRefused):
    """The file is not a zip archive at all (or is cut short)."""

    def __init__(self) -> None:
        super().__init__("", "不是有效的 .zip 压缩包（或文件不完整）")


def _zip_directory(fh) -> tuple[int, int] | None:
    """(entry count, central directory size) from the end record (zip64 too), before parsing."""
    fh.seek(0, 2)
    size = fh.tell()
    back = min(size, 22 + 0xFFFF + 20)
    fh.seek(size - back)
    tail = fh.read(back)
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or len(tail) - i < 22:
        return None
    _sig, _d, _dcd, _n, entries, cd_size, _off, _clen = struct.unpack("<4s4H2LH", tail[i:i + 22])
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and i >= 20 and tail[i - 20:i - 16] == b"PK\x06\x07":
        z64_at = struct.unpack("<4sLQL", tail[i - 20:i])[2]
        fh.seek(z64_at)
        rec = fh.read(56)
        if len(rec) == 56 and rec[:4] == b"PK\x06\x06":
            entries, cd_size = struct.unpack("<4sQ2H2L4Q", rec)[7:9]
    return entries, cd_size


def _ratio_over(size: int, compressed: int, limits: ZipLimits) -> bool:
    return size > limits.ratio_grace and size > limits.max_ratio * max(compressed, 1)


def open_zip_checked(path: Path, limits: ZipLimits) -> zipfile.ZipFile:
    """Open a zip after checking its directory: entry count, names (no `..`, absolute
    paths, backslashes or duplicates), declared sizes and compression ratios.
    Raises `ZipRefused`; the caller closes the returned archive."""
    try:
        with path.open("rb") as fh:
            found = _zip_directory(fh)
    except OSError as exc:
        raise ZipRefused("", f"无法读取：{exc.strerror or exc}") from None
    if found is None:
        raise NotAZip()
    entries, cd_size = found
    if entries > limits.max_entries or cd_size > limits.max_entries * _ZIP_DIR_BYTES_PER_ENTRY:
        raise ZipRefused("", f"压缩包内文件过多（上限 {limits.max_entries} 个），疑似压缩炸弹，已拒绝")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error) as exc:
        raise NotAZip() from exc
    try:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise ZipRefused("", f"压缩包内文件过多（{len(infos)} 个，上限 {limits.max_entries} 个），疑似压缩炸弹，已拒绝")
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            if (name.startswith("/") or "\\" in name or ".." in name.split("/")
                    or re.match(r"^[A-Za-z]:", name)):
                raise ZipRefused(name, "压缩包内含非法路径（不得含 ..、绝对路径或反斜杠）")
            if name in seen:
                raise ZipRefused(name, "压缩包内有重名文件，已拒绝")
            seen.add(name)
            if info.file_size > limits.max_entry:
                raise ZipRefused(name, f"文件过大（解压后 {info.file_size} 字节，上限 {limits.max_entry} 字节）")
            if _ratio_over(info.file_size, info.compress_size, limits):
                raise ZipRefused(name, f"压缩比超过 {limits.max_ratio}:1，疑似压缩炸弹，已拒绝")
            total += info.file_size
            if total > limits.max_total:
                raise ZipRefused(name, f"压缩包解压后总大小超过上限 {limits.max_total} 字节，疑似压缩炸弹，已拒绝")
    except BaseException:
        zf.close()
        raise
    return zf


def read_zip_entry(fh, info: zipfile.ZipInfo, limits: ZipLimits, done: int = 0, *, keep: bool = True) -> bytes:
    """Inflate one entry from the archive file `fh` (opened "rb") in chunks, trusting none
    of the sizes in the directory: stops as soon as the bytes actually produced pass the
    declared size, `limits.max_entry`, `limits.max_total` (with `done` bytes already read
    from other entries) or the ratio; checks the end of the stream and the CRC.
    Only stored and deflated entries (what every zip tool and Excel write) are read.
    Returns the data (b"" when not `keep`)."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ZipRefused(name, "文件已加密，无法读取")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ZipRefused(name, f"不支持的压缩方式（{info.compress_type}），请用普通 zip（deflate）重新压缩")
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise ZipRefused(name, "压缩包已损坏或不完整")
    name_len, extra_len = struct.unpack("<2H", head[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left = info.compress_size
    size = crc = 0
    parts: list[bytes] = []

    def take(data: bytes) -> None:
        nonlocal size, crc
        size += len(data)
        if size > info.file_size:
            raise ZipRefused(name, "解压后的实际大小超过压缩包目录中声明的大小，疑似压缩炸弹，已拒绝")
        if size > limits.max_entry:
            raise ZipRefused(name, f"文件过大（上限 {limits.max_entry} 字节）")
        if done + size > limits.max_total:
            raise ZipRefused(name, f"压缩包解压后总大小超过上限 {limits.max_total} 字节，疑似压缩炸弹，已拒绝")
        if _ratio_over(size, info.compress_size, limits):
            raise ZipRefused(name, f"压缩比超过 {limits.max_ratio}:1，疑似压缩炸弹，已拒绝")
        crc = zlib.crc32(data, crc)
        if keep:
            parts.append(data)

    try:
        while left > 0:
            chunk = fh.read(min(left, _ZIP_CHUNK))
            if not chunk:
                raise ZipRefused(name, "压缩包已损坏或不完整")
            left -= len(chunk)
            if inflate is None:
                take(chunk)
                continue
            out = inflate.decompress(chunk, _ZIP_CHUNK)
            take(out)
            while inflate.unconsumed_tail:
                take(inflate.decompress(inflate.unconsumed_tail, _ZIP_CHUNK))
        if inflate is not None:
            take(inflate.flush())
            if not inflate.eof or inflate.unused_data:
                raise ZipRefused(name, "压缩包已损坏或不完整")
    except zlib.error:
        raise ZipRefused(name, "压缩包已损坏（无法解压）") from None
    if size != info.file_size or crc != info.CRC:
        raise ZipRefused(name, "压缩包已损坏（大小或校验和不符）")
    return b"".join(parts)


class _Source:
    """The files of one pack, read as bytes, from a folder or a .zip."""

    def __init__(self, files: dict[str, bytes], label: str):
        self.files = files
        self.label = label

    @classmethod
    def open(cls, path: Path) -> _Source:
        if path.is_symlink() and path.suffix.lower() == ".zip":
            raise PackInvalid([Problem(str(path), 0, "政策包文件不能是符号链接")])
        if path.is_file() and path.suffix.lower() == ".zip":
            return cls._from_zip(path)
        if path.is_file() and path.name == "pack.toml":
            path = path.parent
        if not path.is_dir():
            raise PackInvalid([Problem(str(path), 0, "找不到政策包：既不是文件夹，也不是 .zip 文件")])
        files: dict[str, bytes] = {}
        for name in PACK_FILES:
            p = path / name
            if p.is_symlink():
                raise PackInvalid([Problem(str(p), 0, "政策包文件不能是符号链接")])
            if p.is_file():
                with p.open("rb") as fh:  # read at most one byte past the cap, whatever stat said
                    data = fh.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:
                    raise PackInvalid([Problem(str(p), 0, f"文件过大（上限 {MAX_FILE_BYTES // (1024 * 1024)} MiB）")])
                files[name] = data
        return cls(files, str(path))

    @classmethod
    def _from_zip(cls, path: Path) -> _Source:
        files: dict[str, bytes] = {}
        limits = PACK_ZIP_LIMITS
        try:
            with open_zip_checked(path, limits) as zf, path.open("rb") as fh:
                infos = [i for i in zf.infolist() if not i.is_dir()]
                prefix = ""
                names = [i.filename for i in infos]
                if "pack.toml" not in names:
                    tops = {n.split("/", 1)[0] for n in names if "/" in n}
                    if len(tops) == 1:
                        prefix = tops.pop() + "/"
                done = 0
                for info in infos:
                    name = info.filename
                    if not name.startswith(prefix):
                        continue
                    rel = name[len(prefix):]
                    if rel not in PACK_FILES:
                        continue
                    data = read_zip_entry(fh, info, limits, done)
                    done += len(data)
                    files[rel] = data
        except ZipRefused as exc:
            where = f"{path}!{exc.entry}" if exc.entry else str(path)
            raise PackInvalid([Problem(where, 0, exc.message)]) from None
        except OSError as exc:
            raise PackInvalid([Problem(str(path), 0, f"无法读取：{exc.strerror or exc}")]) from None
        return cls(files, f"{path}!")

    def name_of(self, fname: str) -> str:
        sep = "" if self.label.endswith("!") else "/"
        return f"{self.label}{sep}{fname}"

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode())
            h.update(b"\0")
            h.update(hashlib.sha256(self.files[name]).digest())
        return h.hexdigest()


def _decode(data: bytes, fname: str, problems: list[Problem]) -> str | None:
    if b"\0" in data:
        problems.append(Problem(fname, 0, "文件含二进制内容（NUL 字节），不是文本文件"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(fname, 0, "文件不是 UTF-8 编码（如为 GBK，请另存为 UTF-8）"))
        return None


def _table_lines(text: str, header: str) -> list[int]:
    """Line numbers (1-based) of each `[[header]]` line, in order."""
    pat = re.compile(r"^\s*\[\[\s*" + re.escape(header) + r"\s*\]\]\s*(#.*)?$")
    return [i + 1 for i, line in enumerate(text.splitlines()) if pat.match(line)]


def _field_line(lines: list[str], start: int, name: str) -> int:
    """The line of `name = ...` in the table starting at line `start` (1-based)."""
    pat = re.compile(r"^\s*" + re.escape(name) + r"\s*=")
    for i in range(start, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if pat.match(lines[i]):
            return i + 1
    return start


def _parse_toml(text: str, fname: str, problems: list[Problem]) -> dict | None:
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        problems.append(Problem(fname, int(m.group(1)) if m else 0, f"TOML 语法错误：{exc}"))
        return None


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------
# Loading one pack
# --------------------------------------------------------------------------
def load_pack(path: str | Path) -> Pack:
    """Read and validate one pack on its own. Raises `PackInvalid` listing every problem.

    Checks that need the whole chain (parent exists, citations of a parent's
    documents) are done by `PolicySet`.
    """
    return _load_source(_Source.open(Path(path)))


def _load_source(src: _Source) -> Pack:
    problems: list[Problem] = []
    manifest_name = src.name_of("pack.toml")
    if "pack.toml" not in src.files:
        raise PackInvalid([Problem(manifest_name, 0, "缺少清单文件 pack.toml")])
    text = _decode(src.files["pack.toml"], manifest_name, problems)
    data = _parse_toml(text, manifest_name, problems) if text is not None else None
    if data is None:
        raise PackInvalid(problems)
    lines = text.splitlines()

    for k in data:
        if k not in MANIFEST_FIELDS:
            problems.append(Problem(manifest_name, _field_line(lines, 0, k), f"未知的清单字段“{k}”"))
    pid = str(data.get("id", "")).strip()
    if not pid:
        problems.append(Problem(manifest_name, 1, "清单缺少 id"))
    admdvs = str(data.get("admdvs", "")).strip()
    if not _ADMDVS.match(admdvs):
        problems.append(Problem(manifest_name, _field_line(lines, 0, "admdvs"), "admdvs（医保区划）须为6位数字"))
    version = str(data.get("version", "")).strip()
    if not version:
        problems.append(Problem(manifest_name, 1, "清单缺少 version"))
    level = str(data.get("level", "")).strip()
    if level not in PACK_LEVELS:
        problems.append(Problem(manifest_name, _field_line(lines, 0, "level"),
                                f"level 须为 {'/'.join(PACK_LEVELS)} 之一"))
    pack = Pack(
        id=pid, name=str(data.get("name", "")), admdvs=admdvs, parent=str(data.get("parent", "")).strip(),
        version=version, level=level, note=str(data.get("note", "")), path=src.label,
        content_hash=src.content_hash(),
    )

    doc_lines = _table_lines(text, "document")
    docs = data.get("document", [])
    if not isinstance(docs, list):
        problems.append(Problem(manifest_name, 1, "document 须为 [[document]] 表数组"))
        docs = []
    for idx, d in enumerate(docs):
        line = doc_lines[idx] if idx < len(doc_lines) else 0
        _load_document(pack, d, manifest_name, lines, line, problems)
    # Derived expiry through bounded_by is resolved by PolicySet (it may name a parent's document).

    if "params.toml" in src.files:
        pname = src.name_of("params.toml")
        ptext = _decode(src.files["params.toml"], pname, problems)
        pdata = _parse_toml(ptext, pname, problems) if ptext is not None else None
        if pdata is not None:
            plines = ptext.splitlines()
            heads = _table_lines(ptext, "param")
            for k in pdata:
                if k != "param":
                    problems.append(Problem(pname, _field_line(plines, 0, k), f"未知的表或字段“{k}”（只允许 [[param]]）"))
            for idx, raw in enumerate(pdata.get("param", [])):
                line = heads[idx] if idx < len(heads) else 0
                p = _load_param(pack, raw, pname, plines, line, problems)
                if p is not None:
                    pack.params.append(p)

    for fname, columns, loader in (
        ("items.csv", ITEM_COLUMNS, _load_item_row),
        ("institutions.csv", INSTITUTION_COLUMNS, _load_institution_row),
        ("diseases.csv", DISEASE_COLUMNS, _load_disease_row),
    ):
        if fname in src.files:
            _load_csv(pack, src.name_of(fname), src.files[fname], columns, loader, problems)

    _check_within_pack(pack, problems)
    if problems:
        raise PackInvalid(problems)
    return pack


def _load_document(pack: Pack, d: object, fname: str, lines: list[str], line: int,
                   problems: list[Problem]) -> None:
    if not isinstance(d, dict):
        problems.append(Problem(fname, line, "document 条目格式错误"))
        return
    for k in d:
        if k not in DOC_FIELDS:
            problems.append(Problem(fname, _field_line(lines, line, k), f"未知的文件字段“{k}”"))
    number = str(d.get("number", "")).strip()
    if not re.match(r"^\S+〔\d{4}〕\d+号$", number):
        problems.append(Problem(fname, line, f"文件号“{number}”格式不对，应如 晋医保发〔2023〕16号"))
        return
    eff = _as_date(d.get("effective"))
    if eff is None:
        problems.append(Problem(fname, _field_line(lines, line, "effective"), f"{number} 缺少执行日期 effective"))
        return
    exp = None
    if "expires" in d:
        exp = _as_date(d.get("expires"))
        if exp is None or exp <= eff:
            problems.append(Problem(fname, _field_line(lines, line, "expires"),
                                    f"{number} 的失效日期 expires 须晚于执行日期"))
            return
    issued = _as_date(d.get("issued")) if "issued" in d else None
    bounded = d.get("bounded_by", [])
    if isinstance(bounded, str):
        bounded = [bounded]
    if number in pack.documents:
        problems.append(Problem(fname, line, f"文件 {number} 重复列出"))
        return
    pack.documents[number] = Document(
        number=number, title=str(d.get("title", "")), issuer=str(d.get("issuer", "")),
        issued=issued, effective=eff, expires=exp, validity=str(d.get("validity", "")),
        bounded_by=tuple(str(b) for b in bounded), pack_id=pack.id, file=fname, line=line,
    )


def _parse_value(key: str, raw: object) -> object:
    kind = KEY_TYPES[key]
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ValueError("须为 true 或 false")
        return raw
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise ValueError("须为非负整数")
        return raw
    if kind in ("money", "ratio"):
        if isinstance(raw, str | Decimal | int) and not isinstance(raw, bool):
            v = parse_decimal(raw)
        else:
            raise ValueError("须为数字（建议写成字符串，如 \"300.00\"）")
        if v < 0:
            raise ValueError("不能为负数")
        if kind == "ratio" and v > 1:
            raise ValueError("比例须在 0 到 1 之间（如 0.60）")
        return v
    if kind.startswith("enum:"):
        allowed = kind[5:].split(",")
        if raw not in allowed:
            raise ValueError(f"须为 {'/'.join(allowed)} 之一")
        return raw
    if kind in ("kinds", "relations"):
        allowed = KINDS if kind == "kinds" else RELATIONS
        if not isinstance(raw, list) or not all(isinstance(x, str) and x in allowed for x in raw):
            raise ValueError(f"须为列表，元素取自 {'/'.join(allowed)}")
        return tuple(raw)
    raise AssertionError(kind)  # pragma: no cover


def _load_param(pack: Pack, raw: object, fname: str, lines: list[str], line: int,
                problems: list[Problem]) -> Param | None:
    if not isinstance(raw, dict):
        problems.append(Problem(fname, line, "param 条目格式错误"))
        return None
    ok = True
    for k in raw:
        if k not in PARAM_FIELDS:
            problems.append(Problem(fname, _field_line(lines, line, k), f"未知字段“{k}”"))
            ok = False
    key = raw.get("key")
    if key not in KEY_TYPES:
        problems.append(Problem(fname, _field_line(lines, line, "key"), f"未知的参数键“{key}”"))
        return None
    selectors: list[tuple[str, object]] = []
    for s, allowed in SELECTORS.items():
        if s in raw:
            v = raw[s]
            if allowed is None:
                if not isinstance(v, str) or not v.strip():
                    problems.append(Problem(fname, _field_line(lines, line, s), f"{s} 须为非空文本"))
                    ok = False
                    continue
            elif v not in allowed or isinstance(v, bool) != (allowed is BOOL):
                problems.append(Problem(fname, _field_line(lines, line, s),
                                        f"{s} 的值“{v}”不在允许范围 {list(allowed)} 内"))
                ok = False
                continue
            selectors.append((s, v))
    if "kind" in raw and key != "class_b_selfpay_share":
        problems.append(Problem(fname, _field_line(lines, line, "kind"), "kind 只能用于 class_b_selfpay_share"))
        ok = False
    is_open = raw.get("open", False) is True
    if is_open and "value" in raw:
        problems.append(Problem(fname, _field_line(lines, line, "open"), "open = true 时不能同时给出 value"))
        ok = False
    value: object = OPEN
    if not is_open:
        if "value" not in raw:
            problems.append(Problem(fname, line, f"参数 {key} 缺少 value（若文件未定，写 open = true）"))
            return None
        try:
            value = _parse_value(key, raw["value"])
        except ValueError as exc:
            problems.append(Problem(fname, _field_line(lines, line, "value"), f"参数 {key} 的值无效：{exc}"))
            ok = False
    cite = str(raw.get("cite", "")).strip()
    if not cite:
        problems.append(Problem(fname, line, f"参数 {key} 缺少出处 cite（文件号 + 条款）"))
        ok = False
    elif not _CITE.match(cite):
        problems.append(Problem(fname, _field_line(lines, line, "cite"),
                                f"出处“{cite}”须为“文件号 条款”，如 晋医保发〔2023〕16号 一"))
        ok = False
    start = end = None
    for fld in ("from", "until"):
        if fld in raw and _as_date(raw[fld]) is None:
            problems.append(Problem(fname, _field_line(lines, line, fld), f"{fld} 不是有效日期"))
            ok = False
    if not ok:
        return None
    start = _as_date(raw.get("from"))
    end = _as_date(raw.get("until"))
    return Param(
        key=key, selectors=tuple(sorted(selectors)), value=value,
        start=start or date.min, end=end or FAR_FUTURE, cite=cite, note=str(raw.get("note", "")),
        pack_id=pack.id, file=fname, line=line,
    )


def _load_csv(pack: Pack, fname: str, data: bytes, columns: tuple[str, ...], loader, problems) -> None:
    text = _decode(data, fname, problems)
    if text is None:
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Problem(fname, 1, "CSV 文件为空（至少需要表头）"))
        return
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in columns]
    missing = [c for c in columns if c not in header and c not in ("from", "until", "note")]
    if unknown:
        problems.append(Problem(fname, 1, f"未知的列：{', '.join(unknown)}"))
    if missing:
        problems.append(Problem(fname, 1, f"缺少列：{', '.join(missing)}"))
    if unknown or missing:
        return
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(fname, line, f"列数为 {len(row)}，表头为 {len(header)} 列"))
            continue
        rec = {h: v.strip() for h, v in zip(header, row, strict=True)}
        for v in rec.values():
            if v[:1] in ("=", "+", "@") or (v[:1] == "-" and not re.match(r"^-?\d", v)):
                problems.append(Problem(fname, line, f"单元格“{v}”像公式，已拒绝"))
                break
        else:
            loader(pack, rec, fname, line, problems)


def _row_dates(rec: dict, fname: str, line: int, problems: list[Problem]) -> tuple[date, date] | None:
    start, end = date.min, FAR_FUTURE
    if rec.get("from"):
        start = _as_date(rec["from"])
    if rec.get("until"):
        end = _as_date(rec["until"])
    if start is None or end is None:
        problems.append(Problem(fname, line, "from/until 不是有效日期（YYYY-MM-DD）"))
        return None
    return start, end


def _row_cite(rec: dict, fname: str, line: int, problems: list[Problem]) -> bool:
    if not rec.get("cite"):
        problems.append(Problem(fname, line, "缺少出处 cite（文件号 + 条款）"))
        return False
    if not _CITE.match(rec["cite"]):
        problems.append(Problem(fname, line, f"出处“{rec['cite']}”须为“文件号 条款”"))
        return False
    return True


def _load_item_row(pack: Pack, rec: dict, fname: str, line: int, problems: list[Problem]) -> None:
    bad = []
    if not rec["code"]:
        bad.append("项目编码 code 为空")
    if rec["benefit"] not in BENEFITS:
        bad.append(f"未知的待遇类别 benefit“{rec['benefit']}”")
    if rec["kind"] not in KINDS:
        bad.append(f"未知的费用类型 kind“{rec['kind']}”")
    if rec["chrgitm_lv"] not in CLASSES:
        bad.append(f"未知的支付类别 chrgitm_lv“{rec['chrgitm_lv']}”（01甲/02乙/03丙）")
    if rec["category"] not in ITEM_CATEGORIES:
        bad.append(f"未知的项目分类 category“{rec['category']}”")
    if rec["count_scope"] not in COUNT_SCOPES:
        bad.append(f"未知的次数口径 count_scope“{rec['count_scope']}”")
    pay_std = max_count = None
    if rec["pay_std"]:
        try:
            pay_std = parse_decimal(rec["pay_std"])
            if pay_std < 0:
                raise ValueError
        except ValueError:
            bad.append(f"支付标准 pay_std“{rec['pay_std']}”不是非负数")
    if rec["max_count"]:
        if rec["max_count"].isdigit() and int(rec["max_count"]) > 0:
            max_count = int(rec["max_count"])
        else:
            bad.append(f"次数限制 max_count“{rec['max_count']}”不是正整数")
    if max_count is not None and not rec["count_scope"]:
        bad.append("有 max_count 时须写 count_scope（person/year）")
    for b in bad:
        problems.append(Problem(fname, line, b))
    dates = _row_dates(rec, fname, line, problems)
    if bad or dates is None or not _row_cite(rec, fname, line, problems):
        return
    pack.items.append(CatalogueItem(
        code=rec["code"], name=rec["name"], benefit=rec["benefit"], kind=rec["kind"],
        chrgitm_lv=rec["chrgitm_lv"], pay_std=pay_std, max_count=max_count,
        count_scope=rec["count_scope"], category=rec["category"], start=dates[0], end=dates[1],
        cite=rec["cite"], note=rec.get("note", ""), pack_id=pack.id,
    ))


def _load_institution_row(pack: Pack, rec: dict, fname: str, line: int, problems: list[Problem]) -> None:
    bad = []
    if not rec["name"]:
        bad.append("机构名称 name 为空")
    if rec["admdvs"] and not _ADMDVS.match(rec["admdvs"]):
        bad.append("admdvs 须为6位数字")
    if rec["level"] and rec["level"] not in LEVELS:
        bad.append(f"未知的机构级别 level“{rec['level']}”")
    pc = None
    if rec["price_class"]:
        if rec["price_class"] in ("1", "2", "3"):
            pc = int(rec["price_class"])
        else:
            bad.append(f"收费价格类别 price_class“{rec['price_class']}”须为 1/2/3")
    if rec["art_approved"] not in ("", "true", "false"):
        bad.append("art_approved 须为 true/false")
    for b in bad:
        problems.append(Problem(fname, line, b))
    dates = _row_dates(rec, fname, line, problems)
    if bad or dates is None or not _row_cite(rec, fname, line, problems):
        return
    pack.institutions.append(InstitutionRow(
        code=rec["code"], name=rec["name"], admdvs=rec["admdvs"], level=rec["level"], price_class=pc,
        art_approved=rec["art_approved"] == "true",
        designated_diseases=tuple(x.strip() for x in rec["designated_diseases"].split(";") if x.strip()),
        start=dates[0], end=dates[1], cite=rec["cite"], note=rec.get("note", ""), pack_id=pack.id,
    ))


def _load_disease_row(pack: Pack, rec: dict, fname: str, line: int, problems: list[Problem]) -> None:
    if not rec["code"]:
        problems.append(Problem(fname, line, "病种编码 code 为空"))
        return
    if rec["benefit"] not in BENEFITS:
        problems.append(Problem(fname, line, f"未知的待遇类别 benefit“{rec['benefit']}”"))
        return
    if not _row_cite(rec, fname, line, problems):
        return
    pack.diseases.append(Disease(
        code=rec["code"], name=rec["name"], benefit=rec["benefit"], criteria=rec["criteria"],
        cite=rec["cite"], note=rec.get("note", ""), pack_id=pack.id,
    ))


def _check_within_pack(pack: Pack, problems: list[Problem]) -> None:
    """Overlaps and ambiguous pairs among one pack's own parameters."""
    by_key: dict[str, list[Param]] = {}
    for p in pack.params:
        if p.start >= p.end:
            problems.append(Problem(p.file, p.line, f"参数 {p.key} 的 from 须早于 until"))
        by_key.setdefault(p.key, []).append(p)
    for key, ps in by_key.items():
        for i, a in enumerate(ps):
            for b in ps[i + 1:]:
                if not (a.start < b.end and b.start < a.end):
                    continue
                if a.selectors == b.selectors:
                    problems.append(Problem(b.file, b.line,
                                            f"参数 {key} 与第 {a.line} 行的条目适用对象相同且日期重叠"))
                elif len(a.selectors) == len(b.selectors) and _compatible(a.selectors, b.selectors):
                    problems.append(Problem(b.file, b.line,
                                            f"参数 {key} 与第 {a.line} 行的条目可能同时适用于同一就诊且日期重叠（无法确定用哪一个）"))
    seen: dict[tuple[str, str], CatalogueItem] = {}
    for it in pack.items:
        k = (it.benefit, it.code)
        prev = seen.get(k)
        if prev is not None and it.start < prev.end and prev.start < it.end:
            problems.append(Problem(f"{pack.path}/items.csv", 0, f"项目 {it.code}（{it.benefit}）重复且日期重叠"))
        seen[k] = it


def _compatible(a: tuple, b: tuple) -> bool:
    da, db = dict(a), dict(b)
    return all(da[k] == db[k] for k in da.keys() & db.keys())


# --------------------------------------------------------------------------
# A set of packs and the resolved chain per region
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Candidate:
    param: Param
    specificity: int
    depth: int


class Chain:
    """The packs that apply to one 参保地 (county → city → province), merged for lookups."""

    def __init__(self, packs: list[Pack], documents: dict[str, Document], doc_end: dict[str, date]):
        self.packs = packs  # most specific first
        self.documents = documents
        self.doc_end = doc_end
        depth = {p.id: len(packs) - 1 - i for i, p in enumerate(packs)}
        index: dict[str, list[_Candidate]] = {}
        for pack in packs:
            for prm in pack.params:
                index.setdefault(prm.key, []).append(_Candidate(prm, len(prm.selectors), depth[pack.id]))
        for cands in index.values():
            cands.sort(key=lambda c: (-c.specificity, -c.depth))
        self._index = index
        items: dict[tuple[str, str], list[tuple[int, CatalogueItem]]] = {}
        for pack in packs:
            for it in pack.items:
                items.setdefault((it.benefit, it.code), []).append((depth[pack.id], it))
        for lst in items.values():
            lst.sort(key=lambda t: -t[0])
        self._items = items
        self._catalogue_benefits = {b for (b, _c) in items}

    @property
    def pack_versions(self) -> list[tuple[str, str]]:
        return [(p.id, p.version) for p in reversed(self.packs)]

    def resolve(self, key: str, ctx: dict, on: date) -> Param | None:
        """The parameter in force on `on` that applies to `ctx`: most specific, then deepest pack."""
        for c in self._index.get(key, ()):
            p = c.param
            if p.start <= on < p.end:
                for s, v in p.selectors:
                    if ctx.get(s) != v:
                        break
                else:
                    return p
        return None

    def params(self, key: str) -> list[Param]:
        return [c.param for c in self._index.get(key, ())]

    def catalogue_item(self, benefit: str, code: str, on: date) -> CatalogueItem | None:
        for _d, it in self._items.get((benefit, code), ()):
            if it.start <= on < it.end:
                return it
        return None

    def has_catalogue(self, benefit: str) -> bool:
        return benefit in self._catalogue_benefits

    def disease(self, code: str) -> Disease | None:
        for pack in self.packs:
            for d in pack.diseases:
                if d.code == code:
                    return d
        return None


class PolicySet:
    """Every loaded pack, validated together; gives the chain for a 参保地."""

    def __init__(self, packs: Iterable[Pack]):
        self.packs: dict[str, Pack] = {}
        for p in packs:
            self.packs[p.id] = p  # a later pack with the same id replaces the earlier one
        self.by_admdvs: dict[str, Pack] = {}
        problems: list[Problem] = []
        for p in self.packs.values():
            other = self.by_admdvs.get(p.admdvs)
            if other is not None:
                problems.append(Problem(p.path, 0, f"政策包 {p.id} 与 {other.id} 的医保区划同为 {p.admdvs}"))
            self.by_admdvs[p.admdvs] = p
        for p in self.packs.values():
            if p.parent and p.parent not in self.packs:
                problems.append(Problem(f"{p.path}/pack.toml", 0, f"上级政策包 {p.parent} 未加载"))
        if not problems:
            for p in self.packs.values():
                problems.extend(self._check_chain(p))
        if problems:
            raise PackInvalid(problems)
        self._chains: dict[str, Chain | None] = {}
        self.content_hash = hashlib.sha256(
            "".join(sorted(p.content_hash for p in self.packs.values())).encode()).hexdigest()

    def ancestry(self, pack: Pack) -> list[Pack]:
        out, seen = [pack], {pack.id}
        while out[-1].parent:
            nxt = self.packs[out[-1].parent]
            if nxt.id in seen:
                break
            seen.add(nxt.id)
            out.append(nxt)
        return out

    def _documents(self, chain: list[Pack]) -> dict[str, Document]:
        docs: dict[str, Document] = {}
        for pack in reversed(chain):
            docs.update(pack.documents)
        return docs

    @staticmethod
    def _doc_ends(docs: dict[str, Document]) -> dict[str, date]:
        ends: dict[str, date] = {}

        def end(n: str, stack: tuple = ()) -> date:
            if n in ends:
                return ends[n]
            d = docs[n]
            e = d.expires or FAR_FUTURE
            for b in d.bounded_by:
                if b in docs and b not in stack:
                    e = min(e, end(b, (*stack, n)))
            ends[n] = e
            return e

        for n in docs:
            end(n)
        return ends

    def _check_chain(self, pack: Pack) -> list[Problem]:
        problems: list[Problem] = []
        chain = self.ancestry(pack)
        if len(chain) > 1 and len({p.id for p in chain}) != len(chain):  # pragma: no cover
            problems.append(Problem(pack.path, 0, "上级政策包形成循环"))
        docs = self._documents(chain)
        for d in pack.documents.values():
            for b in d.bounded_by:
                if b not in docs:
                    problems.append(Problem(d.file, d.line, f"bounded_by 引用了未列出的文件 {b}"))
        ends = self._doc_ends(docs)
        diseases = {d.code for p in chain for d in p.diseases}
        for prm in pack.params:
            num = prm.doc_number
            doc = docs.get(num)
            if doc is None:
                problems.append(Problem(prm.file, prm.line, f"出处引用的文件 {num} 未在本包或上级包的清单中列出"))
                continue
            dend = ends[num]
            if prm.start != date.min and prm.start < doc.effective:
                problems.append(Problem(prm.file, prm.line,
                                        f"参数 {prm.key} 自 {prm.start} 起，早于所引文件 {num} 的执行日期 {doc.effective}"))
            if prm.end != FAR_FUTURE and prm.end > dend:
                problems.append(Problem(prm.file, prm.line,
                                        f"参数 {prm.key} 至 {prm.end}，晚于所引文件 {num} 的失效日期 {dend}"))
            sel = dict(prm.selectors)
            if "disease" in sel and sel["disease"] not in diseases:
                problems.append(Problem(prm.file, prm.line, f"病种 {sel['disease']} 不在病种目录中"))
        for cat in (pack.items, pack.institutions):
            for row in cat:
                num = _CITE.match(row.cite).group("doc")
                if num not in docs:
                    problems.append(Problem(f"{pack.path}", 0, f"目录行 {row.code or row.name} 的出处文件 {num} 未列出"))
        for d in pack.diseases:
            num = _CITE.match(d.cite).group("doc")
            if num not in docs:
                problems.append(Problem(f"{pack.path}", 0, f"病种 {d.code} 的出处文件 {num} 未列出"))
        # A ratio below a floor that applies to it (e.g. 职工普通门诊 不低于50%).
        full = [q for p in chain for q in p.params]
        for floor in (q for q in full if q.key == "ratio_floor" and not q.is_open):
            fsel = set(floor.selectors)
            for r in pack.params:
                if r.key == "ratio" and not r.is_open and fsel <= set(r.selectors) \
                        and r.start < floor.end and floor.start < r.end and r.value < floor.value:
                    problems.append(Problem(r.file, r.line,
                                            f"支付比例 {r.value} 低于 {floor.cite} 规定的下限 {floor.value}"))
        return problems

    def chain_for(self, admdvs: str) -> Chain | None:
        """County pack over its city pack over its province pack; None when no pack covers the region."""
        if admdvs in self._chains:
            return self._chains[admdvs]
        pack = None
        for code in admdvs_levels(admdvs):
            pack = self.by_admdvs.get(code)
            if pack is not None:
                break
        chain = None
        if pack is not None:
            packs = self.ancestry(pack)
            docs = self._documents(packs)
            ends = self._doc_ends(docs)
            packs = [_clip_to_documents(p, docs, ends) for p in packs]
            chain = Chain(packs, docs, ends)
        self._chains[admdvs] = chain
        return chain


def _clip_to_documents(pack: Pack, docs: dict[str, Document], ends: dict[str, date]) -> Pack:
    """Fill each value's open start/end from the document it cites (values end with their document)."""
    params = []
    for p in pack.params:
        d = docs.get(p.doc_number)
        if d is None:
            params.append(p)
            continue
        start = p.start if p.start != date.min else d.effective
        end = min(p.end, ends[d.number])
        if start != p.start or end != p.end:
            p = Param(p.key, p.selectors, p.value, start, end, p.cite, p.note, p.pack_id, p.file, p.line)
        params.append(p)
    items = []
    for it in pack.items:
        num = _CITE.match(it.cite).group("doc")
        d = docs.get(num)
        if d is not None:
            start = it.start if it.start != date.min else d.effective
            end = min(it.end, ends[num])
            it = CatalogueItem(it.code, it.name, it.benefit, it.kind, it.chrgitm_lv, it.pay_std,
                               it.max_count, it.count_scope, it.category, start, end, it.cite,
                               it.note, it.pack_id)
        items.append(it)
    clipped = Pack(pack.id, pack.name, pack.admdvs, pack.parent, pack.version, pack.level, pack.note,
                   pack.path, pack.content_hash, pack.documents, params, items,
                   pack.institutions, pack.diseases)
    return clipped


# --------------------------------------------------------------------------
# Finding and caching packs
# --------------------------------------------------------------------------
def shipped_packs_dir() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "resources" / "policy_packs"


def pack_dirs(path: Path) -> list[Path]:
    """A pack folder, a pack .zip / pack.toml, or a folder of packs (each sub-folder one pack)."""
    if path.is_file():
        return [path]
    if (path / "pack.toml").is_file():
        return [path]
    if path.is_dir():
        subs = sorted(p for p in path.iterdir()
                      if (p.is_dir() and (p / "pack.toml").is_file()) or p.suffix.lower() == ".zip")
        if subs:
            return subs
    raise PackInvalid([Problem(str(path), 0, "找不到政策包（文件夹中没有 pack.toml）")])


_CACHE: dict[tuple[str, ...], PolicySet] = {}


def policy_from_files(packs: Sequence[tuple[str, dict[str, bytes]]]) -> PolicySet:
    """A policy set from pack files held elsewhere (the database): [(label, {name: bytes})]."""
    return _policy_from_sources([_Source(dict(files), label) for label, files in packs])


def pack_files(path: str | Path) -> tuple[Pack, dict[str, bytes]]:
    """Read one pack (folder or zip) once: the validated pack and its exact files."""
    src = _Source.open(Path(path))
    return _load_source(src), dict(src.files)


def load_policy(extra: Sequence[str | Path] = (), shipped: Path | None = None) -> PolicySet:
    """The shipped packs plus each extra pack given, applied over them in order.

    The files are read (a few KB) and hashed; the parsed and validated set is
    cached in-process keyed by the content hashes, so the settlement hot path
    never re-parses TOML, and a changed pack is never served stale.
    """
    base = shipped if shipped is not None else shipped_packs_dir()
    paths: list[Path] = pack_dirs(base) if base.exists() else []
    for e in extra:
        paths.extend(pack_dirs(Path(e)))
    sources: list[_Source] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            sources.append(_Source.open(p))
        except PackInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise PackInvalid(problems)
    return _policy_from_sources(sources)


def _policy_from_sources(sources: list[_Source]) -> PolicySet:
    problems: list[Problem] = []
    key = tuple(src.content_hash() for src in sources)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    packs: list[Pack] = []
    for src in sources:
        try:
            packs.append(_load_source(src))
        except PackInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise PackInvalid(problems)
    policy = PolicySet(packs)
    _CACHE[key] = policy
    return policy


# --------------------------------------------------------------------------
# Coverage (what `packs check` prints)
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CoverageRow:
    region: str
    pack_id: str
    benefit: str
    insutype: str
    disease: str
    start: date
    end: date
    cite: str
    open_params: tuple[str, ...]


def coverage(policy: PolicySet, pack: Pack) -> list[CoverageRow]:
    """Date ranges in which each benefit is in force for the region of `pack` (merged over its chain)."""
    chain = policy.chain_for(pack.admdvs)
    assert chain is not None
    combos = set()
    for prm in chain.params("in_force"):
        sel = dict(prm.selectors)
        combos.add((sel.get("benefit", ""), sel.get("insutype", ""), sel.get("disease", "")))
    rows: list[CoverageRow] = []
    all_params = [q for p in chain.packs for q in p.params]
    for benefit, insutype, disease in sorted(combos):
        ctx = {"benefit": benefit, "insutype": insutype, "disease": disease or None}
        points = sorted({d for q in all_params for d in (q.start, q.end) if d not in (date.min, FAR_FUTURE)})
        bounds = [date.min, *points, FAR_FUTURE]
        segs: list[list] = []
        for a, b in itertools.pairwise(bounds):
            prm = chain.resolve("in_force", ctx, a)
            on = prm is not None and prm.value is True
            if on:
                if segs and segs[-1][1] == a and segs[-1][2] == prm.cite:
                    segs[-1][1] = b
                else:
                    segs.append([a, b, prm.cite])
        for a, b, cite in segs:
            opens = []
            for q in all_params:
                if q.is_open and q.start < b and a < q.end:
                    qs = dict(q.selectors)
                    if qs.get("benefit", benefit) == benefit and qs.get("insutype", insutype) == insutype:
                        effect = OPEN_EFFECT.get(q.key, OPEN_EFFECT_DEFAULT)
                        opens.append(f"{KEY_LABELS[q.key]}（{q.key}，{q.cite}）：{effect}")
            rows.append(CoverageRow(pack.admdvs, pack.id, benefit, insutype, disease, a, b, cite,
                                    tuple(dict.fromkeys(opens))))
    return rows
