"""The book's one rule for a claim that method A beats method B on paired runs.

Paired runs are A and B on the same problems (same seeds). The rule looks at two statistics of
the paired differences d_i = a_i − b_i, each with a 95% interval:

- the **mean** (what the papers' mean curves show), with a t-interval;
- the **median** (the typical problem), with the distribution-free sign-test interval: the
  order statistics d_(k) and d_(n+1−k), where k is the largest rank with
  P(Binomial(n, ½) ≤ k − 1) ≤ (1 − level)/2. A few badly conditioned problems move the mean
  but cannot move the median.

Each statistic says "A better" (interval entirely on A's side), "A worse" or "unclear". Both
better → reproduced; both worse → not reproduced; one better and one worse → mixed (the detail
says which way each went); worse on one and unclear on the other → not reproduced (nothing
supports the claim and one statistic refutes it); better on one and unclear on the other →
inconclusive (the claim needs both; one statistic alone must not decide). A run that diverged
(non-finite value) counts against the method that diverged: it is replaced by a value worse
than every finite one before the differences are taken, so it enters the mean as a large loss
and the median by its rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

__all__ = ["NetsComparison", "PairedComparison", "compare_across_nets", "compare_paired", "sign_test_interval"]

BETTER, WORSE, UNCLEAR = "better", "worse", "unclear"


@dataclass(frozen=True)
class PairedComparison:
    """The numbers behind one "A beats B" verdict (values in the data's own orientation).

    ``mean_a``/``mean_b`` and ``median_a``/``median_b`` are over problems (a diverged run enters
    as the penalty value); ``mean_difference`` and ``median_difference`` are of the paired
    differences A − B, with ``*_lo``/``*_hi`` their intervals; ``fraction_better`` is the
    fraction of problems on which A is strictly better than B.
    """

    a: str
    b: str
    n: int
    higher_is_better: bool
    level: float
    mean_a: float
    mean_b: float
    median_a: float
    median_b: float
    mean_difference: float
    mean_lo: float
    mean_hi: float
    median_difference: float
    median_lo: float
    median_hi: float
    fraction_better: float
    diverged_a: int
    diverged_b: int
    mean_says: str
    typical_says: str
    verdict: str
    detail: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def sign_test_interval(differences, level: float = 0.95) -> tuple[float, float]:
    """The distribution-free interval for the median of ``differences`` (order statistics of the
    sign test); (nan, nan) when there are too few values for any interval at ``level``."""
    values = np.sort(np.asarray(differences, dtype=float))
    n = len(values)
    alpha = 1 - level
    k = 0  # the largest rank k with P(B <= k - 1) <= alpha / 2
    while k < n and stats.binom.cdf(k, n, 0.5) <= alpha / 2:
        k += 1
    if k == 0:
        return math.nan, math.nan
    return float(values[k - 1]), float(values[n - k])


def _says(lo: float, hi: float) -> str:
    """What an interval of (A − B), oriented so that negative favours A, says."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return UNCLEAR
    return BETTER if hi < 0 else WORSE if lo > 0 else UNCLEAR


def _verdict(mean_says: str, typical_says: str) -> str:
    says = {mean_says, typical_says}
    if says == {BETTER}:
        return "reproduced"
    if says == {BETTER, WORSE}:
        return "mixed"
    if WORSE in says:
        return "not reproduced"
    return "inconclusive"


def _penalised(values: np.ndarray, worst: float) -> np.ndarray:
    return np.where(np.isfinite(values), values, worst)


def _oriented_and_penalised(a: np.ndarray, b: np.ndarray, higher_is_better: bool):
    """(sign, a', b'): both oriented so lower is better (sign −1 flips accuracies) and every
    diverged (non-finite) value replaced by one worse than every finite value of either, so a
    diverged run loses every pairing it is in."""
    sign = -1.0 if higher_is_better else 1.0
    oriented_a, oriented_b = sign * a, sign * b
    finite = np.concatenate([oriented_a[np.isfinite(oriented_a)], oriented_b[np.isfinite(oriented_b)]])
    worst = float(finite.max() + 10 * (np.ptp(finite) + abs(finite.max())) + 1) if len(finite) else 1.0
    return sign, _penalised(oriented_a, worst), _penalised(oriented_b, worst)


def _check(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one value per problem (1-d), got shape {array.shape}")
    return array


def compare_paired(
    a, b, a_name: str = "A", b_name: str = "B", higher_is_better: bool = False, level: float = 0.95,
    precision: int = 3,
) -> PairedComparison:
    """Judge "``a_name`` beats ``b_name``" from paired values (one per problem, same order).

    ``higher_is_better`` for accuracies; losses by default. Non-finite values are diverged runs
    and count against their method. Returns the means, medians, both intervals, the fraction of
    problems on which A is better, the verdict and a one-line ``detail`` for the ledger's notes.
    """
    a, b = _check("a", a), _check("b", b)
    if len(a) != len(b):
        raise ValueError(f"a and b must be paired (one value per problem each); got {len(a)} and {len(b)} values")
    if len(a) < 2:
        raise ValueError(f"a paired comparison needs at least 2 problems; got {len(a)}")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be between 0 and 1 (e.g. 0.95)")
    # Work with "lower is better" throughout; flip the sign of accuracies and flip back at the end.
    sign, oriented_a, oriented_b = _oriented_and_penalised(a, b, higher_is_better)
    differences = oriented_a - oriented_b
    n = len(differences)
    mean = float(differences.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * differences.std(ddof=1) / math.sqrt(n))
    mean_lo, mean_hi = mean - half, mean + half
    median = float(np.median(differences))
    median_lo, median_hi = sign_test_interval(differences, level)
    mean_says, typical_says = _says(mean_lo, mean_hi), _says(median_lo, median_hi)
    verdict = _verdict(mean_says, typical_says)

    def back(value: float) -> float:
        return sign * value

    def interval(lo: float, hi: float) -> tuple[float, float]:
        return (back(lo), back(hi)) if sign > 0 else (back(hi), back(lo))

    mean_lo_out, mean_hi_out = interval(mean_lo, mean_hi)
    median_lo_out, median_hi_out = interval(median_lo, median_hi)
    fraction_better = float((differences < 0).mean())
    result = dict(
        a=a_name, b=b_name, n=n, higher_is_better=higher_is_better, level=level,
        mean_a=back(float(oriented_a.mean())), mean_b=back(float(oriented_b.mean())),
        median_a=back(float(np.median(oriented_a))), median_b=back(float(np.median(oriented_b))),
        mean_difference=back(mean), mean_lo=mean_lo_out, mean_hi=mean_hi_out,
        median_difference=back(median), median_lo=median_lo_out, median_hi=median_hi_out,
        fraction_better=fraction_better,
        diverged_a=int((~np.isfinite(a)).sum()), diverged_b=int((~np.isfinite(b)).sum()),
        mean_says=mean_says, typical_says=typical_says, verdict=verdict,
    )
    return PairedComparison(**result, detail=_detail(result, precision))


_WORDS = {  # how each statistic's reading is said, for losses and for accuracies
    (False, BETTER): "lower", (False, WORSE): "higher", (True, BETTER): "higher", (True, WORSE): "lower",
}


def _reading(result: dict, says: str, what: str) -> str:
    if says == UNCLEAR:
        return f"{what} unclear"
    return f"{_WORDS[(result['higher_is_better'], says)]} {what}"


def _detail(r: dict, precision: int) -> str:
    """One line for the ledger: the headline reading, then the numbers behind it."""
    g = f".{precision}g"
    quantity = "accuracy" if r["higher_is_better"] else "loss"
    reading = (f"{_reading(r, r['mean_says'], 'mean')}, {_reading(r, r['typical_says'], f'typical {quantity}')}")
    diverged = ""
    if r["diverged_a"] or r["diverged_b"]:
        diverged = f"; diverged runs: {r['a']} {r['diverged_a']}, {r['b']} {r['diverged_b']}"
    pct = round(100 * r["level"])
    return (
        f"{r['verdict']} ({r['a']} vs {r['b']}: {reading}). "
        f"Mean {r['mean_a']:{g}} vs {r['mean_b']:{g}}, paired difference {r['mean_difference']:+{g}} "
        f"[{r['mean_lo']:{g}}, {r['mean_hi']:{g}}]; median {r['median_a']:{g}} vs {r['median_b']:{g}}, "
        f"median paired difference {r['median_difference']:+{g}} [{r['median_lo']:{g}}, {r['median_hi']:{g}}] "
        f"({pct}% intervals); {r['a']} better on {r['fraction_better']:.0%} of {r['n']} problems{diverged}."
    )


# --------------------------------------------------------------------------- across trained nets


HELD_TEXT = "reproduced for {held} of {nets} nets alone"


@dataclass(frozen=True)
class NetsComparison:
    """"A beats B" for a *kind* of learned optimizer, from several meta-training runs.

    ``per_net``: the book's rule on each run's nets alone (run j of A against run j of B, or
    against B's single set of runs); ``held``: on how many runs it says reproduced. The pooled
    reading treats runs and problems as two random factors crossed with each other (every net
    ran on every problem): the mean of all paired differences and the median of them (the
    typical net on the typical problem), each with a 95% interval from a two-level bootstrap
    that redraws runs and problems independently, then the same verdict rule as for one net.
    """

    a: str
    b: str
    n_nets: int
    n_problems: int
    per_net: tuple[PairedComparison, ...]
    held: int
    mean_a: float
    mean_b: float
    median_a: float
    median_b: float
    mean_difference: float
    mean_lo: float
    mean_hi: float
    median_difference: float
    median_lo: float
    median_hi: float
    mean_says: str
    typical_says: str
    verdict: str
    detail: str
    fraction_better: float = math.nan  # of all (net, problem) pairs, where A is strictly better

    @property
    def verdicts(self) -> list[str]:
        return [r.verdict for r in self.per_net]

    def holding_for(self, held: int) -> "NetsComparison":
        """The same comparison, stating that a wider claim (e.g. "beats every baseline", of which
        this is the deciding comparison) holds for ``held`` of the nets alone."""
        old = HELD_TEXT.format(held=self.held, nets=self.n_nets)
        return replace(self, held=held, detail=self.detail.replace(old, HELD_TEXT.format(held=held, nets=self.n_nets)))


def compare_across_nets(
    a, b, a_name: str = "A", b_name: str = "B", higher_is_better: bool = False, level: float = 0.95,
    resamples: int = 4000, seed: int = 0, precision: int = 3,
) -> NetsComparison:
    """Judge "``a_name`` beats ``b_name``" when A (and optionally B) is a kind of learned net.

    ``a``: values [nets, problems], one row per meta-training run; ``b``: the same shape (run j
    of B pairs with run j of A) or one row per problem (a hand-designed baseline, the same for
    every run). Non-finite values are diverged runs and count against their method, as in
    :func:`compare_paired`. The bootstrap is seeded, so a verdict is reproducible.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"a must be [nets, problems] (2-d), got shape {a.shape}")
    if b.ndim == 1 and len(b) == a.shape[1]:
        b = np.broadcast_to(b, a.shape)
    if b.shape != a.shape:
        raise ValueError(f"b must have one value per problem ({a.shape[1]}) or a's shape {a.shape}; got {b.shape}")
    nets, problems = a.shape
    if nets < 2 or problems < 2:
        raise ValueError(f"a comparison across nets needs at least 2 nets and 2 problems; got {nets} x {problems}")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be between 0 and 1 (e.g. 0.95)")
    if resamples < 100:
        raise ValueError(f"resamples={resamples!r} is too few for a {level:.0%} interval; use at least 100")
    per_net = tuple(compare_paired(a[j], b[j], a_name, b_name, higher_is_better, level, precision)
                    for j in range(nets))
    sign, penalised_a, penalised_b = _oriented_and_penalised(a, b, higher_is_better)
    differences = penalised_a - penalised_b
    pooled = {"mean_a": sign * float(penalised_a.mean()), "mean_b": sign * float(penalised_b.mean()),
              "median_a": sign * float(np.median(penalised_a)), "median_b": sign * float(np.median(penalised_b))}
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, nets, size=(resamples, nets))
    columns = rng.integers(0, problems, size=(resamples, problems))
    drawn = differences[rows[:, :, None], columns[:, None, :]].reshape(resamples, -1)
    tail = (1 - level) / 2 * 100
    mean_lo, mean_hi = np.percentile(drawn.mean(axis=1), [tail, 100 - tail])
    median_lo, median_hi = np.percentile(np.median(drawn, axis=1), [tail, 100 - tail])
    mean, median = float(differences.mean()), float(np.median(differences))
    mean_says, typical_says = _says(mean_lo, mean_hi), _says(median_lo, median_hi)
    verdict = _verdict(mean_says, typical_says)

    def interval(lo: float, hi: float) -> tuple[float, float]:
        return (sign * lo, sign * hi) if sign > 0 else (sign * hi, sign * lo)

    (mean_lo, mean_hi), (median_lo, median_hi) = interval(mean_lo, mean_hi), interval(median_lo, median_hi)
    held = sum(r.verdict == "reproduced" for r in per_net)
    g = f".{precision}g"
    reading = (f"{_reading({'higher_is_better': higher_is_better}, mean_says, 'mean')}, "
               f"{_reading({'higher_is_better': higher_is_better}, typical_says, 'typical value')}")
    detail = (f"{verdict} across {nets} trained nets ({a_name} vs {b_name}: {reading}); {HELD_TEXT.format(held=held, nets=nets)} "
              f"(per net: {', '.join(r.verdict for r in per_net)}). Pooled over nets and "
              f"{problems} problems: mean paired difference {sign * mean:+{g}} [{mean_lo:{g}}, {mean_hi:{g}}], "
              f"median {sign * median:+{g}} [{median_lo:{g}}, {median_hi:{g}}] "
              f"({round(100 * level)}% two-level bootstrap intervals, nets and problems redrawn).")
    return NetsComparison(a_name, b_name, nets, problems, per_net, held, **pooled, mean_difference=sign * mean,
                          mean_lo=mean_lo, mean_hi=mean_hi,
                          median_difference=sign * median, median_lo=median_lo, median_hi=median_hi,
                          mean_says=mean_says, typical_says=typical_says, verdict=verdict, detail=detail,
                          fraction_better=float((differences < 0).mean()))
