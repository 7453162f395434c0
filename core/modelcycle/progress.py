"""Progress of long work: on a terminal, a bar with what is done, the total and an ETA.

The recipes (train, score, evaluate) report through a `progress` callable that takes a short
stage text ("reading data", "scored 12,000 rows"); a Python caller may pass any such callable.
They also announce a total with :func:`expect` and the rows done with :func:`advance`, which
do nothing unless the callable is a :class:`Bar`, the command line's. Totals come for free
where they are known without reading the data: a Parquet dataset's row count is in its
files' footers (:func:`parquet_rows`), a DataFrame's is its length, and train counts its
stages.

The bar is drawn only for a person at a terminal: never with ``--json``, never when stderr
is piped or redirected (:func:`shows_bar`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .data import Dataset


def shows_bar(as_json: bool, stream: Any) -> bool:
    """Whether to draw progress on `stream`: only when it is a terminal and the output is not JSON."""
    if as_json:
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


def expect(progress: Any, total: int | None, unit: str = "rows", stage: str | None = None) -> None:
    """Tell `progress` how much work there is (rows, or train's stages) and, if given, the stage it
    is; nothing for a plain callable. A `total` of None (not known) still names the unit and stage."""
    hook = getattr(progress, "expect", None)
    if hook is not None:
        hook(total, unit, stage)


def advance(progress: Any, done: int) -> None:
    """Tell `progress` how many rows are done so far; nothing for a plain callable."""
    hook = getattr(progress, "advance", None)
    if hook is not None:
        hook(done)


def counting(task: Callable[[Iterator[Any]], Any], progress: Any) -> Callable[[Iterator[Any]], Any]:
    """`task` (which takes an iterator of DataFrames) reporting the rows it has been given so far."""
    if getattr(progress, "advance", None) is None:
        return task

    def counted(batches: Iterable[Any]) -> Any:
        def passing() -> Iterator[Any]:
            rows = 0
            for batch in batches:
                yield batch
                rows += len(batch)
                progress.advance(rows)

        return task(passing())

    return counted


def parquet_rows(dataset: Dataset | None) -> int | None:
    """The rows of a Parquet dataset, from its files' footers (no data is read); None otherwise."""
    if dataset is None or dataset.format != "parquet":
        return None
    import pyarrow.parquet as pq

    from .data import _filesystem

    try:
        fs, paths = _filesystem(dataset)
        total = 0
        for path in paths:
            with fs.open(path, "rb") as f:
                total += pq.ParquetFile(f).metadata.num_rows
    except Exception:  # noqa: BLE001 - only a display hint: reading the data says what is wrong
        return None
    return total


class Bar:
    """The command line's progress: the current stage, then a bar once a total is known.

    Called with a stage text, it shows it. With rows expected, the bar shows the rows done
    out of the total with the time left; with train's stages expected, each new stage text
    is one more stage done."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        count, remaining = _columns()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            count(),
            TimeElapsedColumn(),
            remaining(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("starting", total=None, unit="")
        self._unit = ""
        self._stages: list[str] = []

    def __enter__(self) -> Bar:
        self._progress.start()
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:  # done: the bar ends full
            task = self._progress.tasks[0]
            if task.total is not None:
                self._progress.update(self._task, completed=task.total)
        self._progress.stop()

    def __call__(self, stage: str) -> None:
        if self._unit == "rows":
            return  # the count shows the rows: the stage text stays the one the total came with
        self._stages.append(stage)
        fields: dict[str, Any] = {"description": stage}
        if self._unit == "stages":
            fields["completed"] = len(self._stages) - 1
        self._progress.update(self._task, **fields)

    def expect(self, total: int | None, unit: str, stage: str | None = None) -> None:
        self._unit = unit
        completed = max(len(self._stages) - 1, 0) if unit == "stages" else 0
        fields: dict[str, Any] = {"total": total, "completed": completed, "unit": unit}
        if stage is not None:
            fields["description"] = stage
        self._progress.update(self._task, **fields)

    def advance(self, done: int) -> None:
        self._progress.update(self._task, completed=done, unit=self._unit or "rows")

    @property
    def total(self) -> float | None:
        """The total expected (None: not known)."""
        return self._progress.tasks[0].total


def _count_text(task: Any) -> str:
    unit = task.fields.get("unit") or ""
    if unit == "stages":
        return f"stage {min(int(task.completed) + 1, int(task.total or 0))}/{int(task.total or 0)}"
    if not unit:
        return ""
    done = f"{int(task.completed):,}"
    return f"{done}/{int(task.total):,} {unit}" if task.total is not None else f"{done} {unit}"


def _columns() -> tuple[type, type]:
    """The rows-done and time-left columns (rich is imported only when a bar is drawn)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class CountColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(_count_text(task))

    class RemainingColumn(ProgressColumn):
        max_refresh = 0.5

        def render(self, task: Any) -> Text:
            remaining = task.time_remaining
            if task.total is None or remaining is None or task.finished:
                return Text("")
            minutes, seconds = divmod(int(remaining), 60)
            return Text(f"ETA {minutes}:{seconds:02d}")

    return CountColumn, RemainingColumn


@contextlib.contextmanager
def display(as_json: bool) -> Iterator[Bar | None]:
    """A :class:`Bar` on stderr while the work runs, when :func:`shows_bar`; else None."""
    import sys

    if not shows_bar(as_json, sys.stderr):
        yield None
        return
    from rich.console import Console

    with Bar(Console(stderr=True)) as bar:
        yield bar
