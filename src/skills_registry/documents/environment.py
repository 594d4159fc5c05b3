"""Refuse to render silently slow or with missing glyphs.

Without Debian's libharfbuzz-subset0 WeasyPrint falls back to a font subsetter that makes
a Chinese certificate ~60x slower (and says so only in a log line); without Noto Serif
CJK SC fontconfig silently substitutes another font or draws empty boxes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache

from fontTools.ttLib import TTCollection, TTFont

FONT_FAMILY = "Noto Serif CJK SC"
INSTALL_HINT = "apt-get install fonts-noto-cjk libharfbuzz-subset0 (make run / make test do it)"


class RenderingUnavailable(RuntimeError):
    """The machine cannot render certificates correctly; the message says what to install."""


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int


def _fc_match(style: str) -> FontFace:
    if shutil.which("fc-match") is None:
        raise RenderingUnavailable(f"fontconfig (fc-match) is missing: {INSTALL_HINT}")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        ["fc-match", "-f", "%{family}|%{file}|%{index}", f"{FONT_FAMILY}:style={style}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    family, path, index = result.stdout.split("|")
    if FONT_FAMILY not in family.split(","):
        raise RenderingUnavailable(
            f"font {FONT_FAMILY} {style} not found (fontconfig offers {family}): {INSTALL_HINT}"
        )
    return FontFace(path, int(index or 0))


@cache
def check_environment() -> tuple[FontFace, FontFace]:
    """Regular and Bold faces of Noto Serif CJK SC, after checking HarfBuzz subsetting."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is None or not harfbuzz.hb_version_atleast(4, 1, 0):
        raise RenderingUnavailable(
            "HarfBuzz subsetting (libharfbuzz-subset0 ≥ 4.1) is missing: rendering would be "
            f"~60x slower. {INSTALL_HINT}"
        )
    return _fc_match("Regular"), _fc_match("Bold")


@cache
def covered_characters() -> frozenset[int]:
    """Code points the certificate font can draw (both faces share the cmap)."""
    regular, _ = check_environment()
    if regular.path.lower().endswith((".ttc", ".otc")):
        font = TTCollection(regular.path, lazy=True).fonts[regular.index]
    else:
        font = TTFont(regular.path, lazy=True)
    return frozenset(font.getBestCmap())


def missing_glyphs(*texts: str) -> list[str]:
    covered = covered_characters()
    missing = {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in covered}
    return sorted(missing)
