"""Progress of a running study on the terminal: a line per finished trial under a live bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..format import fmt as _fmt
from ..format import params_text

if TYPE_CHECKING:
    from ..app import TrialEvent


class TrialProgress:
    def __init__(self, console: Any, enabled: bool = True):
        self.console = console
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None
        import threading

        self._lock = threading.Lock()  # trials running at once (--parallel) report from threads

    def __enter__(self) -> "TrialProgress":
        return self

    def _start(self) -> None:
        # Started on the first trial, so errors before it print on a clean terminal.
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.progress import TimeElapsedColumn

        self._progress = Progress(
            TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=self.console, transient=True)
        self._progress.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def update(self, e: TrialEvent) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._update(e)

    def _update(self, e: TrialEvent) -> None:
        if self._progress is None:
            self._start()
        if self._task is None:
            self._task = self._progress.add_task("", total=e.total)
        if e.kind == "start":
            self._progress.update(self._task, description=f"running trial {e.number}",
                                  completed=e.done, total=e.total)
            return
        params = params_text(e.params, e.units)
        shown = " ".join(_fmt(v) for v in e.values) if e.values else _fmt(e.value)
        if e.state == "COMPLETE":
            mark = " [bold green]best[/]" if e.best_number == e.number else \
                " [bold green]front[/]" if e.on_front else ""
            if e.feasible is False:
                mark = " [yellow]infeasible[/]"
            line = f"trial {e.number:>3} [green]{shown:>10}[/]  {params}{mark}"
        elif e.state == "PRUNED":
            line = (f"trial {e.number:>3} [magenta]{'PRUNED':>10}[/]  {params}\n"
                    f"          [magenta]{e.reason}[/]")
        else:
            line = f"trial {e.number:>3} [red]{'FAIL':>10}[/]  {params}\n          [red]{e.reason}[/]"
        self._progress.console.print(line, highlight=False)
        best = f"best {_fmt(e.best_value)} (trial {e.best_number})" if e.best_number is not None \
            else "no score yet"
        if e.values is not None:
            best = "several objectives"
        self._progress.update(self._task, completed=e.done, total=e.total,
                              description=f"last {shown}, {best}")


