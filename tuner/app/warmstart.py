"""`tuner optimize --warm-start STUDY [--warm-start-storage URL]`: read an earlier study, match
its trials to this job, and start the new study from them (tuner.warmstart says how).

The earlier study may be in another storage (another machine's), or be this very study: then
its trials measured on other workload values than this run's are the prior."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..attrs import WARM_START, WORKLOADS
from ..errors import InputError, StorageError, StudyNotFound, TunerError, notify
from ..format import warm_start_text

if TYPE_CHECKING:
    from ..space import Space
    from ..warmstart import Matched


@dataclass
class WarmStart:
    source: str  # the earlier study's name
    storage: str  # its storage, the password hidden
    matched: "Matched"
    hidden: set[int] = field(default_factory=set)  # this study's trials that are prior instead

    def summary(self) -> dict[str, Any]:
        return {"study": self.source, "storage": self.storage,
                "workloads": bool(self.hidden), **self.matched.summary()}

    def sampler(self, base: Any, space: "Space") -> Any:
        from ..prior_sampler import PriorSampler

        return PriorSampler(base, self.matched.priors, space.distributions(),
                            hidden=self.hidden)

    def begin(self, study: Any, space: "Space") -> None:
        """Say where the prior came from, and run the earlier best configurations first."""
        from ..optimize import start_from
        from ..storage import backend
        from ..storage.tables import lock

        study.set_user_attr(WARM_START, self.summary())
        # Once, by the first of several workers: a study continued later goes on from its own.
        with lock(backend(study).engine, f"warm:{study.study_name}"):
            if not [t for t in study.get_trials(deepcopy=False) if t.number not in self.hidden]:
                start_from(study, space, self.matched.seeds, self.source)
        notify(warm_start_text(self.summary()))


def read_prior(name: str, storage: str | None, url: str, study: str, space: "Space",
               labels: set[str], maximize: bool) -> WarmStart:
    """The earlier study `name` (in `storage`, or this study's `url`), matched to `space`;
    `labels` are the workload values this run measures. Bad names are input errors (exit
    2), an unreadable storage a storage error (exit 1), each with the fix."""
    from .. import storage as store
    from ..warmstart import match

    source_url = _source_url(storage, url)
    rdb = _open(source_url, storage is not None)
    names = store.study_names(rdb)
    if name not in names:
        raise StudyNotFound(f"--warm-start: no study '{name}' in {store.redact(source_url)} "
                            f"(studies: {', '.join(names) or 'none'})",
                            hint="name an earlier study, or pass --warm-start-storage URL for "
                                 "another database")
    import optuna

    earlier = optuna.load_study(study_name=name, storage=rdb)
    if len(earlier.directions) > 1:
        raise InputError(f"--warm-start: study '{name}' has several objectives",
                         hint="warm start ranks one score; start from a one-objective study")
    if (earlier.directions[0] == optuna.study.StudyDirection.MAXIMIZE) != maximize:
        raise InputError(f"--warm-start: study '{name}' is to "
                         f"{earlier.directions[0].name.lower()}, this job to "
                         f"{'maximize' if maximize else 'minimize'}: its best are not this "
                         f"job's best", hint="start from a study of the same score")
    same = name == study and store.redact(source_url) == store.redact(url)
    trials, hidden = _earlier_trials(earlier, labels, same)
    matched = match(_sources(trials, maximize, name), space)
    return WarmStart(name, store.redact(source_url), matched, hidden)


def _open(url: str, own: bool) -> Any:
    """The earlier study's storage; its errors name --warm-start-storage when it was given."""
    from .. import storage as store

    try:
        return store.open_storage(url)
    except TunerError as exc:
        if not own:
            raise
        exc.message = exc.message.replace("--storage: ", "")
        exc.message = f"--warm-start-storage: {exc.message}"
        if isinstance(exc, StorageError):
            exc.hint = "check the URL, that the server runs, and TUNER_DB_PASSWORD"
        raise


def _source_url(storage: str | None, url: str) -> str:
    """The earlier study's storage URL; reading it never creates a database."""
    from .reading import existing_url

    try:
        return existing_url(storage if storage is not None else url)
    except InputError as exc:  # said of the flag that named it
        flag = "--warm-start-storage" if storage is not None else "--warm-start"
        exc.message = f"{flag}: {exc.message.removeprefix('--storage: ')}"
        exc.hint = ("check the path, or pass the URL of the earlier study's storage with "
                    "--warm-start-storage URL")
        raise


def _earlier_trials(earlier: Any, labels: set[str], same: bool) -> tuple[list[Any], set[int]]:
    """The trials to learn from; in this very study, those measured on other workload values
    (and their numbers, which the sampler's view of the study leaves out)."""
    trials = earlier.get_trials(deepcopy=False)
    if not same:
        return trials, set()
    other = [t for t in trials if set(t.user_attrs.get(WORKLOADS, {})) - labels
             and not set(t.user_attrs.get(WORKLOADS, {})) & labels]
    if not other:
        raise InputError(f"--warm-start: study '{earlier.study_name}' is this study, and none "
                         f"of its trials was measured on other workload values than "
                         f"{', '.join(sorted(labels)) or 'this run'}'s",
                         hint="warm-start a study from another study, or from this one when "
                              "--workload names a new value")
    return other, {t.number for t in other}


def _sources(trials: list[Any], maximize: bool, name: str) -> list[Any]:
    """Trials ranked among those measured on the same workload values."""
    from ..warmstart import sources_of

    groups: dict[str, list[Any]] = {}
    for t in trials:
        key = ",".join(sorted(t.user_attrs.get(WORKLOADS, {})))
        groups.setdefault(key, []).append(t)
    return [s for key, members in groups.items()
            for s in sources_of(members, maximize, f"{name}:{key}")]


def check(o: Any) -> None:
    """--warm-start's options, before anything starts."""
    if o.warm_start_storage and not o.warm_start:
        raise InputError("--warm-start-storage: only with --warm-start STUDY")
    if o.warm_start and o.sampler != "tpe":
        raise InputError(f"--warm-start: only with --sampler tpe (the {o.sampler} sampler does "
                         f"not learn from earlier trials)")

