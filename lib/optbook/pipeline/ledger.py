"""What the book found, rendered from ``book/results/*.json``: the claims ledger page and the
landing page's findings table.

Both are written by ``optbook build`` after the chapters ran, so no number on them is typed by
hand. The ledger opens with the verdict counts per chapter, then one sortable, filterable table
(itables) of every claim with its verdict as a coloured badge.

Where a chapter has a published seed sweep (``book/results/sweeps/NN.json``, written by
``optbook sweep --publish``), each claim says in how many of those seeds its verdict holds (a seed
that fully reproduces a claim also partly reproduces it). A verdict that holds in fewer than
:data:`STABLE_SHARE` of them is not stated: a "reproduced" that some seeds only partly reproduce
is stated as "partly reproduced" when that holds, and anything else as "inconclusive". One seed's
"reproduced" that the next seed overturns is not a finding.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from optbook.pipeline.badges import badge
from optbook.claims import ANSWERED, VERDICTS

LEDGER = Path("book/claims.md")
FINDINGS = Path("book/findings.md")
RESULTS = Path("book/results")
SEED_SWEEPS = RESULTS / "sweeps"
# The share of seeds in which a verdict must hold for the ledger to state it (4 of 5).
STABLE_SHARE = 0.8
CHAPTERS = Path("book/chapters")
# itables' JavaScript bundle, copied there by the build. Not under _static/: Jupyter Book would load
# every .js there on every page. _config.yml lists _extra in html_extra_path, copied to the site's root.
EXTRA = Path("_extra")
DATATABLES = Path("itables")

# How each reference source reads in the ledger, so a reproduction's number is never taken for
# the paper's own.
# Column headings of the counts table, short so it fits a phone.
SHORT_VERDICTS = {"partly reproduced": "partly"}
REFERENCE_LABELS = {"paper": "the paper", "official code": "official code's logs",
                    "reproduction": "a later reproduction", None: "none"}


@dataclass(frozen=True)
class ChapterResults:
    number: str  # "03", as in the results file's name
    title: str  # the executed chapter's heading, or "Chapter 3" when there is none
    document: str | None  # the page to link, relative to book/ ("chapters/03_name"), if executed
    claims: list[dict]

    def counts(self) -> Counter:
        return Counter(stated_verdict(claim) for claim in self.claims)


def normalise(claim: dict) -> dict:
    """Old results files predate ``kind`` and ``reference``: they were all the paper's claims."""
    return {"kind": "paper", "reference": "paper", **claim}


# A verdict and the stronger ones that imply it: a seed that fully reproduces a claim partly does too.
AT_LEAST = {"partly reproduced": ("partly reproduced", "reproduced")}
# The weaker verdicts a recorded one falls back to, in order, before "inconclusive".
WEAKER = {"reproduced": ("partly reproduced",)}


def seed_verdicts(claim: dict, sweep: dict | None) -> list[str | None] | None:
    """The claim's verdict at each seed of the sweep (None where a seed's run did not record it);
    None without a sweep, or for a claim that was not run (nothing was judged that could hold)."""
    if not sweep or claim["verdict"] in ("not run", ANSWERED):
        return None
    by_seed = sweep.get("verdicts", {}).get(claim["id"], {})
    return [by_seed.get(str(value)) for value in sweep.get("values", [])]


def seeds_holding(claim: dict, verdict: str | None = None) -> tuple[int, int] | None:
    """(k, n): ``verdict`` (default: the recorded one) holds in k of the sweep's n seeds, where a
    seed holds a verdict when its own is that one or a stronger one that implies it."""
    verdicts = claim.get("seed_verdicts")
    if not verdicts:
        return None
    verdict = verdict or claim["verdict"]
    accepted = AT_LEAST.get(verdict, (verdict,))
    return sum(v in accepted for v in verdicts), len(verdicts)


def stated_verdict(claim: dict) -> str:
    """The verdict the ledger states: the recorded one if a seed sweep shows it holding in at least
    :data:`STABLE_SHARE` of the seeds, else the strongest weaker one that does ("partly
    reproduced" for a "reproduced" that some seeds only partly reproduce), else "inconclusive"."""
    for verdict in (claim["verdict"], *WEAKER.get(claim["verdict"], ())):
        held = seeds_holding(claim, verdict)
        if held is None or held[0] >= STABLE_SHARE * held[1]:
            return verdict
    return "inconclusive"


