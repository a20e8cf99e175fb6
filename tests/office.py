"""Office files as a reader sees them: converted to PDF by LibreOffice (headless, from the Debian packages .ci/run
installs) and photographed page by page (pdfplumber renders with PDFium), so a test can ask whether anything spills
outside the box it was given -- the overflow python-pptx and python-docx cannot see, because only a layout engine
knows how much room text takes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

#: Points per inch, EMU per point (the unit python-pptx and python-docx measure in).
_EMU_PER_POINT = 12700
#: Photograph resolution (dots per inch) and how far ink may stray outside its box (points) before it counts.
DPI = 96
SLACK = 4.0
#: Word puts a table's borders a cell margin (0.08 inch) outside the text column: not an overflow.
TABLE_OUTDENT = 6.0


def convert(path: Path, out: Path) -> Path:
    """``path`` converted to PDF by LibreOffice into ``out`` (its own profile there); its error output on failure."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is needed (.ci/run installs it from the Debian packages)"
    done = subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{out}/profile", "--convert-to", "pdf",
         "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    pdf = out / f"{path.stem}.pdf"
    assert done.returncode == 0 and pdf.is_file(), (path.name, done.stdout, done.stderr)
    return pdf


def ink(page) -> np.ndarray:
    """A photograph of a pdfplumber page as a boolean mask: True where a pixel differs from the page's background
    (its most common colour) by more than a faint tint."""
    image = np.asarray(page.to_image(resolution=DPI).original.convert("RGB"), dtype=np.int16)
    flat = image.reshape(-1, 3).astype(np.int32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]  # one number a colour: counted, not sorted
    common = int(np.bincount(packed, minlength=1 << 24).argmax())
    background = np.array([common >> 16, (common >> 8) & 255, common & 255], dtype=np.int16)
    return np.abs(image - background).max(axis=2) > 40


def stray_ink(page, boxes: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    """Where the photograph of ``page`` has ink outside every box (left, top, right, bottom, in points; each widened
    by `SLACK`): a list of (x, y) in points, empty when everything drawn sits inside a box."""
    mask = ink(page).copy()
    scale = DPI / 72
    for left, top, right, bottom in boxes:
        x0, y0 = max(0, int((left - SLACK) * scale)), max(0, int((top - SLACK) * scale))
        x1, y1 = int((right + SLACK) * scale) + 1, int((bottom + SLACK) * scale) + 1
        mask[y0:y1, x0:x1] = False
    ys, xs = np.nonzero(mask)
    return [(int(x / scale), int(y / scale)) for x, y in zip(xs[:: max(1, len(xs) // 5)], ys[:: max(1, len(ys) // 5)])]


def shape_boxes(slide) -> list[tuple[float, float, float, float]]:
    """Every shape's rectangle on a python-pptx slide, and the non-placeholder shapes its layout and master draw,
    in points."""
    shapes = [*slide.shapes]
    for inherited in (slide.slide_layout.shapes, slide.slide_layout.slide_master.shapes):
        shapes += [shape for shape in inherited if not shape.is_placeholder]
    return [
        (s.left / _EMU_PER_POINT, s.top / _EMU_PER_POINT, (s.left + s.width) / _EMU_PER_POINT,
         (s.top + s.height) / _EMU_PER_POINT)
        for s in shapes
        if s.width is not None and s.left is not None
    ]  # fmt: skip


def slides_overflowing(pptx: Path, pdf: Path) -> dict[int, list[tuple[int, int]]]:
    """The slides (numbered from 1) whose photograph has ink outside every shape's rectangle: text that spilled out
    of its box, a table that grew past its frame. Empty when every slide keeps within its shapes."""
    import pdfplumber
    from pptx import Presentation

    deck = Presentation(str(pptx))
    found = {}
    with pdfplumber.open(pdf) as document:
        assert len(document.pages) == len(deck.slides)
        for number, (slide, page) in enumerate(zip(deck.slides, document.pages), start=1):
            stray = stray_ink(page, shape_boxes(slide))
            if stray:
                found[number] = stray
    return found


def pages_overflowing(docx: Path, pdf: Path) -> dict[int, list[tuple[int, int]]]:
    """The pages (numbered from 1) of a Word document's PDF whose photograph has ink beyond the left or right margin
    (a table or picture wider than the text column) or off the page. Empty when every page keeps to its column."""
    import pdfplumber
    from docx import Document

    section = Document(str(docx)).sections[0]
    left, right = section.left_margin / _EMU_PER_POINT, section.right_margin / _EMU_PER_POINT
    found = {}
    with pdfplumber.open(pdf) as document:
        for number, page in enumerate(document.pages, start=1):
            column = (left - TABLE_OUTDENT, 0, float(page.width) - right + TABLE_OUTDENT, float(page.height))
            stray = stray_ink(page, [column])
            if stray:
                found[number] = stray
    return found


def _word(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def text_below_its_box(pptx: Path, pdf: Path) -> list[tuple[int, str]]:
    """(slide, shape name) of every text box or placeholder whose last words, found in the converted PDF, sit below
    the box's bottom edge: text that ran onto whatever is underneath (a chart, a table), which the stray-ink check
    cannot see because the ink lands inside another shape. A box whose last words are not found is listed too."""
    import pdfplumber
    from pptx import Presentation

    found = []
    with pdfplumber.open(pdf) as document:
        for number, (slide, page) in enumerate(zip(Presentation(str(pptx)).slides, document.pages), start=1):
            words = [(w, _word(w["text"])) for w in page.extract_words()]
            words = [(w, key) for w, key in words if key]
            for shape in slide.shapes:
                if not shape.has_text_frame or not shape.text_frame.text.strip():
                    continue
                tail = [key for key in map(_word, shape.text_frame.text.split()) if key][-3:]
                ends = [
                    words[i + len(tail) - 1][0]
                    for i in range(len(words) - len(tail) + 1)
                    if [key for _, key in words[i : i + len(tail)]] == tail
                ]
                bottom = (shape.top + shape.height) / _EMU_PER_POINT + SLACK
                if not ends or all(end["bottom"] > bottom for end in ends):
                    found.append((number, shape.name))
    return found
