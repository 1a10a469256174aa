"""Chapter 2's findings: the HNN-optimizer project's claims (its table, its abstract, its README)
and the book's own questions about them, declared once, and the functions that judge them.

The judgements chapter 1 makes too (a learned net against tuned baselines, mean losses as text)
come from :mod:`optbook.studies.learning_to_learn_findings`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optbook import claims
from optbook.comparison import BETTER, UNCLEAR, PairedComparison
from optbook.findings import Claim, Finding, numbers
from optbook.learned import HNNUpdate, PortHamiltonianUpdate
from optbook.studies import hamiltonian as ham
from optbook.studies import learning_to_learn as l2l
from optbook.studies.learning_to_learn_findings import means_text

__all__ = ["weights_table", "training_findings", "published_findings", "fair_findings", "scale_findings",
           "physics_findings", "momentum_findings"]

OPT_ML_SOURCE = "AfoninAndrei/OPT-ML, main.ipynb (its stored outputs)"
PUBLISHED = {
    "quadratic": Claim(
        "published-quadratic",
        "Trained and run as published, the HNN optimizer ends lower than the LSTM and every baseline on 10-d quadratics "
        "(loss at step {steps}).", paper="HNN 0.23, LSTM 0.25, best baseline (momentum SGD) 0.33",
        source=OPT_ML_SOURCE, reference="official code", gist="as published, the HNN wins on quadratics"),
    "mnist-sigmoid": Claim(
        "published-mnist",
        "Trained and run as published, the LSTM ends lower than the HNN on the MNIST MLP (sigmoid) at step {steps}.",
        paper="LSTM 0.29, HNN 0.38, best baseline (NAG) 0.33", source=OPT_ML_SOURCE, reference="official code",
        gist="as published, the LSTM beats the HNN on MNIST"),
    "mnist-relu": Claim(
        "published-relu",
        "Trained on sigmoid units and run unchanged on ReLU units, the HNN transfers and the LSTM fails: the HNN ends "
        "lower than the LSTM at step {steps}.", paper="HNN 0.36, LSTM 2.31, best baseline (Adam) 0.34",
        source=OPT_ML_SOURCE, reference="official code",
        gist="as published, the HNN transfers to ReLU units where the LSTM fails"),
}
# The fair protocol, as every fair and physics claim's notes state it.
FAIR_NOTES = ("{n_eval} held-out problems; every net under chapter 1's LSTM protocol (unroll 20, same training "
              "problems, clipping, validation; quadratics: the same 3-value meta-lr search, kept by validation), each "
              "run at its training output multiplier; baselines at chapter 0's tuned rates.")
FAIR_SENTENCE = "Under one protocol for both, the HNN ends lower than the LSTM ({title}, step {steps})."
# The tasks as the bottom line names them (their titles carry formulas and layer sizes).
TASK_NAMES = {"quadratic": "quadratics", "mnist-sigmoid": "MNIST", "mnist-relu": "ReLU units"}
FAIR = {
    key: Claim(claim_id, FAIR_SENTENCE, paper=published, source=OPT_ML_SOURCE, kind="ours", reference="official code",
               gist=f"under one protocol, the HNN beats the LSTM on {TASK_NAMES[key]}")
    for key, claim_id, published in (
        ("quadratic", "fair-quadratic", "HNN 0.23 vs LSTM 0.25 (uneven protocol)"),
        ("mnist-sigmoid", "fair-mnist", "HNN 0.38 vs LSTM 0.29 (uneven protocol)"),
        ("mnist-relu", "fair-relu", "HNN 0.36 vs LSTM 2.31 (LSTM at 10x its training output multiplier)"),
    )
}
HNN_BEATS_TUNED = Claim(
    "hnn-beats-tuned-baselines-quadratic",
    "The HNN optimizer outperforms many basic optimizers on the artificial task (quadratics, step {steps}): judged "
    "against each of chapter 0's tuned baselines in turn.", paper="abstract: 'outperforms many basic optimizers' on the artificial task",
    source="Timofeev et al. 2021, arXiv 2111.00565, abstract", gist="the HNN beats tuned baselines on quadratics")
SCALE_ARTEFACT = Claim(
    "lstm-relu-scale-artefact",
    "The LSTM's chance-level ReLU curve in OPT-ML's table is a scale artefact: run at its training output multiplier "
    "it ends lower than at ten times it (step {steps}). Only the plateau at chance is tested: at its own scale it still "
    "loses to a tuned baseline on ReLU (chapter 1's transfer-relu-fails).",
    paper="LSTM 2.31 at output multiplier 1.0 after training at 0.1 (chance level ln 10 = 2.30)",
    source=OPT_ML_SOURCE, kind="ours", reference="official code", gist="the LSTM's chance-level ReLU curve is a scale artefact")
PHYSICS = Claim(
    "physics-helps",
    "The structure-true port-Hamiltonian net ends lower than the published HNN architecture ({title}, step {steps}).",
    paper=None, source="our question: AfoninAndrei/OPT-ML's final src/hamiltonian.py has no energy function (its "
                       "first notebook, OPT_ML.ipynb, had one)", kind="ours",
    reference=None, gist="the port-Hamiltonian net beats the HNN on {where}")
MOMENTUM = Claim(
    "hnn-learns-momentum",
    "The README's picture: the trained HNN moves like a heavy ball: under a constant gradient its step grows as "
    "momentum SGD's does, rather than staying the same as SGD's (its growth closer to momentum's than to SGD's, "
    "on a log scale).",
    paper="README: 'the Heavy Ball method considers the gradient descent procedure as a sliding of a heavy ball'",
    source="AfoninAndrei/OPT-ML, README.md", kind="ours", reference="official code", gist="the HNN learns momentum")


def weights_table(config: Mapping) -> pd.DataFrame:
    """Trainable weights of the published HNN and of the port-Hamiltonian net, per problem."""
    def count(net) -> int:
        return sum(p.numel() for p in net.parameters())

    settings = config["port_hamiltonian"]
    return pd.DataFrame({
        "quadratics": {"published HNN": count(HNNUpdate(preprocess_p=None)),
                       "port-Hamiltonian": count(PortHamiltonianUpdate(**settings["quadratic"]))},
        "MNIST (log/sign inputs)": {"published HNN": count(HNNUpdate(preprocess_p=10.0)),
                                    "port-Hamiltonian": count(PortHamiltonianUpdate(**settings["mnist"]))},
    }).rename_axis("weights")


def _minutes(trained) -> str:
    return f"{trained.info['train_seconds'] / 60:.1f}"


def training_findings(published: Mapping, searches: Mapping, fair: Mapping, data_name: str) -> Finding:
    """What meta-training cost and which meta-learning rate each search kept (``training.*``)."""
    ours = [published["quadratic"], published["mnist"], *searches["hnn"].values(),
            *searches["port-hamiltonian"].values(), fair["mnist"]["hnn"], fair["mnist"]["port-hamiltonian"]]
    return numbers(
        "training", data=data_name, time_published_quadratic=_minutes(published["quadratic"]),
        time_published_mnist=_minutes(published["mnist"]), time_fair_hnn_mnist=_minutes(fair["mnist"]["hnn"]),
        time_fair_ph_mnist=_minutes(fair["mnist"]["port-hamiltonian"]),
        time_fair_lstm_mnist=_minutes(fair["mnist"]["lstm"]),
        time_all_ours=f"{sum(t.info['train_seconds'] for t in ours) / 60:.0f}",
        **{f"lr_{net}": f"{ham.best_of_search(searches[net]):g}" for net in ham.NETS})


def _outcome(judged: PairedComparison, means: bool = True) -> str:
    """What happened, in plain words: which of the two methods ended lower (losses), on the typical
    problem and on average, each pair of numbers in the order of the sentence. Said before the
    verdict's numbers, so that "not reproduced" never hides who did better. The typical problem
    is judged on the median of the paired differences; the two methods' own medians are quoted
    where they point the same way, that median difference where they do not. ``means=False``
    leaves out the means where the typical problem tells the story (a short clause)."""
    a, b = judged.a, judged.b
    values = {"median": {a: judged.median_a, b: judged.median_b}, "mean": {a: judged.mean_a, b: judged.mean_b}}

    def numbers(first: str, second: str, *which: str) -> str:
        """``first``'s and ``second``'s medians and/or means; for a ``first`` that is lower on the
        typical problem but not by its own median, the median paired difference instead."""
        said = []
        for w in which:
            if w == "median" and judged.typical_says != UNCLEAR and values[w][first] > values[w][second]:
                difference = judged.median_difference if first == a else -judged.median_difference
                said.append(f"median paired difference {first} − {second} {difference:+.3g}")
            else:
                said.append(f"{w} {values[w][first]:.3g} vs {values[w][second]:.3g}")
        return ", ".join(said)

    both = ("median", "mean") if means else ("median",)
    typical, average = judged.typical_says, judged.mean_says
    if typical == average == UNCLEAR:
        return f"{a} and {b} ended within noise of each other: {numbers(a, b, *both)}"
    if typical == average:
        winner, loser = (a, b) if typical == BETTER else (b, a)
        return f"{winner} ended lower than {loser}: {numbers(winner, loser, *both)}"
    if UNCLEAR not in (typical, average):  # one statistic each way
        typical_winner, average_winner = (a, b) if typical == BETTER else (b, a)
        return (f"{typical_winner} ended lower on the typical problem, "
                f"{numbers(typical_winner, average_winner, 'median')}, and {average_winner} on average, "
                f"{numbers(average_winner, typical_winner, 'mean')}")
    clear, other = ("median", "mean") if typical != UNCLEAR else ("mean", "median")
    winner, loser = (a, b) if BETTER in (typical, average) else (b, a)
    where = "on the typical problem" if clear == "median" else "on average"
    text = f"{winner} ended lower than {loser} {where}, {numbers(winner, loser, clear)}"
    if other in both:
        text += f", while their {other}s are within noise of each other, {numbers(winner, loser, other)}"
    return text


def _ours(judged: PairedComparison) -> str:
    """Our value for the ledger: what happened in plain words, then the paired differences behind
    the verdict (the numbers of :attr:`PairedComparison.detail`, without repeating the means)."""
    outcome = _outcome(judged)
    diverged = (f"; diverged runs: {judged.a} {judged.diverged_a}, {judged.b} {judged.diverged_b}"
                if judged.diverged_a or judged.diverged_b else "")
    return (f"{outcome[0].upper()}{outcome[1:]}. Paired differences {judged.a} − {judged.b}: mean "
            f"{judged.mean_difference:+.3g} [{judged.mean_lo:.3g}, {judged.mean_hi:.3g}], median "
            f"{judged.median_difference:+.3g} [{judged.median_lo:.3g}, {judged.median_hi:.3g}] "
            f"({round(100 * judged.level)}% intervals); {judged.a} lower on {judged.fraction_better:.0%} of "
            f"{judged.n} problems{diverged}.")


def _comparison_text(judged: PairedComparison) -> str:
    return f"{_outcome(judged)}; {judged.a} lower on {judged.fraction_better:.0%} of problems"


def _mean(values: pd.Series) -> str:
    return f"{values.replace(np.inf, np.nan).mean():.3g}"


def published_findings(as_published: Mapping[str, pd.DataFrame], task_keys: Mapping[str, str], steps: int,
                       n_eval: int, lstm_scale: float, data_name: str) -> list[Finding]:
    """OPT-ML's table re-run as published: the HNN against the LSTM and the baselines at the rates
    OPT-ML copied from an earlier PyTorch re-implementation (and ``evaluation.n_eval``, the number
    of held-out problems every comparison uses)."""
    values = {task_keys[title]: l2l.per_problem(frame, steps) for title, frame in as_published.items()}
    quad, mnist, relu = values["quadratic"], values["mnist-sigmoid"], values["mnist-relu"]
    judged = {"quadratic": l2l.judge(quad, learned="HNN"),
              "mnist-sigmoid": claims.compare_paired(mnist["LSTM"], mnist["HNN"], "LSTM", "HNN"),
              "mnist-relu": claims.compare_paired(relu["HNN"], relu["LSTM"], "HNN", "LSTM")}
    lstm_note = f"LSTM at output multiplier {lstm_scale:g} as OPT-ML ran it. "
    notes = {"quadratic": f"{n_eval} held-out problems; baselines at the learning rates OPT-ML copied from an "
                          "earlier PyTorch re-implementation (chenwydj's). ",
             "mnist-sigmoid": f"{data_name}; {n_eval} held-out problems; " + lstm_note,
             "mnist-relu": f"{data_name}; {n_eval} held-out problems; " + lstm_note}
    extra = {"quadratic": {"hnn_mean": _mean(quad["HNN"]), "lstm_mean": _mean(quad["LSTM"])},
             "mnist-sigmoid": {"lstm_mean": _mean(mnist["LSTM"])}, "mnist-relu": {"lstm_mean": _mean(relu["LSTM"])}}
    return [numbers("evaluation", n_eval=f"{n_eval}")] + [
        PUBLISHED[key].judged(r.verdict, _ours(r), notes=notes[key] + f"Means: {means_text(values[key])}.", steps=steps,
                              verdict=r.verdict, text=_comparison_text(r), plainly=_outcome(r, means=False),
                              against=r.b, **extra[key])
        for key, r in judged.items()]


def _fair_notes(n_eval: int, title: str, data_name: str) -> str:
    return FAIR_NOTES.format(n_eval=n_eval) + (f" {data_name}." if "MNIST" in title else "")


def fair_findings(fair_values: Mapping[str, pd.DataFrame], task_keys: Mapping[str, str], steps: int, n_eval: int,
                  data_name: str) -> list[Finding]:
    """The fair comparison (one protocol for every net): the HNN against the LSTM per task, the HNN
    against the tuned baselines, and the abstract's claim on quadratics."""
    found, tuned = [], {}
    for title, values in fair_values.items():
        key = task_keys[title]
        judged = claims.compare_paired(values["HNN"], values["LSTM"], "HNN", "LSTM")
        tuned[key] = against = l2l.judge(values.drop(columns=["LSTM", "port-Hamiltonian"]), learned="HNN")
        found.append(FAIR[key].judged(
            judged.verdict, _ours(judged),
            notes=_fair_notes(n_eval, title, data_name)
            + f" HNN against the tuned baselines: {against.verdict}; {_outcome(against)}.",
            title=title, steps=steps, verdict=judged.verdict, text=_comparison_text(judged),
            plainly=_outcome(judged, means=False),
            tuned=f"{against.verdict} ({_outcome(against, means=False)})", tuned_verdict=against.verdict))
    found.append(_beats_each_baseline(fair_values, task_keys, steps, n_eval))
    return found


def _beats_each_baseline(fair_values: Mapping[str, pd.DataFrame], task_keys: Mapping[str, str], steps: int,
                         n_eval: int) -> Finding:
    """The abstract's "outperforms many basic optimizers" on quadratics, one paired comparison per
    tuned baseline; the book's rule for a claim on several cases decides (all: reproduced, at least
    half: partly, fewer: not)."""
    (values,) = [v for title, v in fair_values.items() if task_keys[title] == "quadratic"]
    baselines = [column for column in values.columns if column not in ("HNN", "LSTM", "port-Hamiltonian")]
    judged = {b: claims.compare_paired(values["HNN"], values[b], "HNN", b) for b in baselines}
    beaten = [b for b, j in judged.items() if j.verdict == "reproduced"]
    lost = [b for b, j in judged.items() if j.verdict == "not reproduced"]
    level = [b for b in baselines if b not in beaten and b not in lost]
    said = "; ".join(part for part in (
        f"the HNN beats {', '.join(beaten)}" if beaten else "",
        f"loses to {', '.join(lost)}" if lost else "",
        f"is level with {', '.join(level)}" if level else "") if part)
    ours = said + ". " + " ".join(f"{b}: {_outcome(j, means=False)}." for b, j in judged.items())
    return HNN_BEATS_TUNED.judged(
        claims.verdict_from_fraction(len(beaten) / len(baselines)), ours,
        notes=FAIR_NOTES.format(n_eval=n_eval) + " Each baseline at chapter 0's tuned rate, paired with the HNN on "
        "the same problems.", steps=steps, beaten=f"{len(beaten)} of {len(baselines)}", said=said)


