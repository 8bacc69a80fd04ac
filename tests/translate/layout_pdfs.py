"""Hand-made PDFs (reportlab) for precise layout cases: a three-column register, a tally form,
a rotated page, a monospace transcript, a table with row labels, a scanned page and a PDF whose
stream inflates to hundreds of megabytes. The positions drawn are returned so tests can check
that units stay where the text was."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from tests.translate.translate_pdfs import _draw_lines

CORPUS = Path(__file__).resolve().parents[2] / ".cache" / "corpus"

PROSE = (
    "The council met on Tuesday to review the annual budget of the district and heard "
    "reports from every department about the state of roads, schools and public parks. "
    "Members asked for clearer accounts of spending before the next session begins."
)


def corpus_file(name: str) -> Path:
    """A file of the real-world corpus (``make corpus`` fetches it)."""
    path = CORPUS / name
    if not path.is_file():
        raise AssertionError(f"{path} is missing: run make corpus")
    return path


def _wrap(c: canvas.Canvas, x: float, y: float, width: float, text: str, size: float) -> float:
    return _draw_lines(c, x, y, width, text, size, leading=size * 1.2)


def three_columns(path: Path) -> tuple[Path, list[tuple[float, float]]]:
    """A register page: full-width title, three columns of paragraphs with 14 pt gutters.
    Returns the path and the columns' x ranges."""
    c = canvas.Canvas(str(path), pagesize=letter)
    width, height = letter
    c.setFont("Helvetica-Bold", 16)
    c.drawString(54, height - 60, "Register of the District Council")
    col_w = (width - 108 - 2 * 14) / 3
    columns = []
    for i in range(3):
        x = 54 + i * (col_w + 14)
        columns.append((x, x + col_w))
        y = height - 100
        for p in range(3):
            y = _wrap(c, x, y, col_w, f"Item {i * 3 + p + 1}. " + PROSE, 9) - 8
    c.showPage()
    c.save()
    return path, columns


TALLY = [
    ("Maria Gonzalez", "DEM", "1,204"),
    ("Robert Chen", "REP", "987"),
    ("Aisha Karim", "IND", "312"),
    ("Write-in votes", "", "17"),
    ("Total ballots cast", "", "2,520"),
]


def tally_form(path: Path) -> Path:
    """A precinct tally form: labels, candidate rows with party codes and vote counts."""
    c = canvas.Canvas(str(path), pagesize=letter)
    _width, height = letter
    c.setFont("Helvetica-Bold", 13)
    c.drawString(72, height - 60, "Precinct Tally Sheet")
    c.setFont("Helvetica", 10)
    c.drawString(72, height - 90, "Precinct: 12-A")
    c.drawString(300, height - 90, "Ward: 7")
    c.drawString(72, height - 120, "Candidate")
    c.drawString(300, height - 120, "Party")
    c.drawString(450, height - 120, "Votes")
    for i, (name, party, votes) in enumerate(TALLY):
        y = height - 145 - i * 18
        c.drawString(72, y, name)
        if party:
            c.drawString(300, y, party)
        c.drawRightString(490, y, votes)
    c.drawString(72, height - 300, "Signature of the presiding judge")
    c.showPage()
    c.save()
    return path


def rotated_page(path: Path) -> Path:
    """Page 1: a landscape expense table stored on a portrait page with /Rotate 90 (text drawn
    turned so it reads upright on screen). Page 2: upright page with a label rotated 90°."""
    import pypdf

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=letter)
    _width, height = letter
    c.saveState()
    c.rotate(90)  # user space: text runs up the portrait page; /Rotate 90 shows it upright
    c.setFont("Helvetica-Bold", 12)
    c.drawString(60, -60, "Travel expenses for the second quarter")
    c.setFont("Helvetica", 10)
    rows = [
        ("Hotel in the city centre", "412.50"),
        ("Train tickets", "96.20"),
        ("Meals with clients", "143.75"),
    ]
    for i, (label, amount) in enumerate(rows):
        c.drawString(60, -100 - i * 20, label)
        c.drawRightString(500, -100 - i * 20, amount)
    c.restoreState()
    c.showPage()
    c.setFont("Helvetica", 10)
    c.drawString(72, height - 72, "An upright page with a turned margin note.")
    c.saveState()
    c.translate(40, 200)
    c.rotate(90)
    c.drawString(0, 0, "Approved by the finance office")
    c.restoreState()
    c.showPage()
    c.save()
    reader = pypdf.PdfReader(io.BytesIO(buffer.getvalue()))
    writer = pypdf.PdfWriter()
    first = reader.pages[0]
    first.rotate(90)
    writer.add_page(first)
    writer.add_page(reader.pages[1])
    with path.open("wb") as fh:
        writer.write(fh)
    return path


