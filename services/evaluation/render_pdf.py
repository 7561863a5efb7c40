"""The yearly report as a PDF/A-2b file (A4), for printing, filing and archiving.

Typst sets it: it subsets and embeds the report's OpenType (CFF) fonts, so every viewer shows
the Chinese text the same without a font of its own, and it writes PDF/A-2b itself (the
fonts embedded, XMP metadata with the pdfaid schema, an sRGB output intent, no external
reference). The report's data reaches the template as JSON, never as markup.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typst

from services.evaluation import report_document, report_fonts
from services.evaluation.report import YearReport

TEMPLATE = Path(__file__).parent / "templates" / "report.typ"
PDF_STANDARD = "a-2b"


def to_pdf(report: YearReport) -> bytes:
    """The report, typeset; unsigned (`report_signature.sign` adds the node's signature)."""
    return typeset(report_document.build(report), report.generated_at)


def typeset(document: report_document.ReportDocument, generated_at: datetime) -> bytes:
    """A document typeset as PDF/A-2b, dated `generated_at`."""
    return typst.compile(
        TEMPLATE.read_bytes(), font_paths=[str(report_fonts.font_directory())],
        ignore_system_fonts=True, pdf_standards=[PDF_STANDARD],
        timestamp=generated_at.astimezone(UTC).replace(microsecond=0),
        sys_inputs={"document": json.dumps(document.as_json(), ensure_ascii=False)})