def chapter_claims(root: Path, number: str) -> list[dict]:
    """Chapter ``number``'s published claims, each with its verdicts across the published seed
    sweep (``seed_verdicts``) where there is one."""
    root = Path(root)
    path = root / RESULTS / f"{number}.json"
    if not path.is_file():
        return []
    sweep_path = root / SEED_SWEEPS / path.name
    sweep = json.loads(sweep_path.read_text()) if sweep_path.is_file() else None
    claims = [normalise(c) for c in json.loads(path.read_text())]
    return [{**c, "seed_verdicts": seed_verdicts(c, sweep)} for c in claims]


def nets_note(claim: dict) -> str:
    """"reproduced for k of n trained nets" for a claim about a kind of learned net, else ""."""
    nets = claim.get("nets")
    if not nets:
        return ""
    return f"<br><small>reproduced for {nets['held']} of {nets['of']} trained nets</small>"


def verdict_cell(claim: dict) -> str:
    """The stated verdict's badge; for a kind of learned net, for how many of its trained nets the
    claim is reproduced; with a seed sweep, how many seeds the verdict holds in (and what the
    book's own seed recorded when the sweep weakened it)."""
    return _seed_cell(claim) + nets_note(claim)


def _seed_cell(claim: dict) -> str:
    stated = stated_verdict(claim)
    if stated == ANSWERED:
        return f"{badge(stated)}<br>{html.escape(str(claim.get('answer', '')))}"
    held = seeds_holding(claim, stated)
    if not held:
        return badge(stated)
    k, n = held
    if stated == claim["verdict"]:
        # "the same in 5 of 5 seeds", not "holds in": under "not reproduced" that would read as
        # the claim holding.
        return f"{badge(stated)}<br><small>the same in {k} of {n} seeds</small>"
    recorded_held, _ = seeds_holding(claim)
    if stated == "inconclusive":
        return (f"{badge(stated)}<br><small>{html.escape(claim['verdict'])} at the book's seed, "
                f"but in only {recorded_held} of {n} seeds</small>")
    return (f"{badge(stated)}<br><small>{html.escape(claim['verdict'])} at the book's seed, but in only "
            f"{recorded_held} of {n} seeds; {stated} in {k} of {n}</small>")


# The bottom line names what held and what did not; the claims in between are counted.
NAMED_GROUPS = (("held", ("reproduced",)), ("did not hold", ("not reproduced",)))
COUNTED_GROUPS = (("held in part", ("partly reproduced",)), ("undecided", ("mixed", "inconclusive")),
                  ("not run", ("not run",)))


def bottom_line(claims: Sequence[Mapping], named_where: str = "in the box above") -> str:
    """One generated sentence: which claims held and which did not (by their gists, with the
    verdict the box states), how many held in part or are undecided, then each question of ours
    with its answer."""
    judged = [c for c in claims if c.get("kind") != "question"]
    parts = []
    for label, verdicts in NAMED_GROUPS:
        named = _merge_families([_gist(c) for c in judged if stated_verdict(c) in verdicts])
        if named:
            parts.append(f"{label}: {_join(named)}")
    counted = [f"{n} {label}" for label, verdicts in COUNTED_GROUPS
               if (n := sum(stated_verdict(c) in verdicts for c in judged))]
    if counted:
        parts.append(f"{_join(counted)} ({named_where})" if parts else _join(counted))
    sentence = "; ".join(parts)
    sentence = (sentence[0].upper() + sentence[1:] + ".") if sentence else ""
    questions = [f"{_gist(c).rstrip('?')}? {c.get('answer', '')}." for c in claims if c.get("kind") == "question"]
    if questions:
        sentence += (" " if sentence else "") + "Our questions: " + " ".join(questions)
    return f"**In short.** {html.escape(sentence, quote=False)}" if sentence else ""


def _gist(claim: Mapping) -> str:
    return str(claim.get("gist") or claim["claim"]).strip().rstrip(".")


