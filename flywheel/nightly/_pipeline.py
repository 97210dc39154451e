"""`run_nightly`: the stages in order, each recorded, resumable after a crash or a failure.

A run is a row in ``nightly_runs`` with one row per stage in ``nightly_stages``. A stage is
marked running before it starts and finished (with its summary) when it returns, so after a
crash or a failed stage the next call resumes the same run: finished stages are skipped, the
interrupted or failed one runs again (stages are idempotent; replay's per-case cache means no
case runs twice). A stage that raises stops the run with its one-line reason.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from flywheel import plugins
from flywheel.errors import FlywheelError, UserError
from flywheel.nightly import _faults, _runs
from flywheel.nightly._report import NightlyReport, StageReport
from flywheel.nightly._stage import NightlyOptions, Stage, StageContext, StageResult
from flywheel.project import Project
from flywheel.store import Store, run_lock

_log = logging.getLogger(__name__)


class NightlyFailed(FlywheelError):
    """A stage raised: the run stopped there and resumes there next time."""

    def __init__(self, message: str, report: NightlyReport) -> None:
        super().__init__(message)
        self.report = report


def stages() -> dict[str, Stage]:
    """Every stage the plugins register (hook ``register_stages``), by name."""
    return plugins.named_objects("register_stages", "stage", Stage, "name and run(context)")


def available_stages() -> list[str]:
    """Names of the registered stages."""
    return sorted(stages())


def resolve_stages(names: list[str]) -> list[Stage]:
    """The stages named, in order; an unknown name gets the list of valid ones."""
    if len(set(names)) != len(names):
        raise UserError(f"[nightly] stages names a stage twice: {names}")
    found = stages()
    unknown = [name for name in names if name not in found]
    if unknown:
        raise UserError(
            f"unknown nightly stage(s) {', '.join(unknown)}; valid: "
            f"{', '.join(available_stages())} (set [nightly] stages in flywheel.toml)"
        )
    return [found[name] for name in names]


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, FlywheelError):
        where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        place = f" (at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})" if where else ""
        text = f"{type(exc).__name__}: {text}{place}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stage_names(project: Project, options: NightlyOptions) -> list[str]:
    return list(options.stages or project.settings.nightly.stages)


def build_report(store: Store, run_id: int, *, resumed: bool = False) -> NightlyReport:
    info = _runs.run_info(store, run_id)
    records = _runs.stage_records(store, run_id)
    stages = []
    for name in info["stages"]:
        record = records.get(name)
        if record is None:
            stages.append(StageReport(name=name, status="pending"))
            continue
        stages.append(
            StageReport(
                name=name,
                status=record.status,
                seconds=record.seconds,
                summary=record.summary,
                counts=record.counts,
                attempts=record.attempts,
                error=record.error,
            )
        )
    return NightlyReport(
        run_id=run_id,
        status=info["status"],
        started_at=info["started_at"],
        finished_at=info["finished_at"],
        resumed=resumed,
        stages=stages,
        error=info["error"],
    )


def latest_report(project: Project) -> dict[str, Any] | None:
    """The JSON report of the project's newest nightly run (None before the first)."""
    with project.open_store() as store:
        run_id = _runs.latest_run(store)
        if run_id is None:
            return None
        data: dict[str, Any] = build_report(store, run_id).model_dump(mode="json")
        return data


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[stage]}[/] {task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as bar:
        yield bar


def run_nightly(
    project: Project,
    *,
    options: NightlyOptions | None = None,
    progress: bool = False,
) -> NightlyReport:
    """Run (or resume) the nightly pipeline and write its report; the report.

    Holds the pipeline's run lock throughout: a second run (or an ingest) started meanwhile
    waits ``options.wait`` seconds, then stops with `LockHeld`.
    Resumes the last run if it did not finish, unless ``options.new``. Raises `NightlyFailed`
    (a `FlywheelError` carrying the report) when a stage fails; the report files are written
    either way, to ``[nightly] report_dir``.
    """
    options = options or NightlyOptions()
    report_dir = project.root / project.settings.nightly.report_dir
    with (
        project.open_store() as store,
        run_lock(store, command="flywheel nightly", wait=options.wait),
    ):
        run_id = None if options.new else _runs.unfinished_run(store)
        resumed = run_id is not None
        if run_id is None:
            names = _stage_names(project, options)
            stages = resolve_stages(names)
            run_id = _runs.start_run(store, names, options.model_dump(mode="json"))
        else:
            names = _runs.run_info(store, run_id)["stages"]
            stages = resolve_stages(names)
            _runs.set_run_status(store, run_id, "running")
        failure = _execute(store, project, options, run_id, stages, progress)
        if failure is None:
            _runs.set_run_status(store, run_id, "finished")
        report = build_report(store, run_id, resumed=resumed)
    report.write(report_dir)
    if failure is not None:
        raise NightlyFailed(failure, report)
    return report


def _execute(
    store: Store,
    project: Project,
    options: NightlyOptions,
    run_id: int,
    stages: list[Stage],
    progress: bool,
) -> str | None:
    """Run the stages not finished yet; the one-line failure message, or None."""
    done = _runs.stage_records(store, run_id)
    started_at = _runs.run_info(store, run_id)["started_at"]
    previous = {n: r.summary for n, r in done.items() if r.status == "finished"}
    with _progress(progress, len(stages)) as bar:
        # Beside a live spinner the lines are DEBUG (the spinner shows them); without one (cron,
        # a pipe, --json) they are the run's progress log, at INFO.
        chatter = logging.DEBUG if bar is not None and bar.console.is_terminal else logging.INFO
        for position, stage in enumerate(stages):
            if stage.name in previous:
                _log.log(chatter, "nightly run %s: %s done earlier", run_id, stage.name)
                if bar is not None:
                    bar.add_task("done earlier", stage=stage.name, total=1, completed=1)
                continue
            task = bar.add_task("", stage=stage.name, total=None) if bar is not None else None
            _log.log(chatter, "nightly run %s: %s started", run_id, stage.name)

            def log(message: str, task: object = task, name: str = stage.name) -> None:
                _log.log(chatter, "%s: %s", name, message)
                if bar is not None and task is not None:
                    bar.update(task, description=message)  # type: ignore[arg-type]

            context = StageContext(
                project=project,
                store=store,
                options=options,
                run_id=run_id,
                previous=dict(previous),
                log=log,
                progress=progress and sys.stderr.isatty(),
                run_started_at=started_at,
            )
            _runs.begin_stage(store, run_id, stage.name, position)
            _faults.point(stage.name, "start")
            began = time.perf_counter()
            try:
                with _faults.commits(store, stage.name):
                    result = stage.run(context)
                if not isinstance(result, StageResult):
                    result = StageResult.model_validate(result)
            except Exception as exc:
                reason = one_line(exc)
                seconds = time.perf_counter() - began
                _runs.end_stage(
                    store, run_id, stage.name, status="failed", seconds=seconds, error=reason
                )
                _runs.set_run_status(store, run_id, "failed", f"{stage.name}: {reason}")
                if bar is not None and task is not None:
                    bar.update(task, description=f"[red]failed[/] {reason}", total=1, completed=1)
                return (
                    f"nightly run {run_id}: stage '{stage.name}' failed: {reason}; fix it and "
                    "run `flywheel nightly` again to resume from this stage"
                )
            _faults.point(stage.name, "end")
            seconds = time.perf_counter() - began
            summary = _jsonable(result.summary)
            _runs.end_stage(
                store,
                run_id,
                stage.name,
                status="finished",
                seconds=seconds,
                summary=summary,
                counts=dict(result.counts),
            )
            previous[stage.name] = summary
            _log.log(
                chatter,
                "nightly run %s: %s finished in %.1fs: %s",
                run_id,
                stage.name,
                seconds,
                _counts(result.counts),
            )
            if bar is not None and task is not None:
                bar.update(task, description=_counts(result.counts), total=1, completed=1)
    return None


def _jsonable(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as it will read back from the JSON column (dates and paths as text)."""
    data: dict[str, Any] = json.loads(json.dumps(summary, default=str))
    return data


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "done"
