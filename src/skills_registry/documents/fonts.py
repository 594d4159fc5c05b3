"""Per-document subsets of Noto Serif CJK SC (and the QR image), served to WeasyPrint
from memory.

WeasyPrint subsets the fonts it embeds itself, but it keeps glyph ids stable, so a
65,000-glyph CJK face leaves tens of thousands of empty slots in every PDF (~130 KB a
face) and the subset of a 20 MB face costs ~40 ms. Subsetting each face down to the
characters of one certificate first (~3 ms with HarfBuzz) makes WeasyPrint's own pass
work on a ~50 KB font with a few hundred glyphs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import uharfbuzz as hb
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .environment import FontFace, check_environment

# The template names these URLs in its @font-face rules and its QR image; nothing else is
# ever fetched.
FONT_URLS = {"regular": "certificate-font:regular", "bold": "certificate-font:bold"}
QR_URL = "certificate-qr:png"


@cache
def _face(path: str, index: int) -> Any:
    return hb.Face(hb.Blob.from_file_path(path), index)


def subset_face(face: FontFace, characters: set[str]) -> bytes:
    subset_input = hb.SubsetInput()
    for character in characters:
        subset_input.unicode_set.add(ord(character))
    # No hinting: a certificate is printed or viewed zoomed, never rendered at 9 px.
    subset_input.flags = hb.SubsetFlags.NO_HINTING | hb.SubsetFlags.DESUBROUTINIZE
    subset = hb.subset(_face(face.path, face.index), subset_input)
    if subset is None:
        raise RuntimeError(f"HarfBuzz could not subset {face.path}")
    return bytes(subset.blob.data)


class CertificateResources(URLFetcher):
    """Answers the template's font URLs with fonts cut to one document's characters, and
    its QR URL with the document's QR image.

    Any other URL is refused, so a certificate can never make WeasyPrint read a file or
    reach the network.
    """

    def __init__(self, text: str, qr_png: bytes) -> None:
        super().__init__(allowed_protocols=[], fail_on_errors=True)
        regular, bold = check_environment()
        characters = set(text)
        self._bodies = {
            FONT_URLS["regular"]: subset_face(regular, characters),
            FONT_URLS["bold"]: subset_face(bold, characters),
            QR_URL: qr_png,
        }

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url not in self._bodies:
            raise ValueError(f"certificates fetch no external resources: {url}")
        return URLFetcherResponse(url, body=self._bodies[url])
