"""The default executor: everything in this process, the data streamed in bounded batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from modelcycle.plugin import Executor, iter_batches


class LocalExecutor(Executor):
    """Scores and evaluates in this process: the whole dataset is one partition, read in
    batches, so memory stays bounded whatever the data's size."""

    name = "local"

    def reduce(
        self,
        dataset: Any,
        task: Callable[[Iterator[Any]], Any],
        merge: Callable[[Any, Any], Any],
        *,
        progress: Callable[[str], None],
        batch_rows: int,
    ) -> Any:
        return task(_counted(iter_batches(dataset, batch_rows=batch_rows), progress))

    def write(
        self,
        dataset: Any,
        transform: Callable[[Any], Any],
        output: Any,
        *,
        progress: Callable[[int], None],
        batch_rows: int,
    ) -> dict[str, Any]:
        return {"rows": output.stream(transform, iter_batches(dataset, batch_rows=batch_rows), progress)}


def _counted(batches: Iterator[Any], progress: Callable[[str], None]) -> Iterator[Any]:
    rows = 0
    for batch in batches:
        yield batch
        rows += len(batch)
        progress(f"{rows:,} rows")
