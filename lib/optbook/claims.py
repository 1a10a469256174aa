"""Claims: each chapter records the papers' claims (and its own questions) with our measured value
and a verdict.

A claim that one method beats another is judged by :func:`compare_paired` (the book's one rule,
in :mod:`optbook.comparison`): the paired difference of means and the median of paired
differences (the typical problem), each with a 95% interval.

``record`` writes ``book/results/NN.json`` (merging by claim id); :mod:`optbook.pipeline.ledger` turns every
results file into the ledger page ``book/claims.md``. While ``optbook build`` executes a chapter,
``$OPTBOOK_RESULTS`` points ``record`` at a scratch folder, and the chapter's results replace
``book/results/NN.json`` only when the run succeeds: a claim the chapter no longer records
disappears from the ledger, and a failed run leaves the published results as they were.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

from optbook.comparison import PairedComparison, compare_paired  # the rule "A beats B", re-exported

# "mixed": the mean and the typical problem disagree (e.g. lower mean, higher typical loss); the
# claim's notes say which way each went.
VERDICTS = ("reproduced", "partly reproduced", "mixed", "inconclusive", "not reproduced", "not run", "answered")
# What a question of ours gets instead of a verdict: nobody claimed anything, so nothing is
# "reproduced"; the entry's ``answer`` says what we found ("No: 2 of 9 nets").
ANSWERED = "answered"
# Whose claim it is: a claim one of the papers makes, a claim of the book's own, or a question the
# book asks (answered, not judged).
KINDS = ("paper", "ours", "question")
# Where the reference number comes from: the paper's text or figures, the official code's logged
# output, a later reproduction, or nowhere (a question of ours may have no reference number).
REFERENCES = ("paper", "official code", "reproduction", None)
RESULTS = Path("book/results")


def verdict_from_fraction(fraction: float) -> str:
    """The book's rule for a claim tested on several cases: all hold → reproduced, at least half
    → partly reproduced, fewer → not reproduced."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction={fraction!r} must be between 0 and 1")
    return "reproduced" if fraction == 1 else "partly reproduced" if fraction >= 0.5 else "not reproduced"


def _plain(value):
    """Numbers stay numbers (rounded to what a reader can use), everything else becomes text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)


def record(
    chapter: str,
    claim_id: str,
    claim: str,
    paper_value,
    our_value,
    verdict: str,
    source: str = "",
    notes: str = "",
    scale: str | None = None,
    root: Path | None = None,
    kind: str = "paper",
    reference: str | None = "paper",
    answer: str | None = None,
    gist: str = "",
    nets: tuple[int, int] | None = None,
) -> dict:
    """Record one claim of a paper and what we measured; returns the entry and prints nothing
    (a chapter's page shows its claims in the verdict box the build adds, not as log lines).

    ``kind`` says whose claim it is (:data:`KINDS`), ``reference`` where ``paper_value`` comes
    from (:data:`REFERENCES`); ``source`` cites it; ``gist`` names it in a few words for the
    chapter's bottom line. ``nets`` = (k, n): a claim about a kind of learned net holds for k of
    its n trained nets. A question (``kind="question"``) has the
    verdict ``"answered"`` and a short ``answer``; nothing else does. The entry is written where
    :func:`results_dir` says (only ``optbook build`` publishes); elsewhere it is only returned.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict={verdict!r} is not one of {VERDICTS}")
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {KINDS}")
    if reference not in REFERENCES:
        raise ValueError(f"reference={reference!r} is not one of {REFERENCES}")
    if (kind == "question") != (verdict == ANSWERED):
        raise ValueError(f"claim {claim_id!r}: a question (kind='question') is {ANSWERED!r}, and only a question is; "
                         f"got kind={kind!r}, verdict={verdict!r}")
    if (kind == "question") != bool(answer):
        raise ValueError(f"claim {claim_id!r}: a question needs a short answer, and only a question has one; "
                         f"got kind={kind!r}, answer={answer!r}")
    if not claim_id or not claim_id.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"claim_id={claim_id!r} must be a non-empty slug of letters, digits, '-' and '_'")
    entry = {
        "id": claim_id,
        "claim": claim,
        "paper": _plain(paper_value),
        "ours": _plain(our_value),
        "verdict": verdict,
        **({"answer": answer} if answer else {}),
        **({"gist": gist} if gist else {}),
        **({"nets": {"held": int(nets[0]), "of": int(nets[1])}} if nets else {}),
        "kind": kind,
        "reference": reference,
        "source": source,
        "notes": notes,
        "scale": scale,
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    folder = results_dir(root)
    if folder is not None:
        path = folder / f"{chapter}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        claims = {c["id"]: c for c in load(path)}
        claims[claim_id] = entry
        path.write_text(json.dumps(list(claims.values()), indent=1, ensure_ascii=False) + "\n")
    return entry


def results_dir(root: Path | None = None) -> Path | None:
    """Where ``record`` writes: ``$OPTBOOK_RESULTS`` (the build sets it to a scratch folder it
    publishes on success), else ``root``'s ``book/results/`` when a root is given; otherwise
    nowhere. A chapter executed by papermill or Jupyter directly, even inside the checkout, must
    not overwrite the published results (a smoke run would flip verdicts): only ``optbook build``
    publishes. Set ``$OPTBOOK_RESULTS`` to keep a direct run's claims."""
    override = os.environ.get("OPTBOOK_RESULTS")
    if override:
        return Path(override)
    return None if root is None else Path(root) / RESULTS


def load(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []
