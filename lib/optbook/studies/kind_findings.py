"""Judging kinds of learned optimizer: the book's paired rule across trained nets and problems
(:func:`optbook.comparison.compare_across_nets`), and the words the ledger and the prose use
for it. Shared by the chapters that compare learned optimizers (1, 2 and the showdown).

A method's values on one task are a frame of nets x problems for a kind of learned net
(:func:`optbook.studies.net_kinds.net_values`) and a series over problems for a hand-designed
baseline, which is the same for every net.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from optbook import claims
from optbook.comparison import BETTER, UNCLEAR, NetsComparison, compare_across_nets
from optbook.studies import learning_to_learn as l2l
from optbook.studies import net_kinds

__all__ = ["best_baseline", "compare", "judge_kind", "kind_outcome", "kind_ours", "one_net_changes", "task_values"]


def task_values(frame: pd.DataFrame, step: int, measure: str = l2l.AT_STEP) -> dict[str, pd.Series | pd.DataFrame]:
    """Every method of a task's frame at ``step``: nets x problems for the kinds (rows with a
    ``net``), one value per problem for the baselines."""
    has_net = frame["net"].notna() if "net" in frame.columns else pd.Series(False, index=frame.index)
    values: dict = {}
    plain = frame[~has_net].drop(columns=[c for c in ("net",) if c in frame.columns])
    if not plain.empty:
        table = l2l.per_problem(plain, step, measure)
        values.update({method: table[method] for method in table.columns})
    for method in frame.loc[has_net, "method"].unique():
        values[method] = net_kinds.net_values(frame[has_net], method, step, measure)
    return values


def best_baseline(values: Mapping, baselines) -> pd.Series:
    """The baseline (of ``baselines`` present in ``values``) with the lowest median, named."""
    present = [m for m in baselines if m in values]
    if not present:
        raise ValueError(f"none of the baselines {list(baselines)} is among {list(values)}")
    name = min(present, key=lambda m: float(np.median(np.asarray(values[m], dtype=float))))
    return pd.Series(np.asarray(values[name], dtype=float), name=name)


def _matrix(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def compare(values: Mapping, a: str, b: str, higher_is_better: bool = False) -> NetsComparison:
    """"``a`` beats ``b``": across nets when either is a kind (run j of one paired with run j of
    the other; a baseline is the same for every run)."""
    first, second = _matrix(values[a]), _matrix(values[b])
    if first.ndim == 1 and second.ndim == 2:
        first = np.broadcast_to(first, second.shape)
    if first.ndim == 2 and second.ndim == 2 and first.shape != second.shape:
        runs = min(first.shape[0], second.shape[0])
        first, second = first[:runs], second[:runs]
    if first.ndim == 1:
        raise ValueError(f"neither {a!r} nor {b!r} is a kind of learned net: use compare_paired")
    return compare_across_nets(first, second, a, b, higher_is_better)


ORDER = ("not reproduced", "mixed", "inconclusive", "reproduced")


def judge_kind(values: Mapping, learned: str, rivals=None, learned_should_be_lower: bool = True) -> NetsComparison:
    """"``learned`` beats every one of ``rivals``" (default: every other method), or with
    ``learned_should_be_lower=False`` "some rival beats it": the least (most) favourable of the
    comparisons decides, and among equal verdicts the rival with the lowest median."""
    rivals = [m for m in (rivals or values) if m != learned]
    if not rivals:
        raise ValueError(f"no rival for {learned!r} among {list(values)}")
    if learned_should_be_lower:
        results, pick = [compare(values, learned, r) for r in rivals], min
    else:
        results, pick = [compare(values, r, learned) for r in rivals], max
    rank = {v: i for i, v in enumerate(ORDER)}
    chosen = pick(rank[r.verdict] for r in results)
    tied = [r for r in results if rank[r.verdict] == chosen]
    decisive = min(tied, key=lambda r: r.median_b if learned_should_be_lower else r.median_a)
    # A net holds the claim alone when it beats every rival (or, reversed, when some rival beats it).
    nets = min(r.n_nets for r in results)
    every_or_some = all if learned_should_be_lower else any
    held = sum(every_or_some(r.per_net[j].verdict == "reproduced" for r in results) for j in range(nets))
    return decisive.holding_for(held)


def kind_outcome(judged: NetsComparison) -> str:
    """What happened, in plain words, before any verdict: who ended lower, pooled over nets and
    problems (medians and means, the first-named method's first), and for how many nets the
    claim "A lower" holds on its own."""
    a, b = judged.a, judged.b
    stats = {"median": {a: judged.median_a, b: judged.median_b}, "mean": {a: judged.mean_a, b: judged.mean_b}}

    def numbers(first: str, second: str, *which: str) -> str:
        return ", ".join(f"{'pooled ' if w == 'median' else ''}{w} {stats[w][first]:.3g} vs {stats[w][second]:.3g}"
                         for w in which)

    nets = f"{a} lower on both statistics, significantly, for {judged.held} of {judged.n_nets} nets alone"
    typical, average = judged.typical_says, judged.mean_says
    if typical == average == UNCLEAR:
        return f"{a} and {b} ended within noise of each other ({numbers(a, b, 'median', 'mean')}); {nets}"
    if typical == average:
        winner, loser = (a, b) if typical == BETTER else (b, a)
        return f"{winner} ended lower than {loser} ({numbers(winner, loser, 'median', 'mean')}); {nets}"
    if UNCLEAR not in (typical, average):
        typical_winner, average_winner = (a, b) if typical == BETTER else (b, a)
        return (f"{typical_winner} ended lower on the typical problem ({numbers(typical_winner, average_winner, 'median')}) "
                f"and {average_winner} on average ({numbers(average_winner, typical_winner, 'mean')}); {nets}")
    winner, loser = (a, b) if BETTER in (typical, average) else (b, a)
    where, clear = ("on the typical problem", "median") if typical != UNCLEAR else ("on average", "mean")
    return (f"{winner} ended lower than {loser} {where} ({numbers(winner, loser, clear)}; "
            f"{numbers(winner, loser, 'mean' if clear == 'median' else 'median')} within noise); {nets}")


def kind_ours(judged: NetsComparison) -> str:
    """The ledger's value: the outcome, then the pooled intervals and each net's verdict."""
    outcome = kind_outcome(judged)
    return (f"{outcome[0].upper()}{outcome[1:]}. Paired differences {judged.a} − {judged.b}, pooled over "
            f"{judged.n_nets} nets and {judged.n_problems} problems: mean {judged.mean_difference:+.3g} "
            f"[{judged.mean_lo:.3g}, {judged.mean_hi:.3g}], median {judged.median_difference:+.3g} "
            f"[{judged.median_lo:.3g}, {judged.median_hi:.3g}] (95% two-level bootstrap); per net: "
            f"{', '.join(judged.verdicts)}.")


# The verdicts chapters 1 and 2 published when every learned optimizer was one meta-trained net
# (the claims of the book at commit a01f7a8), kept in the checkout so each page can say what
# judging several nets changed.
ONE_NET_RESULTS = Path("book") / "results" / "one-net"


def one_net_changes(chapter: str, published: Mapping) -> pd.DataFrame:
    """Every claim of ``published`` (the chapter's findings by id) beside the verdict the book gave
    it with one net per kind: claim, verdict then, verdict now, and for how many trained nets the
    claim holds alone. Outside a checkout (the earlier results are not part of the package) one
    row says where they are."""
    from optbook.paths import find_project_root

    root = find_project_root()
    path = root / ONE_NET_RESULTS / f"{chapter}.json" if root else None
    if path is None or not path.is_file():
        return pd.DataFrame([{"claim": f"the previous edition's verdicts are in the book's repository, "
                                       f"{ONE_NET_RESULTS}/{chapter}.json"}])
    before = {entry["id"]: entry["verdict"] for entry in claims.load(path)}
    rows = []
    for claim_id, finding in published.items():
        if finding.claim is None or finding.claim.kind == "question":
            continue
        then = before.get(claim_id, "(new claim)")
        rows.append({"claim": claim_id, "one net": then, "several nets": finding.verdict,
                     "holds alone for": f"{finding.nets[0]} of {finding.nets[1]} nets" if finding.nets else "–",
                     "changed": "yes" if then != finding.verdict else ""})
    return pd.DataFrame(rows)
