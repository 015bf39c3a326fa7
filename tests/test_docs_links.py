"""Every link in the docs resolves: relative links and #anchors in README.md, docs/*.md and
docs/studies/*.md point at a file that exists and a heading it has, and every `docs/NAME.md`
named in the code, notebooks, experiments and tests exists. Plain text only (no imports beyond
the standard library)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "docs" / "studies").glob("*.md"))]
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
MENTION = re.compile(r"docs/[\w./-]*?\.md")


def _prose(text: str) -> list[str]:
    """The lines of a markdown page outside fenced code, inline code removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return lines


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats -1, -2."""
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = re.match(r"^#{1,6} (.*?)#*\s*$", line)
        if fenced or not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(pages=PAGES) -> list[str]:
    bad = []
    for page in pages:
        for line in _prose(page.read_text(encoding="utf-8")):
            for target in LINK.findall(line):
                if re.match(r"[a-z]+:", target):          # http:, https:, mailto:
                    continue
                path, _, anchor = target.partition("#")
                dest = (page.parent / path).resolve() if path else page
                if not dest.exists():
                    bad.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
                elif anchor and dest.suffix == ".md" and \
                        anchor not in anchors(dest.read_text(encoding="utf-8")):
                    bad.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    return bad


def test_anchor_slugs_follow_github():
    text = "# The `asymptotic` preset\n## Does it? A, b and c\n```\n# not a heading\n```\n## A\n## A"
    assert anchors(text) == {"the-asymptotic-preset", "does-it-a-b-and-c", "a", "a-1"}


def test_a_missing_file_or_heading_is_reported(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Top\n[ok](#top) [gone](q.md) [no](#nowhere) `[code](x.md)`\n")
    bad = [b.split(": ", 1)[1] for b in _broken_in(page)]
    assert bad == ["q.md (no such file)", "#nowhere (no such heading)"]


def _broken_in(page):
    """broken_links for a page outside the repository (named by its file name)."""
    global ROOT
    saved, ROOT = ROOT, page.parent
    try:
        return broken_links([page])
    finally:
        ROOT = saved


def test_every_link_in_the_docs_resolves():
    assert broken_links() == []


def test_every_docs_file_the_code_names_exists():
    sources = [*ROOT.glob("multiview/**/*.py"), *ROOT.glob("experiments/*"),
               *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("tests/*.py"), *PAGES]
    missing = sorted({f"{src.relative_to(ROOT)}: {name}"
                      for src in sources if src.is_file() and src != Path(__file__).resolve()
                      for name in MENTION.findall(src.read_text(encoding="utf-8", errors="replace"))
                      if not (ROOT / name).exists()})
    assert missing == []
