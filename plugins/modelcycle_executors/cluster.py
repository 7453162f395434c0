"""The `dask` executor: scoring and evaluation partition-wise on a Dask cluster.

dask.dataframe reads the dataset (Parquet, CSV or JSON lines from any fsspec URL, with
the project's storage options) and cuts it into partitions; each partition runs the
recipe's task on a worker: scoring writes its part of the output, evaluation reduces
it to the mergeable states of :mod:`modelcycle.states`, which come back here and are
merged. The task (the fitted model, the reference profile, the metrics) is sent to
every worker once. Training runs under joblib's Dask backend.

Workers need modelcycle and the project's plugins installed, and must reach the data
by the URL the settings give (and the output, when scoring); they never open the
store. A worker that dies mid-task has its task rerun elsewhere by the scheduler; a
task that fails for good fails the run, and nothing partial becomes visible.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from modelcycle import plugin
from modelcycle.plugin import DataError, Executor, Field, ModelcycleError, PluginContext, Section, SettingsError


class DaskOptions(Section):
    address: str | None = Field(
        None,
        description='Scheduler address, e.g. "tcp://scheduler:8786"; none: a LocalCluster on 127.0.0.1.',
    )
    n_workers: int | None = Field(
        None, ge=1, le=1024, description="LocalCluster: worker processes (default: one per core)."
    )
    threads_per_worker: int = Field(
        1, ge=1, le=1024, description="LocalCluster: threads per worker; also each worker's OMP_NUM_THREADS."
    )
    memory_limit: str = Field("auto", description='LocalCluster: memory per worker ("4GiB"), or "auto".')
    blocksize: str = Field(
        "128MiB",
        description="Input per partition: CSV and JSON-lines byte ranges; Parquet row groups gathered up to it.",
    )
    timeout: float = Field(
        30.0, gt=0, le=86400, description="Seconds to wait for the scheduler and the workers to answer."
    )


class DaskExecutor(Executor):
    """Runs scoring and evaluation on a Dask cluster, partition by partition."""

    name = "dask"
    Options = DaskOptions
    ships_tasks = True

    def __init__(self, options: Any = None, *, context: PluginContext | None = None) -> None:
        super().__init__(options, context=context)
        self._client: Any = None
        self._cluster: Any = None

    # -- the cluster ------------------------------------------------------------------------

    def client(self) -> Any:
        """The Dask client, connected (or the LocalCluster started) on first use."""
        if self._client is not None:
            return self._client
        try:
            import dask.dataframe  # noqa: F401 - checks the extra is complete
            import distributed
        except ImportError:
            raise SettingsError("'dask' needs Dask: pip install 'modelcycle[dask]'", key="project.executor") from None
        opts = self.options
        try:
            if opts.address:
                self._client = distributed.Client(opts.address, timeout=opts.timeout)
            else:
                self._cluster = distributed.LocalCluster(
                    n_workers=opts.n_workers,
                    threads_per_worker=opts.threads_per_worker,
                    memory_limit=opts.memory_limit,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",  # its HTTP server on loopback, on a free port
                    env={"OMP_NUM_THREADS": str(opts.threads_per_worker)},
                )
                self._client = distributed.Client(self._cluster, timeout=opts.timeout)
        except (OSError, TimeoutError, RuntimeError) as exc:  # RuntimeError: a LocalCluster that did not start
            where = opts.address or "a LocalCluster"
            raise ModelcycleError(f"cannot reach the Dask scheduler at {where}: {exc}") from None
        weakref.finalize(self, _close, self._client, self._cluster)
        return self._client

    def close(self) -> None:
        _close(self._client, self._cluster)
        self._client = self._cluster = None

    # -- the work ---------------------------------------------------------------------------

    def partitions(self, dataset: Any) -> list[Any]:
        """The dataset's partitions, as dask.delayed pandas DataFrames.

        Parquet goes through dask.dataframe.read_parquet (row groups gathered up to
        `blocksize`). CSV and JSON lines are cut into byte ranges at line ends by
        dask.bytes.read_bytes, and pandas reads each range on its own, inferring its
        types as the local executor does batch by batch: dask.dataframe.read_csv would
        instead force every partition into the types it guessed from the first rows.
        """
        plugin.dataset_files(dataset)  # one clear error when nothing is there
        options = dict(dataset.read_options)
        storage = dataset.storage_options or {}
        url = dataset.resolved
        with plugin.read_errors(dataset, dataset.url):
            if dataset.format == "parquet":
                import dask.dataframe as dd

                frame = dd.read_parquet(
                    url,
                    storage_options=storage or None,
                    split_row_groups="adaptive",
                    blocksize=self.options.blocksize,
                    **options,
                )
                return list(frame.to_delayed())
            return self._text_partitions(dataset, url, options, storage)

    def _text_partitions(self, dataset: Any, url: str, options: dict[str, Any], storage: dict[str, Any]) -> list[Any]:
        import dask
        from dask.bytes import read_bytes

        compressed = url.lower().endswith(self.context.compression_suffixes())
        if dataset.format == "csv" and url.endswith(".tsv") and "sep" not in options:
            options["sep"] = "\t"
        _, files = read_bytes(
            url,
            delimiter=b"\n",
            blocksize=None if compressed else self.options.blocksize,
            sample=False,
            compression="infer" if compressed else None,
            **storage,
        )
        read = dask.delayed(_read_block, pure=True)
        parts = []
        for blocks in files:
            for i, block in enumerate(blocks):
                # a CSV block after the first lacks the header: it is taken from the file's first block
                header = blocks[0] if dataset.format == "csv" and i > 0 else None
                parts.append(read(dataset, block, header, options))
        return parts

    def reduce(
        self,
        dataset: Any,
        task: Callable[[Iterator[Any]], Any],
        merge: Callable[[Any, Any], Any],
        *,
        progress: Callable[[str], None],
        batch_rows: int,
    ) -> Any:
        import dask

        client = self.client()
        parts = self.partitions(dataset)
        shipped = client.scatter(task, broadcast=True, hash=False)
        futures = client.compute([dask.delayed(_run)(shipped, part) for part in parts])
        result = None
        for done, partial in enumerate(self._results(client, futures, dataset), start=1):
            result = partial if result is None else merge(result, partial)
            progress(f"{done}/{len(parts)} partitions")
        return result

    def write(
        self,
        dataset: Any,
        transform: Callable[[Any], Any],
        output: Any,
        *,
        progress: Callable[[int], None],
        batch_rows: int,
    ) -> dict[str, Any]:
        import dask

        client = self.client()
        parts = self.partitions(dataset)
        staging = output.staging()
        try:
            shipped = client.scatter(transform, broadcast=True, hash=False)
            futures = client.compute(
                [dask.delayed(_write)(shipped, output, staging, i, part) for i, part in enumerate(parts)]
            )
            rows = 0
            for written in self._results(client, futures, dataset):
                rows += written
                progress(rows)
            if rows == 0:
                raise DataError(f"{output.label} has no rows: nothing to score")
            output.commit_parts(staging, {"rows": rows, "parts": len(parts)})
        except BaseException:
            output.discard_parts(staging)
            raise
        return {"rows": rows, "parts": len(parts)}

    def _results(self, client: Any, futures: list[Any], dataset: Any) -> Iterator[Any]:
        """Each future's result as it completes; the first failure cancels the rest."""
        import distributed

        try:
            for future in distributed.as_completed(futures):
                try:
                    yield future.result()
                except ModelcycleError:
                    raise
                except distributed.KilledWorker as exc:
                    raise ModelcycleError(
                        f"{dataset.label}: a Dask worker died on every attempt at one partition ({exc}); "
                        "give the workers more memory or smaller partitions (executor_options.blocksize)"
                    ) from None
                except (ValueError, OSError, KeyError, TypeError) as exc:
                    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise ModelcycleError(f"{dataset.label}: a Dask task failed: {message}") from None
        finally:
            client.cancel([f for f in futures if not f.done()])

    @contextlib.contextmanager
    def training(self) -> Iterator[None]:
        from joblib import parallel_config

        self.client()  # the default client joblib's dask backend finds
        with parallel_config(backend="dask", n_jobs=-1):
            yield


def _read_block(dataset: Any, block: bytes, first: bytes | None, options: dict[str, Any]) -> Any:
    """One byte range of a CSV or JSON-lines file as a DataFrame (on a worker)."""
    import io

    import pandas as pd

    with plugin.read_errors(dataset, dataset.url):
        if dataset.format == "jsonl":
            return pd.read_json(io.BytesIO(block), lines=True, **options)
        if first is not None:
            block = first[: first.index(b"\n") + 1] + block
        return pd.read_csv(io.BytesIO(block), **options)


def _run(task: Callable[[Iterator[Any]], Any], frame: Any) -> Any:
    return task(iter([frame]))


def _write(transform: Callable[[Any], Any], output: Any, staging: str, index: int, frame: Any) -> int:
    if not len(frame):
        return 0
    return output.write_part(staging, index, transform(frame))


def _close(client: Any, cluster: Any) -> None:
    with contextlib.suppress(Exception):
        if client is not None:
            client.close()
    with contextlib.suppress(Exception):
        if cluster is not None:
            cluster.close()