def _merge_families(gists: list[str]) -> list[str]:
    """A family of claims tested per task reads once: "A is best on X" and "A is best on Y"
    become "A is best on X and Y"."""
    tails: dict[str, list[str]] = {}
    order: list[str] = []
    for gist in gists:
        head, on, tail = gist.rpartition(" on ")
        key = head if on else gist
        if key not in tails:
            order.append(key)
            tails[key] = []
        if on:
            tails[key].append(tail)
    return [f"{key} on {_join(tails[key])}" if tails[key] else key for key in order]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def load_results(root: Path) -> list[ChapterResults]:
    """Every chapter that recorded claims, in chapter order."""
    root = Path(root)
    chapters = []
    for path in sorted((root / RESULTS).glob("*.json")):
        claims = chapter_claims(root, path.stem)
        executed = sorted((root / CHAPTERS).glob(f"{path.stem}_*.ipynb"))
        executed = [p for p in executed if not p.name.endswith(".failed.ipynb")]
        title = chapter_title(executed[0]) if executed else None
        chapters.append(ChapterResults(
            number=path.stem,
            title=title or (f"Chapter {int(path.stem)}" if path.stem.isdigit() else path.stem),
            document=f"chapters/{executed[0].stem}" if executed else None,
            claims=claims,
        ))
    return chapters


