"""Read a PDF back as a person would: its text (pdftotext) and its QR code at 100 dpi."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from PIL import Image


def pdf_text(pdf: bytes, mode: str = "-layout") -> str:
    """`-layout` keeps lines as printed; `-raw` keeps content order (rotated text stays whole)."""
    result = subprocess.run(
        ["pdftotext", mode, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def pdf_qr_codes(pdf: bytes, dpi: int = 100) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "c.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(source), f"{folder}/page"],
            check=True,
        )
        image = Image.open(f"{folder}/page.png")
        return [code.text for code in zxingcpp.read_barcodes(image)]


def pdf_page_count(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    line = next(x for x in info.decode().splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


def pdf_fonts(pdf: bytes) -> list[str]:
    """Names of the fonts the PDF embeds (pdffonts), subset prefixes removed."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "c.pdf"
        source.write_bytes(pdf)
        listing = subprocess.run(
            ["pdffonts", str(source)], capture_output=True, check=True, text=True
        ).stdout
    rows = listing.splitlines()[2:]
    return sorted(row.split()[0].split("+")[-1] for row in rows)