def scale_findings(scale_runs: pd.DataFrame, trained_name: str, large_name: str, steps: int, n_eval: int,
                   data_name: str) -> Finding:
    """Our question: is the LSTM's ReLU failure in OPT-ML's table its tenfold output multiplier?"""
    values = l2l.per_problem(scale_runs, steps)
    judged = claims.compare_paired(values[trained_name], values[large_name], trained_name, large_name)
    chance = float(np.log(10))
    return SCALE_ARTEFACT.judged(
        judged.verdict, _ours(judged),
        notes=f"{data_name}; {n_eval} held-out problems. Medians: as trained {values[trained_name].median():.3g}, "
              f"x10 {values[large_name].median():.3g}, HNN {values['HNN'].median():.3g}; chance level {chance:.3g}.",
        steps=steps, verdict=judged.verdict,
        text=f"median {judged.median_a:.3g} at its training multiplier against {judged.median_b:.3g} at ten times it "
             f"(chance level ln 10 = {chance:.2f})")


def physics_findings(fair_values: Mapping[str, pd.DataFrame], task_keys: Mapping[str, str], steps: int, n_eval: int,
                     data_name: str) -> list[Finding]:
    """Our question, per task: does the structure-true port-Hamiltonian net end lower than the HNN?"""
    found = []
    for title, values in fair_values.items():
        judged = claims.compare_paired(values["port-Hamiltonian"], values["HNN"], "port-Hamiltonian", "HNN")
        where = TASK_NAMES.get(task_keys[title], title)
        found.append(PHYSICS.with_id(task_keys[title], title=title, steps=steps, where=where).judged(
            judged.verdict, _ours(judged), notes=_fair_notes(n_eval, title, data_name),
            verdict=judged.verdict, text=_comparison_text(judged), plainly=_outcome(judged, means=False)))
    return found


