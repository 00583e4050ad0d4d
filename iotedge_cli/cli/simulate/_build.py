"""Module image builds for ``edgectl simulate start --build``: one progress row per module.

On a terminal each module gets a rich progress row (waiting, step n/m, done or failed); in
logs and pipes one line when a build starts and one when it is done. A failed build's
:class:`BuildError` propagates to the command's error boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from iotedge_cli.simulator.build import BuildError, BuildEvent, BuildJob, build_images

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


def run_builds(jobs: Sequence[BuildJob], client: Any, console: Console) -> None:
    """Build ``jobs`` in order with ``client`` (a ``docker.DockerClient``), showing progress."""
    if not jobs:
        console.print("no module images to build (the template names no ${MODULES.<dir>})")
        return
    if console.is_terminal:
        _with_progress(jobs, client, console)
    else:
        _plain(jobs, client, console)


def _plain(jobs: Sequence[BuildJob], client: Any, console: Console) -> None:
    def show(event: BuildEvent) -> None:
        if event.kind == "start":
            console.print(f"building {event.module} ({event.text})", markup=False)
        elif event.kind == "done":
            steps = f", {event.steps} steps" if event.steps else ""
            console.print(f"built {event.module} ({event.text}{steps})", markup=False)

    build_images(jobs, client=client, on_event=show)


def _with_progress(jobs: Sequence[BuildJob], client: Any, console: Console) -> None:
    from rich.progress import BarColumn, Progress, TextColumn
    from rich.table import Column

    width = max(len(job.module) for job in jobs)
    progress = Progress(
        TextColumn("{task.fields[module]}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[status]}", markup=False, table_column=Column(min_width=10)),
        TextColumn("{task.fields[image]}", markup=False, style="dim"),
        console=console,
    )
    with progress:
        rows = [
            progress.add_task(
                job.module,
                total=None,
                module=job.module.ljust(width),
                status="waiting",
                image=job.image,
            )
            for job in jobs
        ]
        for job, row in zip(jobs, rows, strict=True):
            try:
                build_images([job], client=client, on_event=_updater(progress, row))
            except BuildError:
                progress.update(row, status="failed")
                raise


def _updater(progress: Progress, row: TaskID) -> Callable[[BuildEvent], None]:
    def update(event: BuildEvent) -> None:
        if event.kind == "start":
            progress.update(row, status="starting")
        elif event.kind == "step" and event.step is not None and event.steps:
            progress.update(
                row,
                total=event.steps,
                completed=event.step - 1,
                status=f"step {event.step}/{event.steps}",
            )
        elif event.kind == "done":
            total = event.steps or 1
            progress.update(row, total=total, completed=total, status="done")

    return update
