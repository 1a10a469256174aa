"""A chapter's findings: declared once in its study module, judged from the experiment's results,
published by the notebook in one call.

A :class:`Claim` is what a chapter tests, as data: its id, its sentence, the paper's number and
where it comes from (braces in its texts name fields of the judgement; write a literal brace
twice). A study function judges it from results and returns a :class:`Finding`: the verdict, our
measured value, the notes, and every number the chapter's prose cites, by field name.
A finding without a claim carries only numbers (what an experiment found that the prose quotes).
:func:`publish` records each claim in the ledger (:func:`optbook.claims.record`) and glues each
field as ``<finding id>.<field>``, so the prose cites ``{glue:text}`hd-transition.alpha_inf``` and
never a value glued by hand. The notebook holds no claim sentence, no formatting of results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from optbook import claims, report

__all__ = ["Claim", "Finding", "publish", "numbers", "yes_or_no"]

# A question whose answer is a paired comparison ("does A end lower than B?") answered from the
# book's rule: the verdict the comparison would get, in words.
ANSWERS = {"reproduced": "Yes", "partly reproduced": "Partly", "not reproduced": "No",
           "mixed": "Mixed", "inconclusive": "Not decided"}


def yes_or_no(verdict: str) -> str:
    """The answer to a yes/no question that the book's rule decides: "Yes" when the comparison
    reproduces, "No" when it does not, "Mixed" when mean and typical problem disagree, "Not decided"
    when the intervals straddle zero."""
    if verdict not in ANSWERS:
        raise ValueError(f"verdict={verdict!r} answers no yes/no question; allowed: {sorted(ANSWERS)}")
    return ANSWERS[verdict]


@dataclass(frozen=True)
class Claim:
    """A claim a chapter tests. ``sentence`` and ``paper`` may name fields of the judgement in
    braces (``{alpha_inf}``), filled when it is published. ``kind`` is whose claim it is (a paper's,
    or our own question), ``reference`` where ``paper`` comes from (see :mod:`optbook.claims`)."""

    id: str
    sentence: str
    paper: object  # a text (may name fields), a number, or None where there is no reference value
    source: str
    kind: str = "paper"
    reference: str | None = "paper"
    # A few words for the chapter's bottom line ("the LSTM beats tuned baselines on quadratics");
    # may name fields in braces, like the sentence.
    gist: str = ""

    def __post_init__(self) -> None:
        if self.kind not in claims.KINDS:
            raise ValueError(f"Claim {self.id!r}: kind={self.kind!r} is not one of {claims.KINDS}")
        if self.reference not in claims.REFERENCES:
            raise ValueError(f"Claim {self.id!r}: reference={self.reference!r} is not one of {claims.REFERENCES}")

    def judged(self, verdict: str, ours, /, notes: str = "", paper=None, nets: tuple[int, int] | None = None,
               **fields) -> Finding:
        """This claim with its verdict, our value and notes; ``fields`` are the numbers the prose
        cites. ``paper`` replaces the declared reference value where the judgement computes it.
        ``nets`` = (k, n) for a claim about a kind of learned net: its verdict holds for k of the n
        trained nets (the ledger says so beside the verdict)."""
        if self.kind == "question":
            raise ValueError(f"{self.id!r} is a question: it gets an answer (Claim.answered), not a verdict")
        return Finding(self.id, dict(fields), claim=self, verdict=verdict, ours=ours, notes=notes, paper=paper,
                       nets=_checked_nets(self.id, nets))

    def answered(self, answer: str, ours, /, notes: str = "", paper=None, **fields) -> Finding:
        """This question with its short answer ("No: 2 of 9 nets") and the numbers behind it."""
        if self.kind != "question":
            raise ValueError(f"{self.id!r} is a claim (kind={self.kind!r}): it gets a verdict (Claim.judged)")
        if not answer:
            raise ValueError(f"question {self.id!r} needs a non-empty answer")
        return Finding(self.id, dict(fields), claim=self, verdict=claims.ANSWERED, ours=ours, notes=notes,
                       paper=paper, answer=answer)

    def with_id(self, suffix: str, **wording) -> Claim:
        """One of a family of claims (one per task): ``<id>-<suffix>``, its texts filled with ``wording``."""
        paper = self.paper.format(**wording) if isinstance(self.paper, str) else self.paper
        return Claim(f"{self.id}-{suffix}", self.sentence.format(**wording), paper, self.source, self.kind,
                     self.reference, self.gist.format(**wording))


def _checked_nets(claim_id: str, nets) -> tuple[int, int] | None:
    if nets is None:
        return None
    held, total = nets
    if not (isinstance(held, int) and isinstance(total, int) and 0 <= held <= total and total >= 1):
        raise ValueError(f"claim {claim_id!r}: nets={nets!r} must be (k, n) with 0 <= k <= n and n >= 1")
    return (held, total)


@dataclass
class Finding:
    """A judged claim, or (``claim`` None) the numbers an experiment gives the prose."""

    id: str
    fields: dict[str, object] = field(default_factory=dict)
    claim: Claim | None = None
    verdict: str | None = None
    ours: object = None
    notes: str = ""
    paper: object = None
    answer: str | None = None  # a question's short answer
    nets: tuple[int, int] | None = None  # (k, n): the verdict holds for k of n trained nets

    def __getitem__(self, name: str):
        return self.fields[name]


def numbers(finding_id: str, **fields) -> Finding:
    """A finding that is only numbers the prose cites (no claim, no verdict)."""
    return Finding(finding_id, dict(fields))


def publish(chapter: str, findings: Iterable[Finding | Iterable[Finding]], scale: str) -> dict[str, Finding]:
    """Record every claim of ``findings`` for the ledger and glue every field for the prose;
    returns the findings by id. Nested iterables (a study's list of per-task findings) are
    flattened. A finding id given twice is refused: a glued name must mean one number."""
    published: dict[str, Finding] = {}
    for finding in _flatten(findings):
        if finding.id in published:
            raise ValueError(f"finding {finding.id!r} is published twice; ids must be unique in a chapter")
        published[finding.id] = finding
        if finding.claim is not None:
            paper = finding.paper
            if paper is None:  # the declared reference value, its placeholders filled from the judgement
                declared = finding.claim.paper
                paper = declared.format_map(finding.fields) if isinstance(declared, str) else declared
            claims.record(chapter, finding.id, finding.claim.sentence.format_map(finding.fields), paper,
                          finding.ours, finding.verdict,
                          source=finding.claim.source, notes=finding.notes, scale=scale,
                          kind=finding.claim.kind, reference=finding.claim.reference, answer=finding.answer,
                          nets=finding.nets,
                          gist=finding.claim.gist.format_map(finding.fields))
        for name, value in finding.fields.items():
            report.glue(f"{finding.id}.{name}", value)
    return published


def _flatten(findings) -> Iterable[Finding]:
    for item in findings:
        if isinstance(item, Finding):
            yield item
        elif isinstance(item, Mapping):
            yield from _flatten(item.values())
        else:
            yield from _flatten(item)