TRANSCRIPT = [
    "Q. Where were you on the evening of the fourth of March?",
    "A. I was at home with my sister, watching the news on",
    "television until about eleven o'clock that night.",
    "Q. Did anyone else come to the house during the evening?",
    "A. No, nobody came to the house that evening at all.",
    "THE COURT: Counsel, please approach the bench.",
]


def monospace_transcript(path: Path) -> Path:
    """A court transcript in Courier with line numbers, and one line of real code."""
    c = canvas.Canvas(str(path), pagesize=letter)
    _width, height = letter
    c.setFont("Courier", 11)
    for i, line in enumerate(TRANSCRIPT, start=1):
        y = height - 90 - i * 24
        c.drawRightString(90, y, str(i))
        c.drawString(110, y, line)
    c.drawString(110, height - 90 - 9 * 24, "result = compute(totals, rate);")
    c.showPage()
    c.save()
    return path


ROWS = [
    ("Region", "Population", "Growth"),
    ("Northern province", "1,250,300", "2.4"),
    ("Southern coast", "980,120", "1.1"),
    ("Eastern highlands", "450,000", "-0.3"),
]


def labelled_table(path: Path) -> Path:
    """A ruled table with a header row and row labels."""
    c = canvas.Canvas(str(path), pagesize=letter)
    _width, height = letter
    x0, y0, widths, rh = 72, height - 100, (180, 120, 80), 22
    for r, row in enumerate(ROWS):
        x = x0
        for col, cell in enumerate(row):
            c.rect(x, y0 - (r + 1) * rh, widths[col], rh)
            c.setFont("Helvetica-Bold" if r == 0 else "Helvetica", 10)
            c.drawString(x + 4, y0 - (r + 1) * rh + 7, cell)
            x += widths[col]
    c.showPage()
    c.save()
    return path


def scanned_text(path: Path, lines: list[str]) -> Path:
    """An image-only page (a "scan") of ``lines`` in a large serif font, no text layer."""
    import pypdfium2 as pdfium

    src = io.BytesIO()
    c = canvas.Canvas(src, pagesize=(420, 60 + 30 * len(lines)))
    c.setFont("Times-Roman", 16)
    for i, line in enumerate(lines):
        c.drawString(30, 30 * (len(lines) - i) + 10, line)
    c.showPage()
    c.save()
    doc = pdfium.PdfDocument(src.getvalue())
    image = doc[0].render(scale=3).to_pil()
    size = doc[0].get_size()
    doc.close()
    png = io.BytesIO()
    image.save(png, format="PNG")
    from reportlab.lib.utils import ImageReader

    out = canvas.Canvas(str(path), pagesize=size)
    out.drawImage(ImageReader(io.BytesIO(png.getvalue())), 0, 0, size[0], size[1])
    out.showPage()
    out.save()
    return path


def inflation_bomb(path: Path, megabytes: int = 300) -> Path:
    """A one-page PDF whose content stream is ~300 KB deflated and ``megabytes`` inflated."""
    packer = zlib.compressobj(9)
    block = b"0 0 m 1 1 l S\n" * (1 << 16)  # ~0.9 MB of harmless path operators
    parts = []
    written = 0
    while written < megabytes << 20:
        parts.append(packer.compress(block))
        written += len(block)
    parts.append(packer.flush())
    stream = b"".join(parts)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length "
        + str(len(stream)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(bytes(out))
    return path


def running_heads(path: Path, pages: int = 4) -> Path:
    """Pages with a running title and "Page N of M" placed inside the body margins (where no
    fixed margin rule finds them), and body paragraphs."""
    c = canvas.Canvas(str(path), pagesize=letter)
    _, height = letter
    for number in range(1, pages + 1):
        c.setFont("Helvetica", 9)
        c.drawString(72, height - 0.12 * height, "Annual Report of the Water Board")
        c.drawString(270, 0.12 * height, f"Page {number} of {pages}")
        _wrap(c, 72, height - 160, 460, f"Section {number}. " + PROSE, 11)
        c.showPage()
    c.save()
    return path


RUN_IN = (
    "Standard mileage rates.",
    "The rate for business use of your vehicle is 48 cents a mile for all business miles "
    "driven during the year, and the rate for use of your vehicle to get medical care is "
    "20 cents a mile.",
)
RUN_IN_NEXT = (
    "Exception.",
    "If you used more than four vehicles at the same time in your business, you cannot "
    "use the standard mileage rate for any of them.",
)
RUN_IN_LONG = (  # a lead-in longer than a line
    "Unreported social security and Medicare tax on wages and on tips.",
    "If you are an employee who received wages from an employer who did not withhold social "
    "security and Medicare tax, you must report the tax on your return.",
)
HEADER_FIELDS = ("Page 1 of 48", "Instructions for Form 1040NR", "7:48 - 6-DEC-2007")
JUSTIFIED = (
    "Nonresident aliens who were engaged in a trade or business in the United States during "
    "the year must file a return even when they had no income from that trade or business, "
    "and a return is also required to claim a refund of tax withheld at the source."
)


def _words_width(words: list[tuple[str, str]], size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return sum(stringWidth(w, f, size) for w, f in words)


def _justified(
    c: canvas.Canvas, x: float, y: float, width: float, words: list[tuple[str, str]], size: float
) -> float:
    """Set (word, font) pairs in lines of ``width``, every line but the last justified (its
    spaces stretched alike, as a typesetter does); return the next baseline."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    space = stringWidth(" ", "Helvetica", size)
    lines: list[list[tuple[str, str]]] = [[]]
    for word in words:
        line = lines[-1]
        if line and _words_width([*line, word], size) + space * len(line) > width:
            lines.append([word])
        else:
            line.append(word)
    for n, line in enumerate(lines):
        last = n == len(lines) - 1
        gap = (
            space if last or len(line) < 2 else (width - _words_width(line, size)) / (len(line) - 1)
        )
        cursor = x
        for word, font in line:
            c.setFont(font, size)
            c.drawString(cursor, y, word)
            cursor += stringWidth(word, font, size) + gap
        y -= size * 1.2
    return y


def _run_in(head: str, body: str) -> list[tuple[str, str]]:
    return [(w, "Helvetica-Bold") for w in head.split()] + [(w, "Helvetica") for w in body.split()]


def run_in_and_fields(path: Path) -> Path:
    """IRS-instructions style: a running header of three fields set apart by tab stops (the
    first gap one em, as i1040nr.pdf prints it), a bold heading, three justified paragraphs
    that open with run-in bold lead-ins (one of them longer than a line), and, in a second
    column, a justified paragraph with wide word spaces."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    c = canvas.Canvas(str(path), pagesize=letter)
    _, height = letter
    size = 14.0
    x = 42.0
    y = height - 40
    page, title, stamp = HEADER_FIELDS
    c.setFont("Helvetica", size)
    c.drawString(x, y, page)
    c.drawString(x + stringWidth(page, "Helvetica", size) + size, y, title)
    c.drawRightString(572, y, stamp)
    c.setFont("Helvetica-Bold", 12)
    c.drawString(x, height - 110, "Business Expenses")
    y = _justified(c, x, height - 130, 250, _run_in(*RUN_IN), 9.5)
    y = _justified(c, x, y - 4, 250, _run_in(*RUN_IN_LONG), 9.5)
    y = _justified(c, x, y - 4, 250, _run_in(*RUN_IN_NEXT), 9.5)
    _justified(c, 330, height - 130, 170, [(w, "Helvetica") for w in JUSTIFIED.split()], 9.5)
    c.showPage()
    c.save()
    return path
