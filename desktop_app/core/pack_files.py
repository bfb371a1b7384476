"""Reading policy packs: a folder or a .zip of one, validated; finding and caching them.

``pack.toml`` (the manifest and its documents) and ``params.toml`` (dated
parameters) are read and checked here; the CSV catalogues by ``pack_rows.py``.
A pack is read as bytes once (``_Source``), hashed, and the validated set is
cached in-process keyed by the content hashes.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from desktop_app.core.model import FEE_CATEGORIES, KINDS, LEVELS, RELATIONS
from desktop_app.core.money import parse_decimal
from desktop_app.core.pack_rows import (
    DISEASE_COLUMNS,
    INSTITUTION_COLUMNS,
    ITEM_COLUMNS,
    as_date,
    load_csv,
    load_disease_row,
    load_institution_row,
    load_item_row,
)
from desktop_app.core.policy import (
    ADMDVS,
    BOOL,
    CITE,
    FAR_FUTURE,
    KEY_TYPES,
    OPEN,
    SELECTORS,
    CatalogueItem,
    Document,
    Pack,
    PackInvalid,
    Param,
    PolicySet,
    Problem,
)
from desktop_app.core.safezip import ZipLimits, ZipRefused, open_zip_checked, read_zip_entry

PARAM_FIELDS = {"key", "value", "open", "from", "until", "cite", "note", *SELECTORS}
DOC_FIELDS = {"number", "title", "issuer", "issued", "effective", "expires", "validity", "bounded_by", "note"}
MANIFEST_FIELDS = {"id", "name", "admdvs", "parent", "version", "level", "note", "document"}
PACK_LEVELS = ("province", "city", "county")
_LISTS = {"kinds": tuple(KINDS), "relations": tuple(RELATIONS), "levels": tuple(LEVELS),
          "fee_categories": FEE_CATEGORIES}


# --------------------------------------------------------------------------
# Reading files (folder or zip) with line numbers
# --------------------------------------------------------------------------
PACK_FILES = ("pack.toml", "params.toml", "items.csv", "institutions.csv", "diseases.csv", "SIGNATURE.json")
MAX_FILE_BYTES = 8 * 1024 * 1024
# A pack zip holds six text files of a few KB (the shipped ones: 0.4–9 KB,
# compressing 2–5×), each at most MAX_FILE_BYTES; the limits leave wide room.
PACK_ZIP_LIMITS = ZipLimits(max_entries=1000, max_total=64 * 1024 * 1024, max_ratio=100,
                            max_entry=MAX_FILE_BYTES)


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
    pack = _load_manifest(src, problems)
    if "params.toml" in src.files:
        _load_params(pack, src, problems)
    for fname, columns, loader in (
        ("items.csv", ITEM_COLUMNS, load_item_row),
        ("institutions.csv", INSTITUTION_COLUMNS, load_institution_row),
        ("diseases.csv", DISEASE_COLUMNS, load_disease_row),
    ):
        if fname in src.files:
            name = src.name_of(fname)
            text = _decode(src.files[fname], name, problems)
            if text is not None:
                load_csv(pack, name, text, columns, loader, problems)
    _check_within_pack(pack, problems)
    if problems:
        raise PackInvalid(problems)
    return pack


def _load_manifest(src: _Source, problems: list[Problem]) -> Pack:
    """pack.toml: the pack's identity and its documents. Raises `PackInvalid` when it cannot be read."""
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
    if not ADMDVS.match(admdvs):
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
    _load_documents(pack, data, text, lines, manifest_name, problems)
    return pack


def _load_documents(pack: Pack, data: dict, text: str, lines: list[str], fname: str,
                    problems: list[Problem]) -> None:
    doc_lines = _table_lines(text, "document")
    docs = data.get("document", [])
    if not isinstance(docs, list):
        problems.append(Problem(fname, 1, "document 须为 [[document]] 表数组"))
        docs = []
    for idx, d in enumerate(docs):
        line = doc_lines[idx] if idx < len(doc_lines) else 0
        _load_document(pack, d, fname, lines, line, problems)
    # Derived expiry through bounded_by is resolved by PolicySet (it may name a parent's document).


