"""The report's first sections: the answer to deploy (chosen on side-by-side runs when the
study has them), the Pareto front, how sure it is, and per-workload bests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import baseline_of, best_of, objectives_of
from ..format import fmt as _fmt
from ..format import params_text as _params_text
from ..format import values_text
from .html_parts import _e, _fig_html, _note, _table, _units, _why

if TYPE_CHECKING:
    import optuna


def _best_section(study: "optuna.Study") -> str:
    best = best_of(study)
    why = _why("The best configuration found, beside the default one (the configuration you "
               "start from, measured as the study's first trial).")
    if best is None:
        return why + _note("no complete trial yet" if not _infeasible_only(study) else
                           "no complete trial kept the constraints")
    if best.get("front") is not None:
        return why + _note("several objectives: no one best; see the Pareto front") + \
            _feasibility(best)
    base = baseline_of(study)
    head = ["parameter"] + ([f"default (trial {base['number']})"] if base else []) \
        + ["chosen (side by side)" if best.get("chosen_on") else f"best (trial {best['number']})"]
    units = best.get("units") or {}
    rows = [[_e(k)] + ([_e(_fmt(base["params"].get(k), units.get(k)))] if base else [])
            + [_e(_fmt(v, units.get(k)))]
            for k, v in best["params"].items()]
    label = objectives_of(study)[0]["name"]
    rows.append([f"<b>{_e(label)}</b>"] + ([_e(_fmt(base["value"]))] if base else [])
                + [f"<b>{_e(_fmt(best['value']))}</b>"])
    for name in (best.get("metrics") or {}):
        if name != label and "." not in name and (name != "score" or label != "score"):
            rows.append([_e(name)] + ([_e(_metric((base or {}).get("metrics"), name))]
                                      if base else [])
                        + [_e(_metric(best["metrics"], name))])
    text = ""
    if best.get("chosen_on"):
        why = _chosen(best, label)
    elif best.get("change_vs_baseline") is not None:
        text = (f"<p>The best configuration's {_e(label)} is "
                f"{100 * best['change_vs_baseline']:+.1f}% against the default's.</p>")
    elif not base:
        text = _note("the default configuration was not measured (no trial is marked baseline)")
    return why + _table(head, rows, raw=True) + text + _feasibility(best) + \
        _uncertainty(best) + _prior(best) + _per_workload(study)


def _prior(best: dict[str, Any]) -> str:
    """Where a warm-started study's prior came from: knowledge, not this study's results."""
    from ..format import warm_start_text

    if not best.get("warm_start"):
        return ""
    return (f"<h3>Prior</h3><p>{_e(warm_start_text(best['warm_start']))}. Every number above "
            f"is this study's own; the earlier trials only steered the search.</p>")


def _chosen(best: dict[str, Any], label: str) -> str:
    """One answer first: the configuration chosen on side-by-side runs and its gain."""
    how = "raced against the best so far during the search" if best["chosen_on"] == "race" \
        else "re-run in rounds with the top configurations (--confirm)"
    out = (f"<p><b>The configuration to deploy</b> ({_e(how)}, then measured side by side "
           f"with the default): {_e(_params_text(best['params'], best.get('units')))}.")
    change, ci = best.get("change_vs_baseline"), best.get("change_vs_baseline_ci")
    if change is not None:
        out += f" Its {_e(label)} is <b>{100 * change:+.1f}%</b> against the default's"
        out += (f", 95% interval {100 * ci[0]:+.1f}% .. {100 * ci[1]:+.1f}%." if ci else ".")
    single = best.get("best_single_run")
    if single:
        out += (f" (Trial {single['number']}'s {_e(_fmt(single['value']))} is one run, the "
                f"search's luckiest measurement: optimistic, not the answer.)")
    from .confidence import race_text

    race = race_text(best.get("confirmed"))
    return out + "</p>" + (f"<p>{_e(race[0].upper() + race[1:])}.</p>" if race else "")


def _metric(metrics: dict[str, Any] | None, name: str) -> str:
    value = (metrics or {}).get(name)
    if value is not None and name.split(".")[0] == "peak_memory":
        return f"{value / 2**20:.1f} MiB"
    if value is not None and name.split(".")[0] == "cpu_seconds":
        return f"{value:.2f}s"
    return _fmt(value)


def _infeasible_only(study: "optuna.Study") -> bool:
    from . import feasibility

    feas = feasibility(study)
    return bool(feas and feas["infeasible"] and not feas["feasible"])


def _feasibility(best: dict[str, Any]) -> str:
    if best.get("constraints") is None:
        return ""
    return (f"<p>Constraints: <code>{_e('; '.join(best['constraints']))}</code>. "
            f"{best['feasible']} complete trial(s) kept them, <b>{best['infeasible']} did not "
            f"(infeasible)</b>; only a feasible configuration is named best or put on the "
            f"front.</p>")


def _front_section(study: "optuna.Study") -> str:
    """Several objectives: the trials no other beats on all of them, plotted and listed."""
    import plotly.graph_objects as go

    from . import front_of

    objectives = objectives_of(study)
    why = _why("With several objectives there is no one best: the Pareto front is every "
               "configuration that no other trial beats on all objectives at once. Each is a "
               "different trade; which one to run is the person's call.")
    if len(objectives) < 2:
        return why + _note("one objective: the best above is the answer")
    best = best_of(study)
    if best is None:
        return why + _note("no complete feasible trial yet")
    front = {r["number"] for r in best["front"]}
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    names = [o["name"] for o in objectives]
    out = [why]
    if len(objectives) == 2:
        fig = go.Figure()
        groups = [("other trials", [t for t in complete if t.number not in front
                                    and _kept(t) is not False], "#9ab"),
                  ("infeasible", [t for t in complete if _kept(t) is False], "#e99"),
                  ("Pareto front", sorted((t for t in front_of(study)),
                                          key=lambda t: t.values[0]), "#1a7a1a")]
        for label, trials, color in groups:
            if not trials:
                continue
            fig.add_trace(go.Scatter(
                x=[t.values[0] for t in trials], y=[t.values[1] for t in trials],
                mode="markers+lines" if label == "Pareto front" else "markers",
                name=label, marker={"color": color, "size": 9},
                text=[f"trial {t.number}: {_params_text(t.params, _units(study))}"
                      for t in trials],
                hoverinfo="text+x+y"))
        base = best.get("baseline")
        if base and base.get("values"):
            fig.add_trace(go.Scatter(x=[base["values"][0]], y=[base["values"][1]],
                                     mode="markers", name=f"default (trial {base['number']})",
                                     marker={"color": "#000", "size": 12, "symbol": "x"}))
        fig.update_layout(title="Pareto front", xaxis_title=f"{names[0]} "
                          f"({objectives[0]['direction']})", yaxis_title=f"{names[1]} "
                          f"({objectives[1]['direction']})", height=480)
        out.append(_fig_html(fig))
    params = list(best["params"])
    units = _units(study)
    rows = [[str(r["number"]), *(_fmt(v) for v in r["values"]),
             *(_fmt(r["params"].get(p), units.get(p)) for p in params)] for r in best["front"]]
    out.append(_table(["trial", *names, *params], rows))
    return "".join(out)


def _kept(t: Any) -> bool | None:
    from ..selection import feasible

    return feasible(t)


def _uncertainty(best: dict[str, Any]) -> str:
    """How sure the best is: the confirmed winner's interval, and the baseline's drift."""
    from .confidence import confirmation_verdict

    out = ""
    confirmed = best.get("confirmed")
    if confirmed:
        rows = []
        for label, d in (("confirmed winner", confirmed["winner"]),
                         ("runner-up", confirmed.get("runner_up")),
                         ("baseline (default)", confirmed.get("baseline"))):
            if d:
                ci = f"{d['ci'][0]:.6g} .. {d['ci'][1]:.6g}" if d["ci"] else "-"
                vs = d.get("vs_baseline")
                side = "-"
                if vs and label != "baseline (default)":
                    side = f"{100 * (vs['ratio'] - 1):+.1f}%"
                    if vs["ci"]:
                        side += (f" ({100 * (vs['ci'][0] - 1):+.1f}% .. "
                                 f"{100 * (vs['ci'][1] - 1):+.1f}%)")
                rows.append([label, _params_text(d["params"], best.get("units")), str(d["n"]),
                             _fmt(d["median"]), ci, side])
        out += "<h3>Uncertainty</h3>" + _why(
            "The top configurations and the default were re-run at the end (--confirm), in "
            "rounds that run each once in a shuffled order, so that a machine whose speed "
            "drifts weighs on all alike. The winner is the best against the default of the same "
            "round; its numbers are those of the re-runs alone. Intervals are 95% intervals; "
            "an interval of the change that includes 0% means the difference may be noise.")
        out += _table(["", "configuration", "measurements", "median", "95% interval",
                       "vs default, side by side (95%)"], rows)
        out += "".join(f"<p>{_e(line)}</p>" for line in confirmation_verdict(confirmed))
    else:
        out += _note("single measurements: run with --repeat and --confirm to know how sure "
                     "the best is")
    from .confidence import noise_text

    if noise_text(best.get("noise")):
        out += f"<p>Measured noise: {_e(noise_text(best.get('noise')))}.</p>"
    drift = best.get("baseline_drift")
    if drift and best.get("drift") is not None:
        out += (f"<p>The default configuration, re-measured during the study (--rebaseline): "
                f"{_e(values_text([d['value'] for d in drift]))}; drift "
                f"{100 * best['drift']:+.1f}% from first to last.</p>")
    return out


def _per_workload(study: "optuna.Study") -> str:
    from . import per_workload

    rows = per_workload(study)["per_workload"]
    if len(rows) < 2:
        return ""
    table = _table(["workload", "its best configuration", "its score",
                    "the overall best there", "cost of one configuration"],
                   [[r["workload"], _params_text(r["params"], _units(study)), _fmt(r["value"]),
                     _fmt(r["overall_best_value"]),
                     f"{100 * r['cost_of_one_config']:+.1f}%"
                     if r["cost_of_one_config"] is not None else "-"] for r in rows])
    return ("<h3>Per workload</h3>" + _why("Each workload value's own best configuration, and "
            "how much worse the one overall best configuration does there.") + table)
