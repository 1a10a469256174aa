"""The build step that turns an executed chapter into a page for readers.

``optbook build`` calls :func:`finish_page` on every executed notebook before writing it, and again
on every published chapter before rendering (a seed sweep published since it ran changes its
verdicts), so the committed notebook (which Colab opens) and the built page read the same:

- the title carries the chapter's number, as the book numbers chapters;
- the parameters cells (ours and the one papermill injects) are removed from the page;
- under the title, a box with the paper's claims and our verdicts, from what the chapter recorded
  (and, where the chapter's seed sweep is published, in how many seeds each holds, as the ledger states it),
  and under it the bottom line: one generated sentence of what held and what did not;
- after "What we found", the same claims with what we measured, folded behind a click;
- at the end, "Run it yourself": the command, the Colab link and the time this run took.

The boxes are HTML (not MyST directives) because Jupyter and Colab render HTML in Markdown cells
but not MyST; the book's theme styles the ``admonition`` classes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from optbook.pipeline.ledger import KIND_LABELS, bottom_line, verdict_cell

GENERATED_TAG = "optbook-generated"
HIDDEN_TAGS = ("parameters", "injected-parameters")
FINDINGS_HEADING = "## What we found"


def finish_page(notebook, number: int, chapter_id: str, claims: Sequence[Mapping], stamp: Mapping,
                colab_url: str | None) -> None:
    """Edit ``notebook`` (nbformat v4) in place into the chapter's page; running it twice gives
    the same page."""
    import nbformat

    notebook.cells = [cell for cell in notebook.cells if GENERATED_TAG not in _tags(cell)]
    for cell in notebook.cells:
        if any(tag in _tags(cell) for tag in HIDDEN_TAGS):
            _add_tag(cell, "remove-cell")
    title_index = _number_title(notebook.cells, number)

    def generated(text: str):
        return nbformat.v4.new_markdown_cell(text, metadata={"tags": [GENERATED_TAG]})

    if claims:
        findings = _findings_index(notebook.cells)
        if findings is not None:
            notebook.cells.insert(findings + 1, generated(measured_table(claims)))
        notebook.cells.insert(title_index + 1, generated(verdict_box(claims) + "\n\n" + bottom_line(claims)))
    notebook.cells.append(generated(run_it_yourself(number, chapter_id, stamp, colab_url)))


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _add_tag(cell, tag: str) -> None:
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def chapter_label(number: int) -> str:
    """How a page is numbered: chapters by their number, appendices (sources numbered 90 and up)
    by a letter, A for 90."""
    return str(number) if number < 90 else chr(ord("A") + number - 90)


def _number_title(cells, number: int) -> int:
    """Prefix the first ``# heading`` with the chapter label; returns that cell's index (or -1)."""
    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for line_no, line in enumerate(lines):
            if line.startswith("# "):
                prefix = f"# {chapter_label(number)}. "
                if not line.startswith(prefix):
                    lines[line_no] = prefix + line[2:]
                    cell.source = "\n".join(lines)
                return index
    return -1


def _findings_index(cells) -> int | None:
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and any(line.strip() == FINDINGS_HEADING for line in cell.source.split("\n")):
            return index
    return None


def _claim_label(claim: Mapping) -> str:
    label = html.escape(str(claim["claim"]))
    kind = KIND_LABELS.get(claim.get("kind"), "")
    return label + (f" <i>({kind})</i>" if kind else "")


def verdict_box(claims: Sequence[Mapping]) -> str:
    """The box under the title: each claim and its verdict, linked to the ledger."""
    rows = "\n".join(f"<tr><td>{_claim_label(c)}</td><td>{verdict_cell(c)}</td></tr>" for c in claims)
    # No blank line inside: Markdown would end the HTML block there.
    return "\n".join([
        '<div class="admonition tip">',
        '<p class="admonition-title">The claims this chapter tests, and our verdicts</p>',
        '<table class="optbook-verdicts">',
        '<colgroup><col class="optbook-claim-column"><col class="optbook-verdict-column"></colgroup>',
        "<thead><tr><th>claim</th><th>verdict or answer</th></tr></thead>",
        f"<tbody>\n{rows}\n</tbody>",
        "</table>",
        '<p>Every number behind a verdict is in the <a href="../claims.html">claims ledger</a>; '
        "how each was measured is in the section that tests it.</p>",
        "</div>",
    ])


