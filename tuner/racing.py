"""Racing (`tuner optimize --race`): the search spends its runs where they can change the answer.

A configuration the sampler proposes runs once. If that run is clearly worse than the
incumbent (the best so far), it costs that one run. If it could still beat the incumbent within
the study's measured noise, it races it: the two run again in pairs, side by side (each pair
in a shuffled order, one run right after the other), until the pairs' log ratios show a
difference at 95% (or clearly a loss), or the race reaches its limit, where the better mean
wins. At the end the incumbent, the next two best configurations and the default run in
interleaved rounds (--confirm's machinery): the winner is chosen on those rounds, which give
the stated gain and its interval.

The sampler learns from every run: each run is a trial of its own, carrying that run's value
(a finished trial's value cannot change in Optuna, so nothing is rewritten); the sampler sees a
configuration raced five times as five observations at one point. Answers read
configurations, not trials: the race's decisions, the confirmed summary and the noise group
trials by their parameters.
"""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import time
from typing import TYPE_CHECKING, Any, Callable

from .attrs import CONFIRMED, RACE
from .selection import (better_first, calibrated, config_key, feasible, noise_floor, primary,
                        study_noise)
from .space import Space

if TYPE_CHECKING:
    import optuna

    from .optimize import TrialEvent, TrialFn

RACE_PAIRS = 3  # side-by-side pairs a race runs at most
DROP_Z = 0.5  # a one-run candidate this many noise sds worse than the incumbent is dropped
FINALISTS = 3  # the incumbent and the next best two run the final rounds with the default
PRIOR_SD = 0.15  # the log-ratio spread assumed until the study has measured its own


def worth_racing(candidate: float, incumbent: list[float], floor: tuple[float, int] | None,
                 sign: int) -> bool:
    """Could a candidate's one run still beat the incumbent (its latest runs) within the
    noise? `sign` is 1 when lower is better, -1 when higher is."""
    if candidate <= 0 or not incumbent or min(incumbent) <= 0:
        return True  # no ratio to judge by: let the race measure it
    recent = statistics.fmean(incumbent[-3:])
    ahead = -sign * math.log(candidate / recent)  # > 0: the candidate looks better
    sd = (floor or (PRIOR_SD, 2))[0]
    return ahead > -DROP_Z * sd


def race_verdict(ahead: list[float], floor: tuple[float, int] | None, limit: int = RACE_PAIRS
                 ) -> str | None:
    """After a race's pairs (log ratios, > 0 where the candidate was better): "better" (it
    wins), "worse" (it is out), or None (run another pair). At the limit the mean decides."""
    if not ahead:
        return None
    floor = floor or (PRIOR_SD, 2)
    ci = calibrated(ahead, floor)
    mean = statistics.fmean(ahead)
    if ci and ci[0] > 0:
        return "better"
    if mean <= 0:
        return "worse"  # behind on the runs so far: no more spent on it (SMAC's intensifier)
    if len(ahead) >= limit:
        return "better" if mean > 0 else "worse"
    return None


