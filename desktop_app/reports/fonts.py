"""CJK fonts for PDFs: a TrueType font found on the machine is embedded (subset);
without one, reportlab's built-in `STSong-Light` CID font is used (the reader
supplies the glyphs). No font files are shipped in the repository.
"""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class FontChoice:
    regular: str
    bold: str
    path: str | None  # None: the built-in CID fallback
    family: str  # for Qt


_CACHE: dict[str | None, FontChoice] = {}


def _try_ttf(path: str) -> str | None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    name = "CS-" + Path(path).stem
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    try:
        kwargs = {"subfontIndex": 0} if path.lower().endswith(".ttc") else {}
        font = TTFont(name, path, **kwargs)
        if font.face.charToGlyph.get(ord("结")) is None:
            return None
        pdfmetrics.registerFont(font)
        return name
    except (TTFError, OSError, ValueError, KeyError):
        return None


def register_fonts(preferred: str | None = None) -> FontChoice:
    """Register (once) and return the font to use. `preferred` is the path set in 设置."""
    key = preferred or None
    if key in _CACHE:
        return _CACHE[key]
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
                choice = FontChoice(name, name, p, Path(p).stem)
                break
    if choice is None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        if FALLBACK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
        choice = FontChoice(FALLBACK, FALLBACK, None, "SimSun")
    _CACHE[key] = choice
    return choice