def momentum_findings(responses: Mapping[str, pd.DataFrame], task_keys: Mapping[str, str], probe_steps: int,
                      steps: int) -> Finding:
    """The README's heavy ball: under a constant gradient, is the HNN's step's growth closer to
    momentum SGD's (the same probe, chapter 0's tuned rate) or to SGD's (1, a constant step)?
    Judged per task on log growth, so 3x is as far from 1x as from 9x."""
    slopes = {title: ham.response_slopes(frame, probe_steps - 1) for title, frame in responses.items()}
    growth = {title: float(slopes[title].loc["HNN", "growth of the step"]) for title in slopes}
    heavy = {title: float(slopes[title].loc["Momentum", "growth of the step"]) for title in slopes}
    closer_to_momentum = {title: abs(np.log(growth[title] / heavy[title])) < abs(np.log(growth[title]))
                          for title in growth}
    fields = {"n_steps": f"{steps}", "probe_steps": f"{probe_steps}"}
    for title, g in growth.items():
        fields[f"growth_{task_keys[title]}"] = f"{g:.2g}"
        fields[f"momentum_growth_{task_keys[title]}"] = f"{heavy[title]:.2g}"
        fields[f"slope_{task_keys[title]}"] = f"{slopes[title].loc['HNN', 'slope at step 0']:.2f}"
    grows = "; ".join(f"{title}: HNN {growth[title]:.2g}x, momentum SGD {heavy[title]:.2g}x"
                      for title in growth)
    if all(closer_to_momentum.values()):
        plainly = "The HNN's step builds up like momentum SGD's"
    elif any(closer_to_momentum.values()):
        plainly = "The HNN's step builds up like momentum SGD's on some tasks only, and stays like SGD's on the others"
    else:
        plainly = "The HNN's step stays closer to SGD's constant step than to momentum SGD's build-up"
    return MOMENTUM.judged(
        claims.verdict_from_fraction(sum(closer_to_momentum.values()) / len(closer_to_momentum)),
        f"{plainly}: over {probe_steps} steps of a constant gradient the step grows {grows} (SGD: 1x).",
        notes=f"Fair-protocol HNN and momentum SGD (0.9, chapter 0's tuned rate) under the same probe: the "
              f"gradient held at the median probed value for {probe_steps} steps, each probed value its own "
              "tensor (a per-tensor normalisation sees that value alone). Per task, the HNN's growth is compared "
              "with momentum's and with SGD's (1) on a log scale; the closer one is what it moves like.",
        plainly=plainly, **fields)
