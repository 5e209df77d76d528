"""`tuner dashboard`: optuna-dashboard on the study storage, with each trial's logs as artifacts.

Optuna refuses to attach anything to a finished trial (`upload_artifact` sets a trial system
attr, and storages reject updates of finished trials). optuna-dashboard also lists a trial's
artifacts from the *study's* system attrs under `dashboard:artifacts:<trial_id>:<artifact_id>`
(its own upload format), and study attrs can always be set: so logs of finished trials go there.
What was uploaded is read back from those attrs, so running the command again adds only new logs,
and a log whose stored copy is missing (artifact dir deleted) is written again under its old id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..storage import study_id as storage_study_id
from ..storage import trial_id

if TYPE_CHECKING:
    import optuna

PREFIX = "dashboard:artifacts:"  # optuna-dashboard's study-level key for a trial's artifact
TRIAL_PREFIX = "artifacts:"  # optuna.artifacts.upload_artifact's trial-level key


@dataclass
class Uploaded:
    studies: int
    trials: int  # trials that got at least one log now
    files: int  # logs uploaded (or restored) now


def upload_logs(storage: "optuna.storages.BaseStorage", results: str | Path,
                artifact_dir: str | Path) -> Uploaded:
    """Upload results/<study>/<trial number>/*.log of every finished trial not yet uploaded."""
    from optuna.artifacts import FileSystemArtifactStore

    root = Path(results)
    store_dir = Path(artifact_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    store = FileSystemArtifactStore(str(store_dir))
    studies = trials = files = 0
    for summary in storage.get_all_studies():
        study_id = storage_study_id(summary)
        folder = root / summary.study_name
        if not folder.is_dir():
            continue
        studies += 1
        attrs = storage.get_study_system_attrs(study_id)
        for t in storage.get_all_trials(study_id, deepcopy=False):
            logs = sorted((folder / str(t.number)).glob("*.log"))
            if not logs or not t.state.is_finished():
                continue  # a running trial's logs are not written yet
            known = _known(attrs, t)
            added = 0
            for log in logs:
                meta = known.get(log.name)
                if meta is not None:
                    if not (store_dir / meta["artifact_id"]).exists():
                        with open(log, "rb") as f:
                            store.write(meta["artifact_id"], f)
                        added += 1
                    continue
                artifact_id = str(uuid.uuid4())
                with open(log, "rb") as f:
                    store.write(artifact_id, f)
                meta = {"artifact_id": artifact_id, "filename": log.name,
                        "mimetype": "text/plain",  # shown in the browser, not downloaded
                        "encoding": None}
                # The artifact first, then its record: a crash between leaves an unlisted file.
                storage.set_study_system_attr(study_id, f"{PREFIX}{trial_id(t)}:{artifact_id}",
                                              json.dumps(meta))
                added += 1
            files += added
            trials += added > 0
    return Uploaded(studies, trials, files)


def _known(study_attrs: dict[str, Any], trial: "optuna.trial.FrozenTrial") -> dict[str, dict]:
    """The trial's artifacts by file name, from both places optuna-dashboard reads."""
    prefix = f"{PREFIX}{trial_id(trial)}:"
    values = [v for k, v in study_attrs.items() if k.startswith(prefix)]
    values += [v for k, v in (trial.system_attrs or {}).items() if k.startswith(TRIAL_PREFIX)]
    out = {}
    for v in values:
        meta = json.loads(v) if isinstance(v, str) else None
        if meta:  # a deleted artifact is recorded as null
            out[meta["filename"]] = meta
    return out


def serve(storage: "optuna.storages.BaseStorage", artifact_dir: str | Path, host: str,
          port: int) -> None:
    """Run optuna-dashboard in this process until Ctrl-C or SIGTERM."""
    import signal
    import threading
    from wsgiref.simple_server import make_server

    from optuna.artifacts import FileSystemArtifactStore
    from optuna_dashboard import wsgi

    # In-process rather than `optuna-dashboard URL`: the storage URL may carry a password
    # (from TUNER_DB_PASSWORD) that must not appear in a process list. Our own server rather
    # than run_server: a KeyboardInterrupt raised while a request is answered is swallowed by
    # wsgiref's handler and the server went on; a signal that asks for shutdown never is.
    app = wsgi(storage, artifact_store=FileSystemArtifactStore(str(artifact_dir)))
    with make_server(host, port, app) as server:
        def stop(signum: int, frame: Any) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.serve_forever()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)


# --- tuner's importance beside the dashboard's chart ----------------------------------------

NOTE_HEADING = "## tuner: which parameters matter"
NOTE_END = "_Written by `tuner dashboard` each time it starts; `tuner importance` says the same._"


def importance_note(groups: list[Any], prior: dict[str, Any] | None = None) -> str:
    """The study note (markdown): the dashboard's chart is PED-ANOVA (what matters among the
    best); tuner's fANOVA answers what matters overall; both sets of shares, side by side.
    `prior`: where a warm-started study's prior came from (its trials are not in the study)."""
    lines = [NOTE_HEADING, "",
             "optuna-dashboard's *Hyperparameter Importance* chart is **PED-ANOVA**: what still "
             "sets the best 10% of trials apart from the rest. A knob the search has settled "
             "(the best trials all have it right) scores low there however much it matters "
             "overall. tuner answers both questions:", ""]
    for g in groups:
        if g.workload:
            lines += [f"**workload {' '.join(f'{k}={v}' for k, v in g.workload.items())}**", ""]
        if not g.shares:
            lines += [f"no answer yet: {g.note}", ""]
            continue
        lines += ["| parameter | overall (fANOVA) | among the best (PED-ANOVA, the chart) |",
                  "|---|---:|---:|"]
        lines += [f"| {n} | {g.shares[n]:.1%} | "
                  + (f"{g.among_best[n]:.1%} |" if n in g.among_best else "- |")
                  for n in g.shares]
        lines += ["", f"Overall: fANOVA over {g.over}. Among the best: {g.best_over}.", ""]
    if prior:
        from ..format import warm_start_text

        lines += [f"**Prior.** {warm_start_text(prior)}. The earlier trials are not in this "
                  "study: every chart here is of its own measurements.", ""]
    return "\n".join(lines + [NOTE_END])


def save_importance_note(study: "optuna.Study", text: str) -> bool:
    """Put `text` in the study's note in place of tuner's earlier one, keeping whatever else
    a person wrote there; saved only when it changed (each save is a new note version)."""
    from optuna_dashboard import get_note, save_note

    old = get_note(study)
    start = old.find(NOTE_HEADING)
    end = old.find(NOTE_END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        new = old[:start] + text + old[end + len(NOTE_END):]
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + text
    if new == old:
        return False
    save_note(study, new)
    return True
