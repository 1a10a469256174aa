"""Chapter 4's findings: the claims of Leimkuhler, Matthews and Vlaar (2019) and the book's own
questions about them, declared once, and the functions that judge them from the chapter's runs.

Each ``*_findings`` function takes what one experiment of the chapter returned and gives its
judged claims and the numbers (and generated sentences) its prose cites (:mod:`optbook.findings`).
Every "A beats B" is the book's paired rule on runs from the same seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from optbook import claims
from optbook.findings import Claim, Finding, numbers
from optbook.studies import thermodynamic as thermo

__all__ = ["fig8_findings", "fig10_findings", "trig_findings", "fig1_findings", "heat_findings",
           "sensitivity_findings", "initialisation_findings", "aspects_findings", "protocol_findings"]

PAPER = "Leimkuhler et al. 2019"
FIG8_BEST = "AdLaLa (γ=0.5)"  # Fig. 8's best method, and AdLaLa's setting on the 2-turn spirals throughout

FIG8_MEAN_ACCURACY = Claim(
    "fig8-mean-accuracy",
    "Mean test accuracy over 100 runs, 2-turn spirals, 20 nodes, 2 % subsampling, 10K steps (Fig. 8; "
    "the problem's protocol from Fig. 14's caption)",
    paper=", ".join(f"{m} {p:.1%}" for m, p in thermo.FIG8_PAPER_ACCURACY.items()),
    source=f"{PAPER} Fig. 8 caption (protocol: Fig. 14 caption)", gist="Fig. 8's mean accuracies")
FIG8_ADLALA_BEST = Claim(
    "fig8-adlala-best",
    "On the 2-turn spirals AdLaLa (γ=0.5) reaches a higher test accuracy than SGD, Adam, SGLD and AdLaLa (γ=10) (Fig. 8)",
    paper="AdLaLa (γ=0.5) 93.4 % vs at most 85.5 % for the others", source=f"{PAPER} Fig. 8", gist="AdLaLa is best on the 2-turn spirals")
SGLD_SIGMA_READING = Claim(
    "sgld-sigma-reading",
    "Which reading of SGLD's σ matches Fig. 8's SGLD mean (78 %): θ ← θ − h∇L + σR (σ per step) rather than σ√h R?",
    paper=f"SGLD {thermo.FIG8_PAPER_ACCURACY['SGLD']:.0%} (h = 0.1, σ = 0.1)", source=f"{PAPER} Fig. 8 caption",
    kind="question", gist="Which reading of SGLD's σ fits Fig. 8")
FIG10_BEATS_TUNED = Claim(
    "fig10-adlala-beats-tuned",
    "4-turn spirals: AdLaLa at fixed parameters beats SGD, SGLD (σ = 0.005 … 0.1) and Adam over several step sizes (Fig. 10)",
    paper="AdLaLa above every bar (figure)", source=f"{PAPER} Fig. 10", gist="AdLaLa beats tuned methods on the 4-turn spirals")
TRIG_BEST = Claim(
    "trig",
    "On planar trigonometric data (our reconstruction of Eq. 17) {scheme} reaches a higher test accuracy than "
    "SGD, Adam and SGLD (Figs. 11, 12)",
    paper="{scheme} above the others (figures; values not in the captions)", source=f"{PAPER} Figs. 11, 12", gist="{scheme} is best on trigonometric data")
FIG1_TEMPERATURE = Claim(
    "fig1-temperature",
    "BAOAB's classifier improves as the temperature rises from 1e-8 to 1e-5 (Fig. 1)",
    paper="improves substantially with τ (test accuracies shown in the figure, not readable)", source=f"{PAPER} Fig. 1", gist="BAOAB improves with temperature")
FIG1_MINIBATCH_HEAT = Claim(
    "fig1-minibatch-heat",
    "At 2 % subsampling, the heat of minibatch gradient noise swamps the temperatures of Fig. 1 (τ ≤ 1e-5), so τ "
    "cannot shape BAOAB's classifier there",
    paper=None, source="our measurement (issue: why Fig. 1 is flat)", kind="ours", reference=None, gist="minibatch noise swamps Fig. 1's temperatures")
FIG15_SENSITIVITY = Claim(
    "fig15-sensitivity",
    "AdLaLa gives good test accuracy on the 4-turn spirals over a range of τ₁ and σ_A (Fig. 15)",
    paper="heatmap of mean accuracies over 10 runs (values not in the caption)", source=f"{PAPER} Fig. 15", gist="AdLaLa is insensitive to τ₁ and σ_A")
FIG14_VARIANCE = Claim(
    "fig14-variance",
    "Over 100 runs AdLaLa's test accuracy varies less between runs than SGD's and Adam's (Fig. 14)",
    paper="lower variance for AdLaLa (figure; values not in the caption)", source=f"{PAPER} Fig. 14", gist="AdLaLa varies less between runs")
FIG14_INITIALISATION = Claim(
    "fig14-initialisation",
    "AdLaLa's accuracy depends less on the initial weights than Adam's (Figs. 9, 14: Gaussian against PyTorch's default)",
    paper="Fig. 14 draws both with 0.01·N(0,1) and PyTorch's initialisation (figure; values not in the caption)",
    source=f"{PAPER} Figs. 9, 14", gist="AdLaLa depends less on the initial weights")
FIG9_FOUR_TURN = Claim(
    "fig9-four-turn-adlala-vs-adam",
    "4-turn spirals: AdLaLa finds better classifiers than Adam (Figs. 7, 9: test accuracy 0.8 vs 0.67 at 10K steps)",
    paper="AdLaLa 0.80 vs Adam 0.67 (Fig. 7, one run); notebook: 92.9 % vs 68.6 % after 80K steps",
    source=f"{PAPER} Figs. 7, 9; official notebook output", gist="AdLaLa beats Adam on the 4-turn spirals")
FASTER_MORE_ACCURATE_MORE_ROBUST = Claim(
    "faster-more-accurate-more-robust",
    "Thermodynamic parameterization (AdLaLa) is (i) faster, (ii) more accurate and (iii) more robust than SGD and Adam",
    paper="claimed in the abstract, on spirals, trigonometric data and MNIST", source=f"{PAPER}, abstract",
    reference=None, gist="AdLaLa is faster, more accurate and more robust")
ASPECTS = ("faster", "more accurate", "more robust")


def pct(value) -> str:
    return f"{value:.1%}"


def points(value) -> str:
    return f"{100 * value:+.1f}"


def fig8_findings(two_frame: pd.DataFrame, two_final: pd.DataFrame, versus_paper: pd.DataFrame,
                  sgld_readings: pd.DataFrame, n_runs: int) -> list[Finding]:
    """Fig. 8 on the 2-turn spirals: our means against the paper's (values and order), AdLaLa
    (γ=0.5) against each other method, and which reading of SGLD's σ the paper's mean matches."""
    order, swapped = thermo.order_agreement(two_final["mean"], thermo.FIG8_PAPER_ACCURACY)
    within = float((~versus_paper["beyond"]).mean())
    higher = int((versus_paper["difference"] > 0).sum())
    beyond = versus_paper[versus_paper["beyond"]]
    verdict = ("reproduced" if within == 1 and order == 1
               else "not reproduced" if within < 0.5 and order < 0.5 else "partly reproduced")
    swap_text = ("; ".join(f"{hi} above {lo} in the paper, below it here" for hi, lo in swapped)
                 if swapped else "the paper's order of the five methods holds")
    summary = (f"{higher} of {len(versus_paper)} of our means are higher than the paper's; "
               + (f"{len(beyond)} by more than the interval ("
                  + ", ".join(f"{m} {points(d)} points" for m, d in beyond["difference"].items()) + ")"
                  if len(beyond) else "none by more than the interval")
               + f"; {swap_text}")
    mean_accuracy = FIG8_MEAN_ACCURACY.judged(
        verdict,
        ", ".join(f"{m} {pct(two_final.loc[m, 'mean'])} ({points(versus_paper.loc[m, 'difference'])} ± "
                  f"{100 * versus_paper.loc[m, 'half-width']:.1f})" for m in thermo.FIG8_PAPER_ACCURACY) + ". " + summary,
        notes=f"Judged part by part: the values (the paper's mean inside ours ± the 95 % interval of the difference of "
              f"two {n_runs}- and {thermo.FIG8_PAPER_RUNS}-run means: {within:.0%} of the methods) and the "
              f"order (pairs of methods in the paper's order: {order:.0%}); both whole: reproduced, both under "
              "half: not reproduced, otherwise partly reproduced.")
    rivals = [m for m in thermo.FIG8_PAPER_ACCURACY if m != FIG8_BEST]
    best = thermo.beats(thermo.final_values(two_frame), FIG8_BEST, rivals)
    decider = thermo.least_favourable(best)
    adlala_best = FIG8_ADLALA_BEST.judged(
        decider.verdict,
        f"AdLaLa (γ=0.5) {pct(two_final.loc[FIG8_BEST, 'mean'])} vs "
        + ", ".join(f"{m} {pct(two_final.loc[m, 'mean'])}" for m in rivals)
        + f"; against each: {thermo.verdict_counts(best)}",
        notes=f"The book's paired rule against each rival on the same {n_runs} seeds; the least favourable "
              f"comparison decides: {decider.detail}")
    per_step = thermo.FIG8_SGLD_PER_STEP.label
    closer = sgld_readings["difference"].abs().idxmin()
    reading = {"SGLD": "σ√h R (our reading)", per_step: "σR, σ the noise of one step"}
    sigma = SGLD_SIGMA_READING.answered(
        "σR (σ the noise of one step): its mean is the closer to the paper's"
        if closer == per_step and not sgld_readings.loc[per_step, "beyond"]
        else "σ√h R, the book's reading: its mean is the closer to the paper's" if closer == "SGLD"
        else "Neither: σR is the closer, but the paper's mean lies outside its interval",
        "; ".join(f"{reading[m]}: {pct(sgld_readings.loc[m, 'ours'])} ({points(sgld_readings.loc[m, 'difference'])} ± "
                  f"{100 * sgld_readings.loc[m, 'half-width']:.1f} points)" for m in sgld_readings.index),
        notes=f"One ensemble per reading on the same {n_runs} seeds. The answer is the reading whose mean is "
              "closer to the paper's, if the paper's mean lies within its interval.")
    sentence = (f"All of this is over {n_runs} paired runs. {summary[0].upper() + summary[1:]}: against "
                f"the paper, the verdict is **{verdict}**. AdLaLa (γ = 0.5) against each other method of Fig. 8: "
                f"{thermo.verdict_counts(best)}. SGLD's σ read as σ√h R gives {pct(sgld_readings.loc['SGLD', 'ours'])}, "
                f"read as the noise of one step (σR) {pct(sgld_readings.loc[per_step, 'ours'])}, against the paper's "
                f"{pct(thermo.FIG8_PAPER_ACCURACY['SGLD'])}: the "
                + ("per-step reading" if closer == per_step else "σ√h reading") + " is the closer one.")
    facts = numbers("fig8", sentence=sentence, runs=n_runs, verdict=verdict, summary=summary,
                    best_verdict=decider.verdict)
    return [mean_accuracy, adlala_best, sigma, facts]


def four_turn_findings(four_final: pd.DataFrame, four_judged) -> Finding:
    """Adam against AdLaLa on the 4-turn spirals (``four-turn.*``)."""
    return numbers("four-turn", adlala=pct(four_final.loc["AdLaLa", "mean"]), adam=pct(four_final.loc["Adam", "mean"]),
                   verdict=four_judged.verdict, better=f"{four_judged.fraction_better:.0%}")


def fig10_findings(sweep_judged: Sequence, adlala: float, rivals: pd.DataFrame, n_runs: int, steps: int) -> Finding:
    """Fig. 10: AdLaLa at fixed parameters against every setting of SGD, SGLD and Adam."""
    wins = sum(r.verdict == "reproduced" for r in sweep_judged)
    decider = thermo.least_favourable(sweep_judged)
    counts = thermo.verdict_counts(sweep_judged)
    return FIG10_BEATS_TUNED.judged(
        claims.verdict_from_fraction(wins / len(sweep_judged)),
        f"AdLaLa {pct(adlala)}; best rival {rivals['mean'].idxmax()} {pct(rivals['mean'].max())}; "
        f"against each setting: {counts}",
        notes=f"The book's paired rule against each setting on the same {n_runs} runs × {steps} steps; verdict from the "
              "fraction of settings beaten (all: reproduced, at least half: partly). SGLD at h = 0.1 (the caption gives "
              f"no step size). Least favourable: {decider.detail}",
        counts=counts)


def trig_findings(trig_final: pd.DataFrame, trig_judged: Mapping, a_values: Sequence, n_runs: int,
                  steps: int) -> list[Finding]:
    """Figs. 11-12 on the reconstructed trigonometric data: LOL, then AdLaLa, against SGD, Adam
    and SGLD; the least favourable comparison decides at each a, the a values combine part by part."""
    found = []
    for scheme in ("LOL", "AdLaLa"):
        per_a = {a: thermo.least_favourable(trig_judged[(scheme, a)]) for a in a_values}
        verdict = thermo.combine_parts([r.verdict for r in per_a.values()])
        found.append(TRIG_BEST.with_id(f"{scheme.lower()}-best", scheme=scheme).judged(
            verdict,
            "Reconstructed data: " + "; ".join(
                f"a={a}: {scheme} {pct(trig_final.loc[(a, scheme), 'mean'])} vs "
                + ", ".join(f"{m} {pct(trig_final.loc[(a, m), 'mean'])}" for m in ("SGD", "Adam", "SGLD"))
                + f" ({r.verdict}; decided by {r.b})" for a, r in per_a.items()),
            notes=f"RECONSTRUCTED DATA: Eq. 17 was not recovered (see the chapter). {n_runs} runs, {steps} steps. The "
                  "book's paired rule against each of SGD, Adam, SGLD; the least favourable decides at each a; the a "
                  "values are combined part by part. " + " ".join(f"a={a}: {r.detail}" for a, r in per_a.items()),
            verdict=verdict))
    return found


def fig1_findings(temps_frame: pd.DataFrame, temp_final: pd.DataFrame, paper_temps: Sequence, n_runs: int,
                  steps: int) -> Finding:
    """Fig. 1: the hottest of the paper's temperatures against the coldest, paired over runs; an
    inconclusive result whose mean interval excludes a gain of 1 point counts as not reproduced."""
    values = thermo.final_values(temps_frame)
    hot, cold = paper_temps[-1].label, paper_temps[0].label
    judged = claims.compare_paired(values[hot], values[cold], hot, cold, higher_is_better=True)
    excluded = judged.verdict == "inconclusive" and judged.mean_hi < 0.01
    verdict = "not reproduced" if excluded else judged.verdict
    means = temp_final.loc[[s.label for s in paper_temps], "mean"]
    return FIG1_TEMPERATURE.judged(
        verdict,
        ", ".join(f"τ={s.hyper['tau']:g}: {temp_final.loc[s.label, 'mean']:.2%}" for s in paper_temps)
        + f"; τ=1e-5 vs 1e-8: {points(judged.mean_difference)} [{points(judged.mean_lo)}, "
          f"{points(judged.mean_hi)}] points",
        notes=f"Reconstructed trigonometric data; {n_runs} runs × {steps} steps (paper: 50K). The book's paired rule "
              "for the hottest against the coldest temperature; an inconclusive result whose mean interval excludes a "
              f"gain of 1 point or more counts as not reproduced. {judged.detail}",
        verdict=verdict, range=f"{100 * (means.max() - means.min()):.1f}")


def heat_findings(temperatures: pd.DataFrame, temp_final: pd.DataFrame, temp_settings: Sequence, n_paper_temps: int,
                  taus: Sequence[float], xi_probes: pd.DataFrame, xi_lines: Mapping[str, float], two_steps: int,
                  n_runs: int, steps: int) -> Finding:
    """Our question: is the minibatch noise, not τ, what heats BAOAB at Fig. 1's temperatures?
    The measured kinetic temperature against τ plus the predicted noise heat, and AdLaLa's ξ."""
    at_paper = temperatures[temperatures["tau"] <= max(taus)]
    hottest_paper = at_paper[at_paper["tau"] == max(taus)].set_index("layer")
    noise_share = (1 - at_paper["tau"] / at_paper["measured"]).min()  # the heat not from τ, least over layers and τ
    hottest_share = (1 - hottest_paper["tau"] / hottest_paper["measured"]).min()
    ratios = at_paper["measured"] / at_paper["predicted"]
    coldest = temperatures[temperatures["tau"] == min(taus)].set_index("layer")
    heat_over_tau = float((coldest["measured"] / max(taus)).min())  # noise heat alone vs the hottest τ
    hotter = temperatures[temperatures["tau"] > max(taus)]
    first_hotter = hotter[hotter["tau"] == hotter["tau"].min()].set_index("layer") if len(hotter) else None
    xi_late = xi_probes[xi_probes["step"] > two_steps // 2][["ξ W1", "ξ b1"]].mean()
    heat_holds = noise_share > 0.5 and ratios.between(0.5, 2).all()
    xi_predicted = list(xi_lines.values())
    paper_temps = temp_settings[:n_paper_temps]
    sentence = (
        f"With τ = {min(taus):g} the kinetic temperature is all minibatch heat: "
        + " and ".join(f"{coldest.loc[layer, 'measured']:.2g} in {layer}" for layer in coldest.index)
        + f", {heat_over_tau:.3g} times the hottest temperature of Fig. 1 or more, and the prediction "
          f"τ + h²σ_g²/(1 − e^(−2γh)) accounts for it (measured over predicted {ratios.min():.2f} to "
          f"{ratios.max():.2f} over Fig. 1's temperatures). Even at τ = {max(taus):g} "
          f"{hottest_share:.0%} or more of each layer's kinetic temperature is not τ's, so "
        + ("**at 2 % subsampling τ cannot matter at Fig. 1's temperatures**: the gradient noise, not τ, sets how "
           "hot BAOAB runs" if heat_holds else "the minibatch heat does not explain the measurement fully")
        + (f". τ begins to count only above them: at τ = {first_hotter['tau'].iloc[0]:g} it is "
           + " and ".join(f"{first_hotter.loc[layer, 'tau'] / first_hotter.loc[layer, 'measured']:.0%} of {layer}'s"
                          for layer in first_hotter.index)
           + f" kinetic temperature, and the mean accuracy is "
             f"{pct(temp_final.loc[temp_settings[n_paper_temps].label, 'mean'])} against "
             f"{pct(temp_final.loc[paper_temps[0].label, 'mean'])} at τ = {min(taus):g}"
           if first_hotter is not None else "")
        + f". AdLaLa's thermostat absorbs the same kind of heat by raising its friction: ξ settles at "
          f"{xi_late['ξ W1']:.3g} (W1) and {xi_late['ξ b1']:.3g} (b1) instead of σ_A²/(2τ₁) = {xi_predicted[0]:g}, "
          f"against {xi_predicted[1]:.3g} (W1) and {xi_predicted[2]:.3g} (b1) predicted from the measured noise.")
    return FIG1_MINIBATCH_HEAT.judged(
        "reproduced" if heat_holds else "not reproduced",
        f"kinetic temperature with τ = {min(taus):g} (all minibatch heat): "
        + ", ".join(f"{coldest.loc[layer, 'measured']:.2g} in {layer}" for layer in coldest.index)
        + f", {heat_over_tau:.3g}× the hottest τ of Fig. 1 or more; at τ = {max(taus):g}, "
          f"{hottest_share:.0%} or more of it is not τ's; measured/predicted (τ + h²σ_g²/(1 − e^(−2γh))) "
          f"{ratios.min():.2f} to {ratios.max():.2f} for τ ≤ {max(taus):g}",
        notes=f"{n_runs} runs × {steps} steps per τ; kinetic temperature pᵀp/N per layer averaged "
              "over the second half; σ_g² measured at the final parameters over one epoch of minibatches. Reproduced: "
              "at every τ of Fig. 1 more than half of each layer's kinetic temperature is not τ's, and τ plus the "
              "predicted noise heat is within a factor 2 of the measurement. AdLaLa (γ=0.5) on the 2-turn "
              f"spirals: mean ξ over the second half {xi_late['ξ W1']:.3g} (W1), {xi_late['ξ b1']:.3g} (b1), against "
              f"σ_A²/(2τ₁) = {xi_predicted[0]:g} without gradient noise.",
        sentence=sentence)


def sensitivity_findings(task, sens: pd.DataFrame, adam_frame: pd.DataFrame, seeds: Sequence[int], steps: int,
                         device="cpu") -> Finding:
    """Fig. 15: every (τ₁, σ_A) cell of AdLaLa against Adam on the same runs (the cells' runs come
    back from the result cache)."""
    adam_values = thermo.final_values(adam_frame)["Adam"]
    adam_mean = thermo.final_accuracy(adam_frame).loc["Adam", "mean"]
    judged = []
    for _, cell in sens.iterrows():
        setting = thermo.FIG15_ADLALA.replace(tau1=cell["tau1"], sigma_A=cell["sigma_A"])
        values = thermo.final_values(thermo.train(task, setting, seeds, steps, steps, device=device)["frame"])["AdLaLa"]
        judged.append(claims.compare_paired(values, adam_values, "AdLaLa", "Adam", higher_is_better=True))
    above = sum(r.verdict == "reproduced" for r in judged) / len(judged)
    return FIG15_SENSITIVITY.judged(
        claims.verdict_from_fraction(above),
        f"{pct(sens['mean'].min())} … {pct(sens['mean'].max())} over {len(sens)} cells; against Adam's {pct(adam_mean)} "
        f"on the same runs: {thermo.verdict_counts(judged)}",
        notes=f"{len(seeds)} runs × {steps} steps per cell, h = 0.1, γ₂ = 0.03, τ₂ = 1e-8, ε = 0.1. "
              "Verdict: the fraction of cells that beat Adam (h = 0.005) by the book's paired rule on the same runs.")


def initialisation_findings(init_frames: Mapping, default_init: str, four_judged, four_cfg: Mapping,
                            init_cfg: Mapping, n_two_runs: int, n_four_runs: int, n_four_init_runs: int) -> list[Finding]:
    """Figs. 9 and 14: AdLaLa's spread over runs against SGD's and Adam's, how much the Gaussian
    initialisations move each method, and Fig. 9's own pairing on the 4-turn spirals."""
    spread_checks = []
    for (problem, init), frame in init_frames.items():
        if problem != "2-turn":
            continue
        values = thermo.final_values(frame)
        for rival in ("SGD", "Adam"):
            if rival in values:
                spread_checks.append((init, rival, thermo.spread_difference(values, FIG8_BEST, rival)))
    spread_verdicts = [{"lower": "reproduced", "higher": "not reproduced", "unclear": "inconclusive"}[c["says"]]
                       for _, _, c in spread_checks]
    variance = FIG14_VARIANCE.judged(
        thermo.combine_parts(spread_verdicts),
        "; ".join(f"{init}, vs {rival}: std {100 * c['std']:.1f} vs {100 * c['rival_std']:.1f} points "
                  f"(difference [{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}])" for init, rival, c in spread_checks),
        notes=f"AdLaLa (γ=0.5) against SGD and Adam at each initialisation, on the same {n_two_runs} seeds: the "
              "difference of the standard deviations of the final test accuracy with a paired bootstrap 95 % interval "
              "(runs resampled jointly); below 0: holds. Parts combined: all hold → reproduced, some → partly. "
              f"Fig. 14's SGD used h = 0.25; ours h = {thermo.SGD.hyper['lr']:g} (Fig. 8's).")
    shift = {}
    for problem in ("2-turn", "4-turn"):
        base = thermo.final_values(init_frames[(problem, default_init)])
        for std in thermo.GAUSSIAN_STDS:
            other = thermo.final_values(init_frames[(problem, f"N(0, {std:g}²)")])
            for method in ("Adam", FIG8_BEST if problem == "2-turn" else "AdLaLa"):
                shift[(problem, std, method)] = claims.compare_paired(
                    other[method], base.loc[other.index, method], f"{method}, N(0, {std:g}²)", f"{method}, default",
                    higher_is_better=True)
    rows = pd.DataFrame([{"problem": p, "std": s, "method": "AdLaLa" if m.startswith("AdLaLa") else m,
                          "shift": r.mean_difference, "moves": r.verdict != "inconclusive"}
                         for (p, s, m), r in shift.items()])
    pivot = rows.pivot_table(index=["problem", "std"], columns="method", values="shift")
    steadier = (pivot["AdLaLa"].abs() < pivot["Adam"].abs())
    paper_init = claims.compare_paired(thermo.final_values(init_frames[("4-turn", "N(0, 0.01²)")])["AdLaLa"],
                                       thermo.final_values(init_frames[("4-turn", "N(0, 0.5²)")])["Adam"],
                                       "AdLaLa N(0, 0.01²)", "Adam N(0, 0.5²)", higher_is_better=True)
    initialisation = FIG14_INITIALISATION.judged(
        claims.verdict_from_fraction(float(steadier.mean())),
        "; ".join(f"{p}, N(0, {s:g}²) − default: Adam {points(row['Adam'])}, AdLaLa {points(row['AdLaLa'])} points"
                  for (p, s), row in pivot.iterrows()),
        notes="Per problem and Gaussian: the paired mean change of the final test accuracy from the default "
              "initialisation, same seeds and data; AdLaLa steadier where its |change| is the smaller. Verdict from the "
              f"fraction of the {len(steadier)} cases. 4-turn: first {n_four_init_runs} runs, "
              f"{init_cfg['four_turn_steps']} steps. " + " ".join(r.detail for r in shift.values()))
    four_turn = FIG9_FOUR_TURN.judged(
        thermo.combine_parts([four_judged.verdict, paper_init.verdict]),
        f"PyTorch initialisation: AdLaLa {pct(four_judged.mean_a)} vs Adam {pct(four_judged.mean_b)} after "
        f"{four_cfg['steps']} steps ({four_judged.verdict}); Fig. 9's initialisations (Adam N(0, 0.5²), AdLaLa "
        f"N(0, 0.01²)): {pct(paper_init.mean_a)} vs {pct(paper_init.mean_b)} after "
        f"{init_cfg['four_turn_steps']} steps ({paper_init.verdict})",
        notes=f"The book's paired rule on {n_four_runs} runs (PyTorch initialisation) and on {n_four_init_runs} "
              "runs (Fig. 9's initialisations); parts combined. Not Fig. 9's protocol: 100 nodes (500), p = 0.5 (1), "
              "5 % subsampling (2 %), Fig. 10's AdLaLa h = 0.25, γ = 0.1, τ₂ = 1e-4, ε = 0.05 (Fig. 9: h = 0.1, "
              f"γ₂ = 0.03, τ₂ = 1e-5, ε = 0.1), no averaging of the classifier. {four_judged.detail} "
              f"{paper_init.detail}")
    sentence = ("Against PyTorch's default, the Gaussian initial weights move the final mean accuracy by "
                + "; ".join(f"{points(row['Adam'])} points for Adam and {points(row['AdLaLa'])} for AdLaLa "
                            f"(N(0, {s:g}²), {p} spirals)" for (p, s), row in pivot.iterrows())
                + f". AdLaLa is the steadier of the two in {int(steadier.sum())} of {len(steadier)} cases. "
                  f"With Fig. 9's own pairing on the 4-turn spirals (Adam from N(0, 0.5²), AdLaLa from N(0, 0.01²)) "
                  f"AdLaLa reaches {pct(paper_init.mean_a)} against {pct(paper_init.mean_b)}: "
                  f"**{paper_init.verdict}**.")
    return [variance, initialisation, four_turn, numbers("initialisation", sentence=sentence)]


def aspects_findings(aspects: pd.DataFrame, problem_names: Sequence[str]) -> Finding:
    """The abstract's "faster, more accurate, more robust", each word a paired measurement against
    SGD and Adam; a rival at chance varies little because it learned nothing, which is said."""
    judged = {aspect: aspects[aspects[aspect] != "no common level"] for aspect in ASPECTS}
    counts = {aspect: (int((judged[aspect][aspect] == "reproduced").sum()), len(judged[aspect])) for aspect in ASPECTS}
    not_robust = aspects[aspects["more robust"] != "reproduced"]
    chance_explains = bool(len(not_robust)) and bool(not_robust["rival at chance"].all())
    robust_sentence = (
        ("every comparison where AdLaLa is not the more robust has a rival at chance ("
         + ", ".join(f"{r['against']} on {r['problem']}: {pct(r['rival accuracy'])}, std "
                     f"{100 * r['rival std']:.1f} points" for _, r in not_robust.iterrows())
         + "): a method that learns nothing varies little, so these say nothing about robustness")
        if chance_explains else
        ("AdLaLa is the more robust in every comparison" if not len(not_robust) else
         f"AdLaLa is not the more robust in {len(not_robust)} comparisons, "
         f"{int(not_robust['rival at chance'].sum())} of them against a rival at chance"))
    return FASTER_MORE_ACCURATE_MORE_ROBUST.judged(
        claims.verdict_from_fraction(float(np.mean([k / n for k, n in counts.values() if n]))),
        "; ".join(f"{aspect}: {k}/{n} comparisons" for aspect, (k, n) in counts.items())
        + ("; every comparison where AdLaLa is not more robust has a rival at chance ("
           + ", ".join(f"{r['against']} on {r['problem']} {pct(r['rival accuracy'])}" for _, r in not_robust.iterrows())
           + ")" if chance_explains else ""),
        notes=f"Comparisons: AdLaLa vs SGD and vs Adam on {', '.join(problem_names)} (trigonometric: our "
              "reconstruction; no MNIST). More accurate and faster: the book's paired rule (faster: steps to 90 % of "
              "the way from chance to the lower final mean; not judged where a rival's final mean is within 5 points "
              "of chance); more robust: paired bootstrap interval of the std difference. Verdict from the mean "
              "fraction reproduced over the three aspects.",
        **{aspect.replace(" ", "_"): f"{k} of {n}" for aspect, (k, n) in counts.items()},
        robust_sentence=robust_sentence)


def protocol_findings(run_counts: Mapping[str, int], speedups: pd.DataFrame) -> Finding:
    """The run counts and the ensemble's speed-up the prose cites (``protocol.*``)."""
    speed = speedups.set_index(["problem", "optimizer"])["speedup"]
    return numbers(
        "protocol",
        run_counts=f"{run_counts['two']} runs on the 2-turn and {run_counts['four']} on the 4-turn spirals, "
                   f"{run_counts['trig']} on the trigonometric data, {run_counts['temperatures']} per temperature, "
                   f"{run_counts['sweep']} per setting of Fig. 10 and {run_counts['sensitivity']} per cell of Fig. 15, "
                   f"{run_counts['four_init']} for the 4-turn initialisations",
        speedup_range=f"{speed.min():.0f}× to {speed.max():.0f}×")