@dataclasses.dataclass
class Budget:
    """What a racing study may spend: container runs, trials, time."""

    runs_per_trial: int = 1
    max_runs: int | None = None
    max_trials: int | None = None
    deadline: float | None = None  # time.monotonic()
    patience: int | None = None  # stop when done: this many candidates in a row came to nothing

    def total_trials(self) -> int | None:
        caps = [c for c in (self.max_trials, self.max_runs and
                            self.max_runs // self.runs_per_trial) if c]
        return min(caps) if caps else None


class Race:
    """One racing study's state: the incumbent, its runs, and what was spent."""

    def __init__(self, study: "optuna.Study", space: Space, trial_fn: "TrialFn",
                 budget: Budget, final_rounds: int, seed: int | None,
                 on_event: Callable[["TrialEvent"], None]):
        self.study, self.space, self.trial_fn, self.budget = study, space, trial_fn, budget
        self.final_rounds, self.on_event = final_rounds, on_event
        self.rng = random.Random(seed)
        self.sign = better_first(study)
        self.incumbent: dict[str, Any] | None = None
        self.values: list[float] = []  # the incumbent's runs, oldest first
        self.trials = 0
        self.last: int | None = None
        self.stats: dict[str, Any] = {"candidates": 0, "dropped_after_one_run": 0, "raced": 0,
                                      "won": 0, "stopped": None}
        self.idle = 0  # candidates in a row that did not replace the incumbent
        self.next_id = 1 + max((t.user_attrs[RACE]["id"] for t in study.get_trials(deepcopy=False)
                                if t.user_attrs.get(RACE)), default=0)

    def run(self) -> int:
        """Search by racing, then confirm the finalists against the default; return the trials
        run."""
        self._start()
        while self._room(1):
            if self._done():
                break
            self._consider(self._run_one(None, None))
        self.stats["stopped"] = self.stats["stopped"] or self._why_stopped()
        self._final()
        return self.trials

    def _done(self) -> bool:
        """Stop when done: the last `patience` candidates all came to nothing (clearly worse
        on their one run, or lost their race), so the improvement still to be expected is
        below what the measured noise lets the study see."""
        p = self.budget.patience
        if p is None or self.idle < p:
            return False
        floor = self._floor()
        noise = f"{100 * floor[0]:.1f}% side by side" if floor else "the measured noise"
        self.stats["stopped"] = (f"done: none of the last {p} candidates came within the noise "
                                 f"({noise}) of beating the incumbent")
        return True

    def _why_stopped(self) -> str:
        b = self.budget
        if b.deadline is not None and time.monotonic() >= b.deadline:
            return "the time (--timeout) was up"
        if b.max_runs is not None and not self._room(1):
            return f"the run budget (--max-runs {b.max_runs}) was spent"
        return f"the trial budget ({b.max_trials} trials) was spent"

    def _consider(self, t: Any) -> None:
        """A proposal's one run: the incumbent's own, dropped, or raced."""
        if t is None:
            return
        if self.incumbent is None or config_key(t.params) == config_key(self.incumbent):
            self._crown(dict(t.params), [primary(t)], keep=True)
            return
        self.stats["candidates"] += 1
        self.idle += 1
        if not worth_racing(primary(t), self.values, self._floor(), self.sign):
            self.stats["dropped_after_one_run"] += 1
            return
        self._race(dict(t.params), primary(t))

    def _start(self) -> None:
        from .selection import _complete

        done = _complete(self.study)
        if not done:
            t = self._run_one(None, None)  # run_study enqueues the default first
            if t is not None:
                self._crown(dict(t.params), [primary(t)])
            # Trials already waiting run first (a race's runs are enqueued and must be the next
            # to run); the best of them on its one run is the incumbent to race.
            while self._waiting() and self._room(1):
                t = self._run_one(None, None)
                if t is not None and (self.incumbent is None or self.sign * primary(t)
                                      < self.sign * statistics.fmean(self.values)):
                    self._crown(dict(t.params), [primary(t)])
            return
        chosen = (self.study.user_attrs.get(CONFIRMED) or {}).get("winner", {}).get("params")
        chosen = chosen or dict(done[0].params)
        self._crown(chosen, [primary(t) for t in done
                             if config_key(t.params) == config_key(chosen)])

    def _waiting(self) -> bool:
        from optuna.trial import TrialState

        return bool(self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))

    def _crown(self, params: dict[str, Any], values: list[float], keep: bool = False) -> None:
        if keep and self.incumbent is not None:
            self.values.extend(values)
            return
        self.incumbent, self.values = params, list(values)

    def _race(self, candidate: dict[str, Any], first: float) -> None:
        self.stats["raced"] += 1
        rid, self.next_id = self.next_id, self.next_id + 1
        ahead: list[float] = []
        mine: list[float] = [first]
        verdict = None
        for k in range(RACE_PAIRS):
            if not self._room(2):
                break
            order = [("incumbent", self.incumbent), ("candidate", candidate)]
            self.rng.shuffle(order)
            got: dict[str, float] = {}
            for role, params in order:
                t = self._run_one(params, {RACE: {"id": rid, "pair": k, "role": role}})
                if t is not None and primary(t) > 0:
                    got[role] = primary(t)
            if "incumbent" in got:
                self.values.append(got["incumbent"])
            if "candidate" in got:
                mine.append(got["candidate"])
            if len(got) == 2:
                ahead.append(-self.sign * math.log(got["candidate"] / got["incumbent"]))
            verdict = race_verdict(ahead, self._floor())
            if verdict:
                break
        if verdict is None and ahead and statistics.fmean(ahead) > 0:
            verdict = "better"  # the budget ended the race: the better mean wins
        if verdict == "better":
            self.stats["won"] += 1
            self.idle = 0
            self._crown(candidate, mine)

    def _final(self) -> None:
        """The finalists and the default side by side: the winner, its gain and interval."""
        from .optimize import confirm_top

        if self.incumbent is None or self.final_rounds < 1:
            return
        self.trials += confirm_top(self.study, self.space, self.trial_fn, top=1,
                                   runs=self.final_rounds, seed=self.rng.randrange(2**31),
                                   on_event=self._event, configs=self._finalists())
        summary = self.study.user_attrs.get(CONFIRMED)
        if summary:
            summary["method"] = "race"
            summary["race"] = dict(self.stats)
            self.study.set_user_attr(CONFIRMED, summary)

    def _finalists(self) -> list[dict[str, Any]]:
        from .selection import top_configurations

        """The incumbent, and the next best by the median of their runs (the winner is
        chosen on the final rounds: a runner-up that lost a close race gets its say)."""
        extra = [c for c in top_configurations(self.study, FINALISTS + 1)
                 if config_key(c) != config_key(self.incumbent)][:FINALISTS - 1]
        return [self.incumbent, *extra]

    def _reserve(self) -> int:
        """Runs kept for the final rounds (the finalists and the default in each)."""
        return (FINALISTS + 1) * self.final_rounds * self.budget.runs_per_trial

    def _room(self, trials: int) -> bool:
        b = self.budget
        if b.deadline is not None and time.monotonic() >= b.deadline:
            return False
        if b.max_trials is not None and self.trials + trials > b.max_trials:
            return False
        spent = (self.trials + trials) * b.runs_per_trial
        return b.max_runs is None or spent + self._reserve() <= b.max_runs

    def _floor(self) -> tuple[float, int] | None:
        from .selection import _complete

        return noise_floor(study_noise(_complete(self.study, feasible_only=False)))

    def _run_one(self, params: dict[str, Any] | None, attrs: dict[str, Any] | None) -> Any:
        """One trial: the sampler's next proposal, or `params` enqueued. The trial when it
        completed and kept the constraints, else None (it cost its run all the same)."""
        from .optimize import run_study

        if params is not None:
            self.study.enqueue_trial(params, user_attrs=attrs)
        self.last = None
        left = None if self.budget.deadline is None else \
            max(0.0, self.budget.deadline - time.monotonic())
        run_study(self.study, self.space, self.trial_fn, n_trials=1, grid=False,
                  timeout=left, on_event=self._event)
        self.trials += 1
        if self.last is None:
            return None
        t = next(t for t in reversed(self.study.get_trials(deepcopy=False))
                 if t.number == self.last)
        if t.state.name != "COMPLETE" or primary(t) is None or feasible(t) is False:
            return None
        return t

    def _event(self, e: "TrialEvent") -> None:
        if e.kind == "end":
            self.last = e.number
        self.on_event(dataclasses.replace(e, done=self.trials + (e.kind == "end"),
                                          total=self.budget.total_trials()))


def race_study(study: "optuna.Study", space: Space, trial_fn: "TrialFn", *, budget: Budget,
               final_rounds: int = 3, seed: int | None = None,
               on_event: Callable[["TrialEvent"], None] = lambda e: None) -> int:
    """Run a racing study within the budget; return how many trials ran."""
    return Race(study, space, trial_fn, budget, final_rounds, seed, on_event).run()
