"""The browser check of the built site (optbook.pipeline.sitecheck) on small hand-made sites:
each problem it promises to find, it finds; a clean page passes. The check of the book's own
smoke build is in test_book_integration.py.

Skipped, saying why, where this machine has no Chromium (`make test` installs Debian's package
when it can); where Chromium is present the check runs, and a missing Playwright is a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from optbook.pipeline import mathjax, sitecheck

CHROMIUM, WHY_NOT = sitecheck.find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=f"browser check not run: {WHY_NOT}")

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{head}</head>
<body><main><article class="bd-article" style="max-width: 700px">{body}</article></main></body></html>"""


def _site(tmp_path: Path, pages: dict[str, str], head: str = "") -> Path:
    site = tmp_path / "html"
    site.mkdir()
    (site / "index.html").write_text('<meta http-equiv="refresh" content="0; url=page.html">')
    for name, body in pages.items():
        (site / name).write_text(PAGE.format(head=head, body=body))
    return site


def _whats(report: sitecheck.SiteReport) -> list[tuple[str, str]]:
    return sorted((p.page, p.what) for p in report.problems)


def test_a_clean_page_has_no_problems(tmp_path):
    site = _site(tmp_path, {"page.html": '<p id="top">Text</p><table><tr><td>1</td></tr></table><a href="#top">up</a>'})
    report = sitecheck.check_site(site, CHROMIUM)
    assert report.pages == ["page.html"]
    assert report.problems == [], sitecheck.summary(report)


def test_finds_a_wide_table_a_wide_code_block_and_a_page_that_pans_on_a_phone(tmp_path):
    wide_table = "<table><tr>" + "".join(f"<td>column{i:02d}-value</td>" for i in range(12)) + "</tr></table>"
    long_line = "x = " + "1 + " * 60 + "1"
    code = f'<div class="highlight"><pre style="overflow: auto">{long_line}</pre></div>'
    site = _site(tmp_path, {"page.html": wide_table + code})
    whats = _whats(sitecheck.check_site(site, CHROMIUM))
    assert ("page.html", "table wider than its frame at 1280 px") in whats
    assert ("page.html", "code wider than its frame at 1280 px") in whats
    assert ("page.html", "page pans sideways at 390 px") in whats


def test_a_table_that_scrolls_in_its_own_frame_does_not_pan_the_phone_page(tmp_path):
    table = ('<div style="overflow-x: auto"><table><tr>'
             + "".join(f"<td>value{i}</td>" for i in range(8)) + "</tr></table></div>")
    site = _site(tmp_path, {"page.html": table})
    assert _whats(sitecheck.check_site(site, CHROMIUM)) == []


def test_finds_broken_links_missing_anchors_and_missing_images(tmp_path):
    site = _site(tmp_path, {
        "page.html": '<a href="gone.html">a</a> <a href="other.html#nowhere">b</a> <a href="other.html#here">c</a>'
                     '<img src="missing.png" alt="">',
        "other.html": '<p id="here">here</p>',
    })
    problems = sitecheck.check_site(site, CHROMIUM).problems
    assert sorted((p.what, p.detail) for p in problems) == [
        ("broken link", "gone.html"), ("broken link", "other.html#nowhere"), ("image missing", "missing.png")]


def test_finds_javascript_errors(tmp_path):
    site = _site(tmp_path, {"page.html": "<script>undefinedFunction();</script><p>text</p>"})
    problems = sitecheck.check_site(site, CHROMIUM).problems
    assert [p.what for p in problems] == ["JavaScript error"]
    assert "undefinedFunction" in problems[0].detail


def test_maths_from_a_cdn_is_unrendered_with_the_network_off(tmp_path):
    cdn = '<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
    site = _site(tmp_path, {"page.html": r'<span class="math">\(\alpha_0\)</span>'}, head=cdn)
    report = sitecheck.check_site(site, CHROMIUM)
    assert ("page.html", "maths unrendered") in _whats(report)
    assert report.refused_requests == {"cdn.jsdelivr.net"}


@pytest.mark.integration
def test_maths_from_the_shipped_mathjax_renders_with_the_network_off(tmp_path, monkeypatch):
    """The MathJax the build installs (optbook.pipeline.mathjax) typesets a page offline."""
    monkeypatch.setenv("OPTBOOK_DATA", str(Path(__file__).resolve().parents[1] / "data"))
    folder = mathjax.install_mathjax(tmp_path)
    site = _site(tmp_path, {"page.html": r'<span class="math">\(\alpha_0 \boldsymbol{\theta}\)</span>'},
                 head='<script defer src="mathjax/tex-chtml.js"></script>')
    (site / "mathjax").symlink_to(folder, target_is_directory=True)
    report = sitecheck.check_site(site, CHROMIUM)
    assert report.problems == [], sitecheck.summary(report)
    assert report.refused_requests == set()
