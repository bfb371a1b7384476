"""Reading zip archives that may be hostile: a zip-bomb and path guard.

Used for policy pack .zip files (`core.pack_files`) and roster .xlsx workbooks
(`services.roster`). The directory is checked before Python parses it, every
entry is inflated in chunks and stopped as soon as the bytes actually produced
pass a limit, and the CRC is checked.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # zipfile itself is imported when a zip is opened (not on `calc`'s start-up path)
    import zipfile

_STORED, _DEFLATED = 0, 8  # zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED


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
    import zipfile

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
    _seek_entry_data(fh, info)
    inflate = zlib.decompressobj(-15) if info.compress_type == _DEFLATED else None
    left = info.compress_size
    sink = _Sink(info, limits, done, keep)
    try:
        while left > 0:
            chunk = fh.read(min(left, _ZIP_CHUNK))
            if not chunk:
                raise ZipRefused(name, "压缩包已损坏或不完整")
            left -= len(chunk)
            if inflate is None:
                sink.take(chunk)
                continue
            sink.take(inflate.decompress(chunk, _ZIP_CHUNK))
            while inflate.unconsumed_tail:
                sink.take(inflate.decompress(inflate.unconsumed_tail, _ZIP_CHUNK))
        if inflate is not None:
            sink.take(inflate.flush())
            if not inflate.eof or inflate.unused_data:
                raise ZipRefused(name, "压缩包已损坏或不完整")
    except zlib.error:
        raise ZipRefused(name, "压缩包已损坏（无法解压）") from None
    if sink.size != info.file_size or sink.crc != info.CRC:
        raise ZipRefused(name, "压缩包已损坏（大小或校验和不符）")
    return b"".join(sink.parts)


def _seek_entry_data(fh, info: zipfile.ZipInfo) -> None:
    """Refuse what cannot be read (encrypted, another compression, a bad local header); seek to the data."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ZipRefused(name, "文件已加密，无法读取")
    if info.compress_type not in (_STORED, _DEFLATED):
        raise ZipRefused(name, f"不支持的压缩方式（{info.compress_type}），请用普通 zip（deflate）重新压缩")
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise ZipRefused(name, "压缩包已损坏或不完整")
    name_len, extra_len = struct.unpack("<2H", head[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)


class _Sink:
    """Counts the bytes an entry inflates to and refuses them past any limit; keeps them if asked."""

    __slots__ = ("crc", "done", "info", "keep", "limits", "parts", "size")

    def __init__(self, info: zipfile.ZipInfo, limits: ZipLimits, done: int, keep: bool):
        self.info = info
        self.limits = limits
        self.done = done  # bytes already read from other entries of the archive
        self.keep = keep
        self.size = 0
        self.crc = 0
        self.parts: list[bytes] = []

    def take(self, data: bytes) -> None:
        info, limits, name = self.info, self.limits, self.info.filename
        self.size += len(data)
        size = self.size
        if size > info.file_size:
            raise ZipRefused(name, "解压后的实际大小超过压缩包目录中声明的大小，疑似压缩炸弹，已拒绝")
        if size > limits.max_entry:
            raise ZipRefused(name, f"文件过大（上限 {limits.max_entry} 字节）")
        if self.done + size > limits.max_total:
            raise ZipRefused(name, f"压缩包解压后总大小超过上限 {limits.max_total} 字节，疑似压缩炸弹，已拒绝")
        if _ratio_over(size, info.compress_size, limits):
            raise ZipRefused(name, f"压缩比超过 {limits.max_ratio}:1，疑似压缩炸弹，已拒绝")
        self.crc = zlib.crc32(data, self.crc)
        if self.keep:
            self.parts.append(data)