def measured_table(claims: Sequence[Mapping]) -> str:
    """The verdict table that closes "What we found": claim, what we measured, verdict."""
    rows = "\n".join(
        f"<tr><td>{_claim_label(c)}</td><td>{html.escape(str(c.get('ours', '')))}</td><td>{verdict_cell(c)}</td></tr>"
        for c in claims
    )
    # Folded: the box under the title already gives each verdict; the numbers are one click away,
    # so the prose of "What we found" reads on without a table pages long.
    return "\n".join([
        '<details class="optbook-measured">',
        f"<summary>Each claim with what we measured ({len(claims)} rows)</summary>",
        '<table class="optbook-verdicts">',
        '<colgroup><col class="optbook-claim-column"><col class="optbook-measured-column">'
        '<col class="optbook-verdict-column"></colgroup>',
        "<thead><tr><th>claim</th><th>what we measured</th><th>verdict or answer</th></tr></thead>",
        f"<tbody>\n{rows}\n</tbody>",
        "</table>",
        "</details>",
    ])


def format_duration(seconds: float) -> str:
    """``134.2`` -> ``"2 min 14 s"``; whole seconds under a minute, no seconds above an hour."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def run_it_yourself(number: int, chapter_id: str, stamp: Mapping, colab_url: str | None) -> str:
    """The closing section: how this page was produced and how to produce it again, differently."""
    parameters = stamp.get("parameters", {})
    scale, seed = parameters.get("scale", "cpu"), parameters.get("seed", 0)
    other_seed = seed + 1 if isinstance(seed, int) else 1
    ran = (f"This page ran at `scale=\"{scale}\"`, seed {seed}, on `{stamp.get('device', 'cpu')}` "
           f"(PyTorch {stamp.get('torch', '?')}) in {format_duration(stamp.get('wall_time_s', 0))}. Expensive "
           "results are cached under `data/cache/` by their configuration and reused, so a first run, with "
           "an empty cache, takes longer.")
    lines = [
        "## Run it yourself",
        "",
        ran,
        "From a checkout of the repository (`make setup` installs everything), re-run it at another seed, "
        "or at the papers' own protocol (`scale paper`, a GPU expected), or in under a minute for a test "
        "(`scale smoke`):",
        "",
        "```bash",
        # Two lines each, so no line runs past the page's code frame.
        f".venv/bin/optbook run {number:02d} -p scale {scale} -p seed {other_seed} \\",
        f"    --output /tmp/{chapter_id}.ipynb",
        f".venv/bin/optbook run {number:02d} -p scale smoke \\",
        f"    --output /tmp/{chapter_id}_smoke.ipynb",
        "```",
        "",
        "`optbook list` shows every parameter of the chapter; see also [Reproducing the book](../reproduce.md).",
    ]
    if colab_url:
        lines += ["", f"Or open this notebook in Colab: <a href=\"{colab_url}\">{html.escape(colab_url)}</a> "
                  "(its first cell installs the library)."]
    return "\n".join(lines)


def colab_url(root: Path, chapter_id: str) -> str | None:
    """The Colab address of the committed notebook, from ``_config.yml``'s repository setting
    (the one :mod:`optbook.pipeline.install_cell` reads); None when none is set."""
    from optbook.pipeline.install_cell import ConfigError, read_repository

    try:
        url, branch = read_repository(root)
    except (ConfigError, OSError):
        return None
    if url is None:  # published without a repository: no launch button, no link
        return None
    return (f"https://colab.research.google.com/github/{url.removeprefix('https://github.com/')}"
            f"/blob/{branch}/book/chapters/{chapter_id}.ipynb")
