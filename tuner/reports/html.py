"""`tuner report`: one self-contained HTML file that answers a study's questions with evidence.

plotly.js is inlined once in the page's head (every chart is a div plus a call into it), so the
file opens offline and anywhere it is copied.
"""

from __future__ import annotations

import html
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import baseline_of, best_of, objectives_of, primary_view, trial_rows
from .charts import label_units
from ..format import fmt as _fmt
from ..storage import engine_of, trial_id
from ..storage.read import PLOT_TRIALS, plottable
from ..storage.views import view_name
from ..format import params_text as _params_text
from ..selection import directions_of
from .html_best import _best_section, _front_section, _metric
from .html_parts import _e, _fig_html, _note, _table, _units, _why

if TYPE_CHECKING:
    import optuna

    from .importance import Importance

TOP = 3  # parameters shown in slices and effects

# (id, heading): the page's sections, in order; tests check each heading renders.
SECTIONS = [
    ("best", "Best vs default configuration"),
    ("front", "Pareto front"),
    ("history", "Optimization history"),
    ("importance", "Parameter importance"),
    ("effects", "Would raising a knob help?"),
    ("slices", "Slices of the top parameters"),
    ("contour", "Contour of the top pair"),
    ("parallel", "Parallel coordinates"),
    ("trials", "Trials"),
    ("profiles", "Profiles"),
]

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
p.why { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .5em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }
th { background: #f5f5f5; } td.text, th.text { text-align: left; }
tr.FAIL td { background: #fff0f0; } tr.best td { background: #efffef; }
tr.PRUNED td { background: #f6f0ff; } tr.infeasible td { color: #999; }
.helps { color: #0a7a0a; font-weight: bold; } .hurts { color: #b00; font-weight: bold; }
.flat, .unclear { color: #666; font-weight: bold; }
.note { background: #fffbe6; border-left: 4px solid #e6c200; padding: .4em .8em; }
nav a { margin-right: 1em; }
"""


def profile_summaries(study: "optuna.Study", n: int = 8) -> list[dict[str, Any]]:
    """The top functions (CPU when there is a CPU profile) of the best and the default trials,
    from the stored profile summaries; [] when none were collected."""
    from ..storage.tables import profiles_of
    from .profiles import trial_top

    engine = engine_of(study)
    if engine is None:
        return []
    picks = [("best", best_of(study)), ("default", baseline_of(study))]
    rows: list[dict[str, Any]] = []
    for label, t in picks:
        if t is None or any(r["trial"].endswith(f"#{t['number']}") for r in rows):
            continue
        try:
            trial = next(x for x in study.get_trials(deepcopy=False) if x.number == t["number"])
            types = {r["sample_type"] for r in profiles_of(engine, [trial_id(trial)])}
            if not types:
                continue
            # CPU first: pprof's "cpu", folded stacks' "samples"; else whatever was stored.
            sample = next((k for k in ("cpu", "samples") if k in types), sorted(types)[0])
            top = trial_top(study, engine, t["number"], sample_type=sample, n=n)
        except Exception:  # no profile tables in this storage: nothing to show
            continue
        for f in top["functions"]:
            share = f"{100 * f['flat'] / top['total']:.1f}%" if top["total"] else "-"
            rows.append({"trial": f"{label} #{t['number']}", "sample": sample,
                         "unit": top["unit"],
                         "function": f["name"], "flat": f["flat"], "flat %": share,
                         "cum": f["cum"]})
    return rows


def write_report(study: "optuna.Study", path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(study), encoding="utf-8")
    return out


def render(study: "optuna.Study") -> str:
    from plotly.offline import get_plotlyjs

    from .importance import study_importance

    # With several objectives, the one-number answers are about the first objective.
    view = primary_view(study)
    imp = study_importance(view)
    order = _param_order(view, imp)
    plots, sampled_from = plottable(view)
    sample = _note(f"Charts show a random sample of {PLOT_TRIALS:,} of the {sampled_from:,} "
                   f"complete trials, so they stay quick in a browser.") if sampled_from else ""
    body = {
        "best": _best_section(study),
        "front": _front_section(study),
        "history": sample + _history_section(plots),
        "importance": _importance_section(imp),
        "effects": _effects_section(view, order),
        "slices": sample + _slices_section(plots, order),
        "contour": sample + _contour_section(plots, order),
        "parallel": _parallel_section(*_fewer(view, plots, sampled_from), order),
        "trials": _trials_section(study),
        "profiles": _profiles_section(study),
    }
    objectives = objectives_of(study)
    goal = ", ".join(f"{o['direction']} the {o['name']}" if o["name"] == "score"
                     else f"{o['direction']} {o['name']}" for o in objectives)
    if len(objectives) > 1:
        goal += (f" (Pareto front; history, importance, effects and slices are about "
                 f"{objectives[0]['name']})")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    nav = " ".join(f'<a href="#{k}">{html.escape(h)}</a>' for k, h in SECTIONS)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>tuner report: {_e(study.study_name)}</title>",
        f"<style>{CSS}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>tuner report: study {_e(study.study_name)}</h1>",
        f'<p class="why">Goal: {_e(goal)}. {len(study.trials)} trial(s). '
        f"Generated {stamp}.</p>",
        f"<nav>{nav}</nav>",
    ]
    for key, heading in SECTIONS:
        parts.append(f'<section id="{key}"><h2>{html.escape(heading)}</h2>{body[key]}</section>')
    parts.append("</body></html>")
    return "\n".join(parts)


# --- sections ----------------------------------------------------------------------------


def _history_section(study: "optuna.Study") -> str:
    from optuna.visualization import plot_optimization_history

    return _why("Each complete trial's score in the order they ran, and the best so far: a line "
                "that stopped improving long ago means more trials of the same search are "
                "unlikely to help.") + _plot(lambda: plot_optimization_history(study), study)


def _importance_section(groups: list["Importance"]) -> str:
    import plotly.graph_objects as go

    out = [_why("Two questions, two answers. <b>Overall</b> (fANOVA over the complete trials): "
                "how much of the score's variation each parameter explains; a small share "
                "barely matters in the range searched. <b>Among the best</b> (PED-ANOVA, the "
                "chart optuna-dashboard draws): what still sets the best 10% of trials apart "
                "from the rest; a knob the search has settled (every good trial has it right) "
                "scores low there however much it matters overall. Shares sum to 1 in each.")]
    for g in groups:
        if g.workload:
            out.append(f"<h3>workload {_e(_params_text(g.workload))}</h3>")
        if not g.shares:
            out.append(_note(g.note or "no answer"))
            continue
        names = list(g.shares)[::-1]
        fig = go.Figure()
        for label, shares in ((f"among the best ({g.best_over})", g.among_best),
                              (f"overall ({g.over})", g.shares)):
            if shares:
                fig.add_trace(go.Bar(x=[shares.get(n, 0.0) for n in names], y=names,
                                     orientation="h", name=label, textposition="outside",
                                     text=[f"{shares.get(n, 0.0):.0%}" for n in names]))
        fig.update_layout(title="Parameter importance", barmode="group",
                          xaxis_title="share", xaxis_range=[0, 1.15],
                          legend={"orientation": "h", "y": -0.2, "traceorder": "reversed"},
                          height=160 + 60 * len(names), margin={"l": 140})
        out.append(_fig_html(fig))
        rows = [[_e(n), f"{g.shares[n]:.1%}",
                 f"{g.among_best[n]:.1%}" if n in g.among_best else "-"] for n in names[::-1]]
        out.append(_table(["parameter", "overall (fANOVA)", "among the best (PED-ANOVA)"],
                          rows, raw=True))
        if g.constant:
            out.append(_note("never varied, so no evidence: " + ", ".join(map(_e, g.constant))))
    return "".join(out)


def _effects_section(study: "optuna.Study", order: list[str]) -> str:
    from .effect import study_effect

    out = [_why("For the most important parameters: would raising it from the best "
                "configuration's value help? Judged from trials that differ from the best mainly "
                "in that parameter, against the noise of repeated or similar configurations. "
                "<code>tuner effect PARAM</code> shows the evidence; "
                "<code>--measure</code> runs the comparison for real.")]
    if not order:
        return out[0] + _note("no complete trial yet")
    rows = []
    for name in order[:TOP]:
        try:
            e = study_effect(study, name)
        except Exception as exc:  # one parameter's trouble must not cost the whole report
            rows.append([_e(name), "", _e(f"no answer: {exc}")])
            continue
        v = e.verdict
        answer = f'<span class="{v.answer}">{v.answer}</span>'
        if v.leaning:
            answer += f" (leaning {v.leaning})"
        because = _e(v.because) + (f"<br><i>{_e(e.edge.hint)}</i>" if e.edge else "")
        rows.append([f"{_e(name)} from {_e(e.show(name, v.base))}", answer, because])
    return out[0] + _table(["raising", "verdict", "evidence"], rows, raw=True,
                           text_cols={0, 1, 2})


def _slices_section(study: "optuna.Study", order: list[str]) -> str:
    from optuna.visualization import plot_slice

    why = _why("Score against each top parameter's value, one dot per complete trial (darker "
               "dots ran later). A clear trend or valley means the parameter matters; a flat "
               "cloud means it does not.")
    if not order:
        return why + _note("no complete trial yet")
    return why + _plot(lambda: plot_slice(study, params=order[:TOP]), study)


def _contour_section(study: "optuna.Study", order: list[str]) -> str:
    from optuna.visualization import plot_contour

    why = _why("The score over the two most important parameters together: it shows whether "
               "they interact (the best value of one depends on the other).")
    if len(order) < 2:
        return why + _note("needs two parameters that varied")
    return why + _plot(lambda: plot_contour(study, params=order[:2]), study)


PARALLEL_TRIALS = 300  # lines: past a few hundred the chart is one colour and slow to draw


def _fewer(study: Any, plots: Any, sampled_from: int | None) -> tuple[Any, str]:
    """The study the parallel-coordinates chart draws, and the note saying it is a sample."""
    total = sampled_from or len(plots.trials)
    if total <= PARALLEL_TRIALS:
        return plots, ""
    fewer, _ = plottable(study, PARALLEL_TRIALS)
    return fewer, _note(f"A random sample of {PARALLEL_TRIALS:,} of the {total:,} complete "
                        f"trials: more lines than that make one colour and a slow page.")


def _parallel_section(study: "optuna.Study", note: str, order: list[str]) -> str:
    from optuna.visualization import plot_parallel_coordinate

    why = _why("Every complete trial as one line through its parameter values, coloured by "
               "score: follow the best-coloured lines to see which combinations win.")
    if not order:
        return why + _note("no complete trial yet")
    return why + note + _plot(lambda: plot_parallel_coordinate(study, params=order), study)


TABLE_ROWS = 1_000


def _trials_section(study: "optuna.Study") -> str:
    rows = trial_rows(study)
    units = _units(study)
    params = list(dict.fromkeys(k for r in rows for k in r["params"]))
    best = best_of(study)
    front = {f["number"] for f in (best or {}).get("front") or []}
    fails = sum(r["state"] == "FAIL" for r in rows)
    pruned = sum(r["state"] == "PRUNED" for r in rows)
    infeasible = sum(r["feasible"] is False for r in rows)
    objectives = [o["name"] for o in objectives_of(study)]
    metrics = list(dict.fromkeys(k for r in rows for k in (r["metrics"] or {})
                                 if k != "score" and "." not in k and k not in objectives))
    constrained = any(r["feasible"] is not None for r in rows)
    why = _why(f"Every trial: {len(rows)} in all, {fails} failed, {pruned} pruned (stopped "
               f"early: their progress was clearly worse than earlier trials'), {infeasible} "
               f"infeasible. A failed or pruned trial says why; its "
               f"logs are in results/{_e(study.study_name)}/&lt;trial&gt;/ (and in "
               f"<code>tuner dashboard</code>).")
    head = ["#", "state", *objectives, *metrics, *(["feasible"] if constrained else []),
            *params, "time", "reason"]
    body = []
    classes = []
    if len(rows) > TABLE_ROWS:  # a page of 10,000 rows helps nobody: the best, and where the rest are
        sign = -1 if directions_of(study)[0] == "maximize" else 1

        def first(r: dict[str, Any]) -> Any:
            return (r["values"] or [r["value"]])[0]

        scored = sorted((r for r in rows if first(r) is not None), key=lambda r: sign * first(r))
        why += _note(f"The {TABLE_ROWS:,} best of {len(rows):,} trials, best first: all of them "
                     f"are in `tuner trials --json` and the SQL view "
                     f"{view_name(study.study_name)}.")
        rows = scored[:TABLE_ROWS]
    for r in rows:
        secs = f"{r['seconds']:.1f}s" if r["seconds"] is not None else "-"
        values = r["values"] if r["values"] is not None else [r["value"]]
        values = values + [None] * (len(objectives) - len(values))
        kept = [] if not constrained else [
            "-" if r["feasible"] is None else "yes" if r["feasible"] else
            "no: " + ", ".join(k for k, ok in (r["constraints"] or {}).items() if not ok)]
        body.append([str(r["number"]), r["state"], *(_fmt(v) for v in values),
                     *(_metric(r["metrics"], m) for m in metrics), *kept,
                     *(_fmt(r["params"].get(p), units.get(p)) for p in params), secs,
                     r["reason"] or ""])
        is_best = best is not None and (r["number"] == best["number"] or r["number"] in front)
        classes.append("best" if is_best else "infeasible" if r["feasible"] is False
                       else r["state"])
    text_cols = {1, len(head) - 1} | ({2 + len(objectives) + len(metrics)} if constrained
                                      else set())
    return why + _table(head, body, text_cols=text_cols, row_classes=classes)


def _profiles_section(study: "optuna.Study") -> str:
    why = _why("Where the CPU goes in the best and the default configurations, from the "
               "profiles the containers wrote (as <code>tuner profile top --trial N</code>; "
               "<code>tuner profile diff A B</code> compares two trials).")
    rows = profile_summaries(study)
    if not rows:
        return why + _note("no profiles collected")
    head = list(rows[0])
    return why + _table(head, [[_fmt(r.get(h)) for h in head] for r in rows],
                        text_cols=set(range(len(head))))


# --- helpers -----------------------------------------------------------------------------


def _param_order(study: "optuna.Study", groups: list["Importance"]) -> list[str]:
    """Parameters by importance (the first workload's), then the rest that varied."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = list(dict.fromkeys(k for t in complete for k in t.params))
    varied = [n for n in names if len({repr(t.params.get(n)) for t in complete}) > 1]
    ranked = list(groups[0].shares) if groups and groups[0].shares else []
    return ranked + [n for n in varied if n not in ranked]


def _plot(make: Callable[[], Any], study: "optuna.Study") -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = make()
    except Exception as exc:  # too few trials for this chart, and the like: say so, go on
        return _note(f"no chart: {exc}")
    if not fig.data:
        return _note("no chart: no complete trial to draw")
    return _fig_html(label_units(fig, _units(study), study.get_trials(deepcopy=False)))