def _load_params(pack: Pack, src: _Source, problems: list[Problem]) -> None:
    """params.toml: only [[param]] tables, each checked by `_load_param`."""
    pname = src.name_of("params.toml")
    ptext = _decode(src.files["params.toml"], pname, problems)
    pdata = _parse_toml(ptext, pname, problems) if ptext is not None else None
    if pdata is None:
        return
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
    eff = as_date(d.get("effective"))
    if eff is None:
        problems.append(Problem(fname, _field_line(lines, line, "effective"), f"{number} 缺少执行日期 effective"))
        return
    exp = None
    if "expires" in d:
        exp = as_date(d.get("expires"))
        if exp is None or exp <= eff:
            problems.append(Problem(fname, _field_line(lines, line, "expires"),
                                    f"{number} 的失效日期 expires 须晚于执行日期"))
            return
    issued = as_date(d.get("issued")) if "issued" in d else None
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
    if kind == "admdvs_list":
        if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and ADMDVS.match(x) for x in raw):
            raise ValueError("须为非空列表，元素为6位医保区划代码（写成字符串）")
        return tuple(raw)
    if kind in _LISTS:
        allowed = _LISTS[kind]
        if not isinstance(raw, list) or not all(isinstance(x, str) and x in allowed for x in raw):
            raise ValueError(f"须为列表，元素取自 {'/'.join(allowed)}")
        return tuple(raw)
    raise AssertionError(kind)  # pragma: no cover


def _load_param(pack: Pack, raw: object, fname: str, lines: list[str], line: int,
                problems: list[Problem]) -> Param | None:
    """One [[param]] table; None (with its problems listed) when anything in it is wrong."""
    if not isinstance(raw, dict):
        problems.append(Problem(fname, line, "param 条目格式错误"))
        return None
    before = len(problems)  # any problem appended below makes the entry unusable
    for k in raw:
        if k not in PARAM_FIELDS:
            problems.append(Problem(fname, _field_line(lines, line, k), f"未知字段“{k}”"))
    key = raw.get("key")
    if key not in KEY_TYPES:
        problems.append(Problem(fname, _field_line(lines, line, "key"), f"未知的参数键“{key}”"))
        return None
    selectors = _param_selectors(raw, key, fname, lines, line, problems)
    found, value = _param_value(raw, key, fname, lines, line, problems)
    if not found:
        return None
    cite = str(raw.get("cite", "")).strip()
    if not cite:
        problems.append(Problem(fname, line, f"参数 {key} 缺少出处 cite（文件号 + 条款）"))
    elif not CITE.match(cite):
        problems.append(Problem(fname, _field_line(lines, line, "cite"),
                                f"出处“{cite}”须为“文件号 条款”，如 晋医保发〔2023〕16号 一"))
    for fld in ("from", "until"):
        if fld in raw and as_date(raw[fld]) is None:
            problems.append(Problem(fname, _field_line(lines, line, fld), f"{fld} 不是有效日期"))
    if len(problems) > before:
        return None
    start = as_date(raw.get("from"))
    end = as_date(raw.get("until"))
    return Param(
        key=key, selectors=tuple(sorted(selectors)), value=value,
        start=start or date.min, end=end or FAR_FUTURE, cite=cite, note=str(raw.get("note", "")),
        pack_id=pack.id, file=fname, line=line,
    )


def _param_selectors(raw: dict, key: str, fname: str, lines: list[str], line: int,
                     problems: list[Problem]) -> list[tuple[str, object]]:
    """The selectors of a [[param]] (to whom it applies), each checked against its allowed values."""
    selectors: list[tuple[str, object]] = []
    for s, allowed in SELECTORS.items():
        if s in raw:
            v = raw[s]
            if allowed is None:
                if not isinstance(v, str) or not v.strip():
                    problems.append(Problem(fname, _field_line(lines, line, s), f"{s} 须为非空文本"))
                    continue
            elif v not in allowed or isinstance(v, bool) != (allowed is BOOL):
                problems.append(Problem(fname, _field_line(lines, line, s),
                                        f"{s} 的值“{v}”不在允许范围 {list(allowed)} 内"))
                continue
            selectors.append((s, v))
    if "kind" in raw and key != "class_b_selfpay_share":
        problems.append(Problem(fname, _field_line(lines, line, "kind"), "kind 只能用于 class_b_selfpay_share"))
    return selectors


def _param_value(raw: dict, key: str, fname: str, lines: list[str], line: int,
                 problems: list[Problem]) -> tuple[bool, object]:
    """(False, None) when the value is missing; else (True, the parsed value or OPEN)."""
    is_open = raw.get("open", False) is True
    if is_open and "value" in raw:
        problems.append(Problem(fname, _field_line(lines, line, "open"), "open = true 时不能同时给出 value"))
    if is_open:
        return True, OPEN
    if "value" not in raw:
        problems.append(Problem(fname, line, f"参数 {key} 缺少 value（若文件未定，写 open = true）"))
        return False, None
    try:
        return True, _parse_value(key, raw["value"])
    except ValueError as exc:
        problems.append(Problem(fname, _field_line(lines, line, "value"), f"参数 {key} 的值无效：{exc}"))
        return True, OPEN


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
# Finding and caching packs
# --------------------------------------------------------------------------
def shipped_packs_dir() -> Path:
    from desktop_app.resources import runtime_dir  # the one place that locates resources/

    return runtime_dir("resources/policy_packs")


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


