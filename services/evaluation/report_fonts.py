"""The fonts the yearly report carries in every rendering (PDF, OFD, charts included).

Noto Serif SC for the body and Noto Sans SC for headings (宋体 and 黑体, as official documents
set them), both under the SIL Open Font License, installed with the node from the
`pylopdf-fonts-zh-cn` wheel: no viewer, server or desktop needs a Chinese font of its own.
They are OpenType with CFF outlines, which Typst subsets and embeds as they are (the PDF)
and fontTools subsets for the OFD's font file.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from pylopdf_fonts_zh_cn import sans_path, serif_path

BODY = "Noto Serif SC"
HEADING = "Noto Sans SC"


def font_files() -> dict[str, Path]:
    """Each family the report names, and its file."""
    return {BODY: serif_path(), HEADING: sans_path()}


def font_directory() -> Path:
    """Where the report's fonts are (the only place Typst looks: no system font is used)."""
    directories = {path.parent for path in font_files().values()}
    if len(directories) != 1:
        raise RuntimeError("the report's fonts are expected in one directory")
    return directories.pop()


@cache
def advances(family: str) -> tuple[dict[int, int], int]:
    """The family's advance width of each code point it covers, in font units, and its
    units per em: what the OFD's layout measures text with."""
    font = TTFont(font_files()[family], lazy=True)
    metrics, glyphs = font["hmtx"].metrics, font.getBestCmap()
    return ({code: metrics[glyph][0] for code, glyph in glyphs.items()},
            font["head"].unitsPerEm)


def missing_glyphs(text: str, family: str = BODY) -> set[str]:
    """The characters of `text` the family has no glyph for (shown as empty boxes)."""
    covered = advances(family)[0]
    return {char for char in text if not char.isspace() and ord(char) not in covered}


def subset_font(family: str, text: str) -> bytes:
    """The family cut down to the glyphs `text` needs, as an OpenType file to embed."""
    options = subset.Options()
    options.name_IDs, options.notdef_outline, options.layout_features = ["*"], True, []
    font = TTFont(font_files()[family], lazy=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    buffer = BytesIO()
    font.save(buffer)
    return buffer.getvalue()
