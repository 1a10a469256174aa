"""The built book as a reader's browser sees it, with the network off.

:func:`check_site` serves ``_build/html`` on the loopback interface, opens every page in headless
Chromium (driven by Playwright) with every request to another host refused, and lists what a
reader would hit:

- at 1280 px: a table wider than the article it sits in, or a code block whose lines run past its
  frame (the reader would have to scroll inside it to read a line);
- at 390 px (a phone): a page that pans sideways (a table may scroll inside its own frame; the
  page itself must not);
- maths left as raw TeX (a ``.math`` element MathJax did not typeset): the site must render its
  equations without a network;
- a link to a page or an anchor of this site that does not exist, an image that did not load, a
  file of the site a page asks for that is not there;
- a JavaScript error (an uncaught exception or a console error).

Chromium is Debian's ``chromium`` package (``$OPTBOOK_CHROMIUM`` names another executable);
:func:`find_chromium` says why when it is absent, so a test can skip with that reason.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Pages Sphinx writes that no reader navigates to as content.
NOT_CONTENT = ("genindex.html", "search.html", "py-modindex.html")
# Sub-pixel rounding: a table 0.5 px wider than its frame does not overflow.
TOLERANCE_PX = 1
MATHJAX_WAIT_MS = 20_000


@dataclass(frozen=True)
class SiteProblem:
    page: str  # the path under the site's root
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.what}: {self.detail}"


@dataclass
class SiteReport:
    pages: list[str] = field(default_factory=list)
    problems: list[SiteProblem] = field(default_factory=list)
    refused_requests: set[str] = field(default_factory=set)  # hosts other than this machine

    def add(self, *problems: SiteProblem) -> None:
        """Record problems once: the same error seen at both widths is one problem."""
        self.problems += [p for p in problems if p not in self.problems]

    def by_page(self) -> dict[str, list[SiteProblem]]:
        grouped: dict[str, list[SiteProblem]] = {page: [] for page in self.pages}
        for problem in self.problems:
            grouped.setdefault(problem.page, []).append(problem)
        return grouped


def find_chromium() -> tuple[str | None, str]:
    """The Chromium executable and, when there is none, why (for a test's skip message)."""
    named = os.environ.get("OPTBOOK_CHROMIUM")
    if named:
        return (named, "") if Path(named).is_file() else (None, f"$OPTBOOK_CHROMIUM={named} is not a file")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found, ""
    return None, "no Chromium on this machine (Debian: apt-get install chromium)"


def content_pages(site: Path) -> list[str]:
    """Every HTML page of the site a reader reads, as paths relative to ``site``."""
    pages = []
    for path in sorted(Path(site).rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        if relative.startswith(("_static/", "_sources/", "_images/")) or path.name in NOT_CONTENT:
            continue
        if path.stat().st_size < 400 and "http-equiv" in path.read_text(errors="replace"):
            continue  # index.html: a redirect to the landing page
        pages.append(relative)
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """``site`` over HTTP on 127.0.0.1 (a free port), as a reader's browser fetches it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# What one page measures in the browser, as JavaScript: every number the checks need at once.
_LAYOUT = """
() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const inner = (el) => { const style = getComputedStyle(el);
    return el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight); };
  // A table's frame: the nearest box around it that scrolls or clips (a cell's output, a folded
  // block), else the article; a table wider than it makes the reader scroll sideways to read it.
  const frameOf = (el) => {
    for (let e = el.parentElement; e && e !== article; e = e.parentElement)
      if (getComputedStyle(e).overflowX !== 'visible') return inner(e);
    return inner(article);
  };
  const label = (el) => {
    const caption = el.querySelector('caption');
    const head = el.querySelector('th');
    const text = (caption && caption.innerText) || (head && head.innerText) || el.innerText || '';
    return text.trim().replace(/\\s+/g, ' ').slice(0, 60);
  };
  const tables = [...article.querySelectorAll('table')].filter((el) => el.getClientRects().length > 0)
    .map((el) => ({label: label(el), width: Math.max(el.getBoundingClientRect().width, el.scrollWidth),
                   frame: frameOf(el)}));
  const code = [...article.querySelectorAll('div.highlight pre')].map((el) => ({
    label: (el.innerText.split('\\n').find((line) => line.length * 1 > 0) || '').slice(0, 60),
    width: el.scrollWidth, frame: el.clientWidth}));
  const math = [...document.querySelectorAll('.math')];
  const raw = math.filter((el) => !el.querySelector('mjx-container') && !el.closest('mjx-container'))
                  .map((el) => el.textContent.trim().slice(0, 60));
  const images = [...document.images].filter((img) => img.complete && img.naturalWidth === 0)
                  .map((img) => img.getAttribute('src'));
  const links = [...document.querySelectorAll('a[href]')].map((a) => a.href);
  const ids = [...document.querySelectorAll('[id]')].map((el) => el.id)
              .concat([...document.querySelectorAll('a[name]')].map((el) => el.name));
  return {tables, code, math: math.length, raw, images, links, ids,
          pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth};
}
"""
# The widest elements on a page that pans sideways, so the problem names its cause.
_WIDEST = """
(viewport) => {
  const clipped = (el) => {  // inside a frame that scrolls or clips: it does not widen the page
    for (let e = el.parentElement; e; e = e.parentElement)
      if (getComputedStyle(e).overflowX !== 'visible') return true;
    return false;
  };
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > viewport + 1 && !clipped(el))
    .filter((el) => !(el.parentElement && el.parentElement.getBoundingClientRect().right > viewport + 1
                      && !clipped(el.parentElement)))
    .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '')
                             + ' ' + Math.round(el.getBoundingClientRect().right) + ' px');
}
"""
_MATHJAX_READY = """
async () => {
  if (!document.querySelector('.math')) return 'no maths';
  for (let i = 0; i < 200 && !(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  if (!(window.MathJax && window.MathJax.startup)) return 'MathJax did not load';
  await window.MathJax.startup.promise;
  return 'typeset';
}
"""


def check_site(site: Path, chromium: str | None = None, pages: list[str] | None = None) -> SiteReport:
    """Open every page of the built ``site`` at desktop and phone width with the network off;
    returns the pages checked and every problem found."""
    from playwright.sync_api import sync_playwright

    site = Path(site)
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site} holds no built site (no index.html); build the book first")
    executable = chromium or find_chromium()[0]
    if executable is None:
        raise FileNotFoundError(find_chromium()[1])
    report = SiteReport(pages=list(pages if pages is not None else content_pages(site)))
    anchors: dict[str, set[str]] = {}
    links: dict[str, list[str]] = {}
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            for viewport in (DESKTOP, PHONE):
                context = browser.new_context(viewport=viewport)
                context.route("**/*", functools.partial(_only_this_machine, base=base, refused=report.refused_requests))
                for page_path in report.pages:
                    page = context.new_page()
                    try:
                        layout = _open(page, base, page_path, report)
                        if layout is None:
                            continue
                        if viewport is DESKTOP:
                            report.add(*_desktop_problems(page_path, layout))
                            anchors[page_path] = set(layout["ids"])
                            links[page_path] = layout["links"]
                        else:
                            report.add(*_phone_problems(page_path, layout, page))
                    finally:
                        page.close()
                context.close()
        finally:
            browser.close()
    report.add(*_link_problems(site, base, links, anchors))
    return report


def _only_this_machine(route, base: str, refused: set[str]) -> None:
    """The network is off: a request to any host but the site's own is refused."""
    url = route.request.url
    if url.startswith(base) or url.startswith(("data:", "blob:", "about:")):
        route.continue_()
    else:
        refused.add(urlparse(url).netloc)
        route.abort("internetdisconnected")


def _open(page, base: str, page_path: str, report: SiteReport) -> dict | None:
    """Load ``base + page_path``, wait for its maths; its layout numbers, or None when it does
    not load."""
    errors: list[str] = []
    missing: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught {error}"))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    # A file of the site that is not there (a script, a stylesheet, a font); images are reported
    # as images, below.
    page.on("response", lambda r: missing.append(f"{r.url[len(base):]} ({r.status})")
            if r.status >= 400 and r.url.startswith(base) and r.request.resource_type not in ("document", "image")
            else None)
    response = page.goto(base + page_path, wait_until="load")
    if response is None or response.status >= 400:
        report.add(SiteProblem(page_path, "page does not load", str(response and response.status)))
        return None
    if page.evaluate(_MATHJAX_READY) == "MathJax did not load":
        report.add(SiteProblem(page_path, "maths unrendered", "MathJax did not load"))
    layout = page.evaluate(_LAYOUT)
    # A resource refused because the network is off is the refused-hosts list's business, and a
    # file that is not there is reported as missing; what remains is the page's own script failing.
    own = [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e and not e.startswith("Failed to load resource")]
    report.add(*(SiteProblem(page_path, "JavaScript error", e[:200]) for e in own))
    report.add(*(SiteProblem(page_path, "file missing", m) for m in missing))
    return layout


def _desktop_problems(page_path: str, layout: dict) -> list[SiteProblem]:
    found = []
    for table in layout["tables"]:
        if table["width"] > table["frame"] + TOLERANCE_PX:
            found.append(SiteProblem(page_path, "table wider than its frame at 1280 px",
                                     f"{table['width']:.0f} px in {table['frame']:.0f} px: {table['label']!r}"))
    for block in layout["code"]:
        if block["width"] > block["frame"] + TOLERANCE_PX:
            found.append(SiteProblem(page_path, "code wider than its frame at 1280 px",
                                     f"{block['width']:.0f} px in {block['frame']:.0f} px: {block['label']!r}"))
    if layout["raw"]:
        found.append(SiteProblem(page_path, "maths unrendered",
                                 f"{len(layout['raw'])} of {layout['math']}, e.g. {layout['raw'][0]!r}"))
    for source in layout["images"]:
        found.append(SiteProblem(page_path, "image missing", str(source)))
    return found


def _phone_problems(page_path: str, layout: dict, page) -> list[SiteProblem]:
    if layout["pageWidth"] <= layout["viewport"] + TOLERANCE_PX:
        return []
    widest = page.evaluate(_WIDEST, layout["viewport"])
    return [SiteProblem(page_path, "page pans sideways at 390 px",
                        f"{layout['pageWidth']} px wide; widest: {', '.join(widest) or '?'}")]


def _link_problems(site: Path, base: str, links: dict[str, list[str]], anchors: dict[str, set[str]]) -> list[SiteProblem]:
    """Links to this site's pages must reach a file, and a #fragment an element of that page."""
    found = []
    for page_path, hrefs in links.items():
        for href in sorted(set(hrefs)):
            if not href.startswith(base):
                continue
            target, fragment = urldefrag(href)
            relative = unquote(target[len(base):]) or "index.html"
            if relative.endswith("/"):
                relative += "index.html"
            if not (site / relative).exists():
                found.append(SiteProblem(page_path, "broken link", relative))
            elif fragment and relative in anchors and unquote(fragment) not in anchors[relative]:
                found.append(SiteProblem(page_path, "broken link", f"{relative}#{fragment}"))
    return found


def summary(report: SiteReport) -> str:
    """A reader-sized account: per page the number of problems, then each problem."""
    lines = [f"{len(report.pages)} pages checked at {DESKTOP['width']} px and {PHONE['width']} px, network off"]
    for page_path, problems in report.by_page().items():
        lines.append(f"  {page_path}: {len(problems) or 'no'} problem{'s' * (len(problems) != 1)}")
        lines += [f"    - {p.what}: {p.detail}" for p in problems]
    if report.refused_requests:
        lines.append("requests refused (network off): " + ", ".join(sorted(report.refused_requests)))
    return "\n".join(lines)