def chapter_title(notebook_path: Path) -> str | None:
    """The first ``# heading`` of a notebook's markdown cells."""
    notebook = json.loads(Path(notebook_path).read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return None


def short_title(title: str) -> str:
    """"3. Hypergradient descent: the learning rate learns itself" → "3. Hypergradient descent":
    short enough that a table of counts fits a phone."""
    return title.split(":")[0].strip()


def _markdown_link(chapter: ChapterResults, prefix: str = "") -> str:
    label = short_title(chapter.title)
    if chapter.document is None:
        return label
    return f"[{label}]({prefix}{chapter.document}.ipynb)"


def _count_badges(counts: Counter) -> str:
    """"5 reproduced, 1 partly, 2 inconclusive" as badges, in the order of the verdicts."""
    return " ".join(badge(v, f"{counts[v]} {SHORT_VERDICTS.get(v, v)}") for v in VERDICTS if counts[v])


def verdict_counts_table(chapters: list[ChapterResults], prefix: str = "") -> list[str]:
    """Markdown lines: one row per chapter with its verdict counts as badges, and a total row.
    Two narrow columns of text rather than one column per verdict: it fits a phone."""
    lines = ["| chapter | verdicts and answers | tested |", "|:---|:---|---:|"]
    total = Counter()
    for chapter in chapters:
        total.update(chapter.counts())
        lines.append(f"| {_markdown_link(chapter, prefix)} | {_count_badges(chapter.counts())} | {len(chapter.claims)} |")
    lines.append(f"| **all chapters** | {_count_badges(total)} | **{sum(total.values())}** |")
    return lines


def _scales(chapters: list[ChapterResults]) -> set:
    return {claim.get("scale") for chapter in chapters for claim in chapter.claims}


def _scale_sentence(chapters: list[ChapterResults]) -> str:
    """What every row shares, said once instead of as a constant column."""
    scales, kinds = _scales(chapters), _kinds(chapters)
    sentence = "The scale each claim was measured at is in its row."
    if len(scales) == 1:
        (scale,) = scales
        sentence = f"Every claim was measured at `scale=\"{scale}\"`." if scale else ""
    if kinds == {"paper"}:
        sentence += " All are claims the papers make."
    elif kinds == {"question"}:
        sentence += " All are questions of our own."
    return sentence.strip()


def render_findings(root: Path) -> Path:
    """``book/findings.md``: the landing page's verdict counts, included by ``book/intro.md``."""
    root = Path(root)
    chapters = load_results(root)
    if chapters:
        lines = verdict_counts_table(chapters)
        lines += ["", f"{_scale_sentence(chapters)}{_data_sentence(root, chapters)} Every claim, with the "
                  "paper's number and ours, is in the [claims ledger](claims.md).", ""]
        for chapter in chapters:
            line = bottom_line(chapter.claims, named_where="named in the chapter").removeprefix("**In short.** ")
            if line:
                stop = "" if short_title(chapter.title).endswith(("?", "!", ".")) else "."
                lines += [f"- **{_markdown_link(chapter)}{stop}** {line}"]
    else:
        lines = ["No chapter has recorded a claim yet."]
    return _write_if_changed(root / FINDINGS, "\n".join(lines) + "\n")


# What a data set's key means to a reader, where the book used a stand-in for the paper's.
DATA_NOTES = {"mnist-5k": "MNIST results use a 5,000-image subset of MNIST (MNIST-5k), the full set not being "
                          "on the machine that built the book"}


def _data_sentence(root: Path, chapters: list[ChapterResults]) -> str:
    """Which stand-in data sets the executed chapters used, from their stamps."""
    used = set()
    for chapter in chapters:
        if chapter.document:
            notebook = json.loads((Path(root) / "book" / f"{chapter.document}.ipynb").read_text())
            used.update(notebook.get("metadata", {}).get("optbook", {}).get("datasets", []))
    notes = [DATA_NOTES[key] for key in sorted(used) if key in DATA_NOTES]
    return "".join(f" {note}." for note in notes)


def _has_sweeps(chapters: list[ChapterResults]) -> bool:
    return any(claim.get("seed_verdicts") for chapter in chapters for claim in chapter.claims)


def _kinds(chapters: list[ChapterResults]) -> set:
    return {claim.get("kind") for chapter in chapters for claim in chapter.claims}


# How the ledger names whose claim a row is, beside the claim (a paper's claims go unmarked).
KIND_LABELS = {"paper": "", "ours": "our claim", "question": "our question"}
# The verdict column's heading: the filter buttons search that column.
VERDICT_COLUMN = "verdict"
# The reference number (and where it comes from) above ours, in one column: four columns have
# room to be read at 1280 px.
NUMBERS_COLUMN = "the reference and ours"


def _ledger_frame(chapters: list[ChapterResults], with_scale: bool):
    """One row per claim: chapter, claim (whose it is; its notes and id behind a click), the
    reference value above ours, the verdict."""
    import pandas as pd

    rows = []
    for chapter in chapters:
        # The chapter's number, its title on hover: the claims need the table's width.
        label = str(int(chapter.number)) if chapter.number.isdigit() else html.escape(chapter.number)
        title = html.escape(chapter.title, quote=True)
        link = (f'<a href="{chapter.document}.html" title="{title}">{label}</a>'
                if chapter.document else f'<span title="{title}">{label}</span>')
        for claim in chapter.claims:
            reference = claim.get("reference")
            source = claim.get("source") or ""
            kind = KIND_LABELS.get(claim.get("kind"), "")
            notes = " ".join(filter(None, [claim.get("notes"), f"Source: {source}." if source else ""]))
            paper = _text(claim.get("paper"))
            row = {
                "ch.": link,
                "claim": (html.escape(str(claim["claim"])) + (f" <i>({kind})</i>" if kind else "")
                          + f"<details><summary>notes</summary>{html.escape(notes)} "
                            f"<small>(id: {html.escape(claim['id'])})</small></details>"),
                NUMBERS_COLUMN: ((f"<i>{REFERENCE_LABELS[reference]}</i>: {html.escape(paper)}<br>" if paper else "")
                                 + f"<i>ours</i>: {html.escape(_text(claim.get('ours')))}"),
                VERDICT_COLUMN: verdict_cell(claim),
            }
            if with_scale:
                row["scale"] = html.escape(_text(claim.get("scale")))
            rows.append(row)
    return pd.DataFrame(rows)


def _text(value) -> str:
    return "" if value is None else str(value)


def _install_datatables(root: Path) -> str:
    """Copy itables' DataTables bundle into the book's ``_extra/`` (copied to the site's root) and
    return its address as seen from ``book/claims.html``: the table then works without a CDN."""
    import itables

    bundle = Path(itables.__file__).parent / "html"
    target = Path(root) / EXTRA / DATATABLES
    target.mkdir(parents=True, exist_ok=True)
    for name in ("dt_bundle.js", "dt_bundle.css"):
        source, copy = bundle / name, target / name
        if not copy.exists() or copy.read_bytes() != source.read_bytes():
            copy.write_bytes(source.read_bytes())
    return f"../{DATATABLES.as_posix()}/dt_bundle.js"


def _interactive_table(frame, bundle_url: str) -> str:
    """The claims as an itables DataTable: sortable and searchable in the browser, with a plain
    HTML table shown where JavaScript does not run."""
    from itables import to_html_datatable

    table = to_html_datatable(
        frame, allow_html=True, showIndex=False, paging=False, connected=True, dt_url=bundle_url,
        classes="display compact", table_id="optbook-claims-table",  # not "claims-ledger": the page heading has that id
        columnDefs=[{"width": "40%", "targets": 1}, {"width": "38%", "targets": _column_index(frame, NUMBERS_COLUMN)},
                    {"width": "8.5em", "targets": _column_index(frame, VERDICT_COLUMN)}],
        text_in_header_can_be_selected=False,  # a click anywhere on a heading sorts, not only on its arrow
    )
    # A blank line would end the raw-HTML block in Markdown and print the rest as text.
    return "\n".join(line for line in table.splitlines() if line.strip())


def _column_index(frame, name: str) -> int:
    return list(frame.columns).index(name)


# The filter buttons: one click shows only the rows with that verdict. DataTables searches the
# verdict column's text, which starts with the stated verdict ("partly reproduced the same in 4 of 5").
_FILTER_SCRIPT = """<script type="module">
import {{ jQuery as $ }} from '{bundle}';
document.querySelectorAll('.optbook-verdict-filter button').forEach((button) => {{
  button.addEventListener('click', () => {{
    // The table itables built, fetched at the click: by then it is initialised (asking earlier
    // would build a second, empty DataTable on it).
    if (!$.fn.dataTable.isDataTable('#optbook-claims-table')) return;
    const table = $('#optbook-claims-table').DataTable();
    const verdict = button.dataset.verdict;
    table.column({column}).search(verdict ? '^' + verdict : '', true, false).draw();
    document.querySelectorAll('.optbook-verdict-filter button')
      .forEach((other) => other.setAttribute('aria-pressed', String(other === button)));
  }});
}});
</script>"""


def verdict_filter(chapters: list[ChapterResults], bundle_url: str, column: int) -> str:
    """A row of buttons above the ledger's table, one per verdict stated (with its count) and
    "all": a click filters the table to that verdict."""
    counts = Counter(stated_verdict(claim) for chapter in chapters for claim in chapter.claims)
    buttons = ['<button type="button" data-verdict="" aria-pressed="true">all '
               f"{sum(counts.values())}</button>"]
    buttons += [f'<button type="button" data-verdict="{html.escape(v)}" aria-pressed="false">'
                f"{badge(v, f'{counts[v]} {v}')}</button>" for v in VERDICTS if counts[v]]
    return "\n".join(['<div class="optbook-verdict-filter">Show: ' + " ".join(buttons) + "</div>",
                      _FILTER_SCRIPT.format(bundle=bundle_url, column=column)])


def render_ledger(root: Path) -> Path:
    """Write ``book/claims.md`` from ``book/results/*.json``; untouched when nothing changed."""
    root = Path(root)
    chapters = load_results(root)
    lines = [
        "# Claims ledger",
        "",
        "Every claim the chapters test: the reference number and where it comes from (the paper, the "
        "official code's logged output, or a later reproduction), our measured value, and the verdict. "
        "Generated by `optbook build` from `book/results/*.json`; each row was recorded by the executed "
        "chapter it links to.",
        "",
    ]
    if not chapters:
        lines.append("No chapter has recorded a claim yet.")
    else:
        lines += ["## Summary", "", *verdict_counts_table(chapters, prefix=""), "",
                  _scale_sentence(chapters), "",
                  "## Every claim", "",
                  "Click a verdict below to show only its rows, a column heading to sort, and type in the search "
                  "box to find a word. *ch.* links to the chapter (its title on hover). Claims without a mark are "
                  "the papers'; *our claim* is one the book makes, and *our question* one it asks: a question gets "
                  "an answer, not a verdict. Each claim's notes open with a click."
                  + (f" Where a chapter was re-run over several seeds, a verdict must hold in {STABLE_SHARE:.0%} "
                     "of them to be stated (a seed that fully reproduces a claim also partly reproduces it); "
                     "otherwise the ledger states the strongest weaker verdict that does: \"partly reproduced\" "
                     "for a \"reproduced\" that some seeds only partly reproduce, else \"inconclusive\"."
                     if _has_sweeps(chapters) else ""),
                  "", *_table_with_filter(chapters, _install_datatables(root)), ""]
    return _write_if_changed(root / LEDGER, "\n".join(lines) + "\n")


def _table_with_filter(chapters: list[ChapterResults], bundle_url: str) -> list[str]:
    frame = _ledger_frame(chapters, with_scale=len(_scales(chapters)) > 1)
    return [verdict_filter(chapters, bundle_url, _column_index(frame, VERDICT_COLUMN)), "",
            _interactive_table(frame, bundle_url)]


def _write_if_changed(target: Path, text: str) -> Path:
    if not target.exists() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return target
