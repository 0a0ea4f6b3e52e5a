"""The manual cannot drift from the code: every ```python block of every page
in docs/ and of README.md is run, and the README stays a front page.

How a page runs: its ```python blocks, in order, in one fresh namespace (a
later block sees what an earlier one defined), in a temporary working
directory (files they write land there), with the activation and loss
registries restored afterwards; each page is one test.  A failure's traceback
names the page and its line.

Which blocks run: every block fenced ```python (or ```py).  Other fences —
```sh, ```text, ```console, a bare ``` — are not Python and are not run:
commands, program output, file layouts.  A ```python block that must not run
here is marked on the line just above its fence with

    <!-- docs-test: skip (why, and which test runs it instead) -->

Keep these few: each must be tested otherwise.  (The pytest file on the
pytest-plugin page needs no marker: run here it only defines its tests, and
tests/test_user_reports.py runs it verbatim under pytest.)
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.losses import LOSSES

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
README_MAX_LINES = 250
SKIP = re.compile(r"^\s*<!--\s*docs-test:\s*skip\b.*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, its first code line (1-based) and its text."""

    language: str
    line: int
    source: str
    skipped: bool


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown page, in order (fences may be indented, as in a list)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        if j == len(lines):
            raise AssertionError(f"{path.relative_to(ROOT)}:{i + 1}: a code fence that is never closed")
        body = [line[indent:] if line[:indent].strip() == "" else line for line in lines[i + 1 : j]]
        skipped = i > 0 and bool(SKIP.match(lines[i - 1]))
        found.append(Block(opening["info"].lower(), i + 2, "\n".join(body) + "\n", skipped))
        i = j + 1
    return found


def python_blocks(path: Path) -> list[Block]:
    return [block for block in blocks(path) if block.language in ("python", "py") and not block.skipped]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture
def registries():
    """A page may register an activation or a loss; the rest of the session does not see it."""
    saved = dict(ACTIVATIONS), dict(LOSSES)
    yield
    for registry, copy in zip((ACTIVATIONS, LOSSES), saved):
        registry.clear()
        registry.update(copy)


def test_there_is_a_manual():
    assert (ROOT / "docs" / "index.md").is_file() and (ROOT / "mkdocs.yml").is_file()
    assert sum(len(python_blocks(page)) for page in PAGES) >= 20


@pytest.fixture
def own_modules(tmp_path, monkeypatch):
    """A page may write a module and load it (backprop-check does): sys.path and the
    modules loaded from the temporary folder are as they were afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").resolve().is_relative_to(tmp_path.resolve()):
            del sys.modules[name]


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_python_example_of_the_page_runs(page, tmp_path, monkeypatch, registries, own_modules):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_example_{page.stem.replace('-', '_')}"}
    for block in python_blocks(page):
        # Padded so that a traceback's line numbers are the page's own.
        code = compile("\n" * (block.line - 1) + block.source, str(page), "exec")
        exec(code, namespace)  # noqa: S102 - the manual's own examples


def test_skipped_examples_are_few():
    skipped = [(_id(page), block.line) for page in PAGES for block in blocks(page) if block.skipped]
    assert len(skipped) <= 3, skipped


# --- the README: a front page -----------------------------------------------------------------


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the manual belongs in docs/"
    text = "\n".join(lines)
    assert "make report" in text and "make test" in text


def _slug(heading: str) -> str:
    """A heading's anchor as MkDocs (Python-Markdown's toc) makes it."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(path: Path) -> set[str]:
    """The anchors of a Markdown page's headings (outside code blocks)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    code = {n for block in blocks(path) for n in range(block.line - 1, block.line + block.source.count("\n"))}
    anchors = set()
    for n, line in enumerate(lines, start=1):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading and n not in code:
            explicit = re.search(r"\{\s*#([\w-]+)[^}]*\}\s*$", heading[1])
            anchors.add(explicit[1] if explicit else _slug(heading[1]))
    return anchors


LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def test_every_relative_link_of_the_readme_resolves():
    readme = ROOT / "README.md"
    in_code = {n for block in blocks(readme) for n in range(block.line - 1, block.line + block.source.count("\n"))}
    links = [
        (n, m["target"])
        for n, line in enumerate(readme.read_text(encoding="utf-8").splitlines(), start=1)
        if n not in in_code
        for m in LINK.finditer(line)
    ]
    relative = [(n, t) for n, t in links if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]
    assert relative, "the README links into the manual"
    broken = []
    for n, target in relative:
        file, _, anchor = target.partition("#")
        path = (ROOT / file) if file else readme
        if not path.exists():
            broken.append(f"line {n}: {target} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"line {n}: {target} (no heading with that anchor)")
    assert not broken, "README.md: " + "; ".join(broken)
