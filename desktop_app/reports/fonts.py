"""CJK fonts for PDFs: a TrueType font found on the machine is embedded (subset);
without one, reportlab's built-in `STSong-Light` CID font is used (the reader
supplies the glyphs). No font files are shipped in the repository.

Rare characters in names (CJK Ext-A such as 䶮, Ext-B such as 𠮷) are missing from the
everyday fonts; they are drawn per glyph from a fallback font found on the machine
(`FALLBACK_CANDIDATES`: Windows SimSun-ExtB / MingLiU-ExtB, Debian fonts-hanazono,
fonts-babelstone-han). A character no font has is never dropped silently:
`missing_glyphs` names it, the receipt prints □ and a note, the window warns.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = (
    # Windows
    r"C:\Windows\Fonts\simsun.ttc",
    r"C:\Windows\Fonts\msyh.ttc",
    r"C:\Windows\Fonts\simhei.ttf",
    r"C:\Windows\Fonts\msyh.ttf",
    # Linux
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # CFF outlines: reportlab refuses, skipped
    # macOS
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
)
FALLBACK = "STSong-Light"
FALLBACK_CANDIDATES = (
    # Windows: the Ext-B companions of SimSun and MingLiU, and SimSun-ExtG (Windows 11)
    r"C:\Windows\Fonts\simsunb.ttf",
    r"C:\Windows\Fonts\SimsunExtG.ttf",
    r"C:\Windows\Fonts\mingliub.ttc",
    # Debian / Ubuntu: fonts-hanazono (HanaMinA: the BMP and Ext-A; HanaMinB: Ext-B and later), fonts-babelstone-han
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
    "/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf",
)


@dataclass(frozen=True)
class FontChoice:
    regular: str
    bold: str
    path: str | None  # None: the built-in CID fallback
    family: str  # for Qt
    fallbacks: tuple[str, ...] = ()  # registered fonts for characters the main one lacks, in order


_CACHE: dict[str | None, FontChoice] = {}
_LOCK = threading.Lock()  # receipts are drawn on the writer thread while the window checks a name on a reader


def _has(font_name: str, ch: str) -> bool:
    from reportlab.pdfbase import pdfmetrics

    if font_name == FALLBACK:  # the CID font's encoding (UniGB-UCS2-H) reaches the BMP only
        return ord(ch) <= 0xFFFF
    return ord(ch) in pdfmetrics.getFont(font_name).face.charToGlyph


def font_for(choice: FontChoice, ch: str) -> str | None:
    """The registered font that draws `ch`: the main one, else the first fallback that has it; None: none has it."""
    if ch.isspace() or ord(ch) < 0x20:
        return choice.regular
    for name in (choice.regular, *choice.fallbacks):
        if _has(name, ch):
            return name
    return None


def runs(text: str, choice: FontChoice) -> list[tuple[str, str]]:
    """`text` cut into (font, piece) runs, each piece drawn with a font that has its glyphs (□ where none has)."""
    out: list[tuple[str, str]] = []
    for ch in text:
        name = font_for(choice, ch)
        if name is None:
            name, ch = choice.regular, "□"
        if out and out[-1][0] == name:
            out[-1] = (name, out[-1][1] + ch)
        else:
            out.append((name, ch))
    return out


def missing_glyphs(text: str, choice: FontChoice | None = None) -> str:
    """The characters of `text` that no font on this machine can print (each once, in order)."""
    choice = choice or register_fonts()
    return "".join(dict.fromkeys(ch for ch in text if font_for(choice, ch) is None))


def _fallback_fonts() -> tuple[str, ...]:
    names = []
    for p in FALLBACK_CANDIDATES:
        if Path(p).is_file():
            name = _try_ttf(p, probe=None)
            if name and name not in names:
                names.append(name)
    return tuple(names)


def _try_ttf(path: str, probe: str | None = "结") -> str | None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    name = "CS-" + Path(path).stem
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    try:
        kwargs = {"subfontIndex": 0} if path.lower().endswith(".ttc") else {}
        font = TTFont(name, path, **kwargs)
        if probe is not None and font.face.charToGlyph.get(ord(probe)) is None:
            return None
        pdfmetrics.registerFont(font)
        return name
    except (TTFError, OSError, ValueError, KeyError):
        return None


def register_fonts(preferred: str | None = None) -> FontChoice:
    """Register (once) and return the font to use. `preferred` is the path set in 设置."""
    key = preferred or None
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _register(preferred)
        return _CACHE[key]


def _register(preferred: str | None) -> FontChoice:
    _patch_reportlab()
    paths = [preferred] if preferred else []
    env = os.environ.get("CLINIC_SETTLE_FONT")
    if env:
        paths.append(env)
    paths.extend(CANDIDATES)
    choice = None
    for p in paths:
        if p and Path(p).is_file():
            name = _try_ttf(p)
            if name:
                choice = FontChoice(name, name, p, Path(p).stem, _fallback_fonts())
                break
    if choice is None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        if FALLBACK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
        choice = FontChoice(FALLBACK, FALLBACK, None, "SimSun", _fallback_fonts())
    return choice


def _utf16_hex(v: int) -> str:
    if v <= 0xFFFF:
        return f"{v:04X}"
    v -= 0x10000
    return f"{0xD800 + (v >> 10):04X}{0xDC00 + (v & 0x3FF):04X}"


def _to_unicode_cmap(fontname: str, subset) -> str:
    """reportlab's ToUnicode CMap, with characters beyond the BMP written as UTF-16 surrogate pairs: reportlab
    writes `<20BB7>` (an odd-length hex string), so a reader cannot map 𠮷 back to text (copy, search, audit).
    A subset without such characters is left exactly as reportlab writes it."""
    text = _ORIGINAL_CMAP[0](fontname, subset)
    if all(v <= 0xFFFF for v in subset):
        return text
    head, _sep, rest = text.partition("beginbfchar\n")
    _old, _sep2, tail = rest.partition("\nendbfchar")
    pairs = "\n".join(f"<{i:02X}> <{_utf16_hex(v)}>" for i, v in enumerate(subset))
    return f"{head}beginbfchar\n{pairs}\nendbfchar{tail}"


_ORIGINAL_CMAP: list = []


def _patch_reportlab() -> None:
    from reportlab.pdfbase import ttfonts

    if not _ORIGINAL_CMAP:
        _ORIGINAL_CMAP.append(ttfonts.makeToUnicodeCMap)
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap
