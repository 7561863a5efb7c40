"""The repository stands alone: it points at no document outside itself, and every
requirement id the code cites is defined in docs/requirements.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "docs" / "requirements.md"
# A path into the directory beside the checkout, or the old requirements text by name (as a
# file or as "<name> §3"): written so that this file does not match itself.
OUTSIDE_POINTER = re.compile(r"\.\./shared|\bSPEC(?:\.md|\s§)")
REQUIREMENT_ID = re.compile(r"\b[CAEVGFWT][0-9]\b")
# A definition is its "- **C9** …" line and the indented lines that continue it.
DEFINITION = re.compile(r"^- \*\*([CAEVGFWT][0-9])\*\*.*(?:\n  .*)*", re.MULTILINE)
# A place in a source document as the end of docs/requirements.md writes it: [51 §12],
# [39 二(四)], [733 八], [JS §11(二)], [BJ 三(五)], or a list starting with one of these.
CHINESE_NUMBER = "[一二三四五六七八九十]+"
CITATION = re.compile(rf"\[(?:51|39|733|JS|BJ) (?:§[0-9]+|{CHINESE_NUMBER}|\({CHINESE_NUMBER}\))")
CODE_DIRECTORIES = ("services", "shared", "gateway", "cli")


def tracked_files(*under: str) -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--", *under], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode()
    # .ci/ belongs to the machinery that runs the checks, not to the product.
    return [ROOT / name for name in listed.split("\0")
            if name and not name.startswith(".ci/") and (ROOT / name).is_file()]


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def test_no_tracked_file_points_outside_the_repository() -> None:
    offending = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                 for path in tracked_files()
                 for number, line in enumerate(text_of(path).splitlines(), 1)
                 if OUTSIDE_POINTER.search(line)]
    assert not offending, ("point these at docs/requirements.md instead:\n"
                           + "\n".join(offending))


def defined_ids() -> set[str]:
    """The ids docs/requirements.md defines: in bold (**C6**) or as a heading (### C6 …)."""
    text = REQUIREMENTS.read_text(encoding="utf-8")
    bold = re.findall(r"\*\*([CAEVGFWT][0-9])\*\*", text)
    headings = re.findall(r"^#+\s+([CAEVGFWT][0-9])\b", text, flags=re.MULTILINE)
    return set(bold) | set(headings)


def test_the_requirements_define_the_whole_set_of_ids() -> None:
    expected = {f"{letter}{number}" for letter, count in
                {"C": 9, "A": 7, "E": 7, "V": 3, "G": 2, "F": 7, "W": 4, "T": 4}.items()
                for number in range(1, count + 1)}
    assert defined_ids() == expected


def test_every_requirement_id_cited_in_code_is_defined() -> None:
    defined = defined_ids()
    undefined = sorted({f"{identifier} ({path.relative_to(ROOT)})"
                        for path in tracked_files(*CODE_DIRECTORIES)
                        for identifier in REQUIREMENT_ID.findall(text_of(path))
                        if identifier not in defined})
    assert not undefined, f"cited but not in docs/requirements.md: {undefined}"


def test_the_source_documents_are_explained() -> None:
    text = REQUIREMENTS.read_text(encoding="utf-8")
    cited = set(re.findall(r"\[(51|39|733|JS|BJ) ", text))
    assert cited == {"51", "39", "733", "JS", "BJ"}
    for short_name, number in (("51", "国发〔2016〕51号"), ("39", "国办发〔2017〕39号"),
                               ("733", "发改高技〔2013〕733号"), ("JS", "苏政发〔2017〕133号"),
                               ("BJ", "京办发〔2005〕33号")):
        assert re.search(rf"^\| \*\*{short_name}\*\* \|[^\n]*{number}", text, re.MULTILINE), (
            short_name)


def test_every_requirement_cites_the_article_it_comes_from() -> None:
    """Each id carries its own citation, so that a reader who lands on one definition (from a
    code comment) can go on to the law without hunting for a section heading."""
    definitions = {match.group(1): match.group(0)
                   for match in DEFINITION.finditer(REQUIREMENTS.read_text(encoding="utf-8"))}
    assert set(definitions) == defined_ids()
    uncited = sorted(identifier for identifier, text in definitions.items()
                     if not CITATION.search(text))
    assert not uncited, f"cite a source article in the definition of: {uncited}"
