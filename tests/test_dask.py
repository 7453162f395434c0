"""The dask executor on a real distributed.LocalCluster (2 worker processes on 127.0.0.1):
scoring and evaluation give the local executor's results, a killed worker leads to a
retry or a clean failure, never to an output that looks complete, and training runs
its folds and bootstrap under joblib's Dask backend with the local results."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from modelcycle import ModelcycleError, open_project
from modelcycle.cli import main
from modelcycle.errors import DataError, SettingsError

from tests.conftest import write_settings

MODEL = """
[datasets.train]
url = "train.parquet"
[models.m]
dataset = "train"
target = "y"
estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
params = { max_iter = 20 }
threads = 1
split = { method = "kfold", folds = 3, seed = 0 }
[models.forest]
dataset = "train"
target = "y"
features = ["x0", "x1", "x2", "x3", "x4"]
estimator = "sklearn.ensemble.RandomForestClassifier"
params = { n_estimators = 16, max_depth = 4, n_jobs = 2, random_state = 0 }
[models.reg]
dataset = "train"
target = "x4"
features = ["x0", "x1", "x2", "x3", "colour"]
task = "regression"
estimator = "sklearn.linear_model.Ridge"
threads = 1
"""
DASK = '[project]\nname = "t"\nstore = ".modelcycle"\nexecutor = "dask"\n'
DASK += '[project.executor_options]\nn_workers = 2\nblocksize = "96KiB"\n'
LOCAL = '[project]\nname = "t"\nstore = ".modelcycle"\n'


def frame(rows: int, seed: int, drift: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(5)})
    out["colour"] = rng.choice(["red", "green", "blue"], size=rows)
    out.loc[rng.random(rows) < 0.05, "x2"] = np.nan
    if drift:
        out["x0"] += 0.6
        out.loc[rng.random(rows) < 0.05, "colour"] = "violet"
    logit = out["x0"] + out["x1"] - 0.5 * (out["colour"] == "red")
    out["y"] = (logit + rng.normal(size=rows) > 0.3).astype(int)
    return out


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str):
    """One folder, one store, two settings files: the local executor and a 2-worker LocalCluster.

    The feedback is Parquet in row groups of 4,000 rows (one partition each) and CSV (byte ranges)."""
    folder = tmp_path_factory.mktemp("dask")
    frame(6_000, 0).to_parquet(folder / "train.parquet", index=False)
    feedback = frame(24_000, 1, drift=True)
    feedback.loc[feedback.index % 7 == 0, "y"] = np.nan  # unlabelled rows
    pq.write_table(pa.Table.from_pandas(feedback, preserve_index=False), folder / "feedback.parquet", row_group_size=4000)
    feedback.to_csv(folder / "feedback.csv", index=False)
    write_settings(folder, LOCAL + MODEL)
    (folder / "dask.toml").write_text(DASK + MODEL)
    local = open_project(folder)
    local.train("m")
    cluster = open_project(folder / "dask.toml")
    yield local, cluster, folder
    cluster.close()


def same(a: object, b: object, path: str = "") -> None:
    """Equal records: numbers within 1e-9, everything else exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), (path, set(a) ^ set(b))
        for key in a:
            if key not in ("id", "evaluated_at", "seconds"):
                same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


@pytest.mark.parametrize("source", ["feedback.parquet", "feedback.csv"])
def test_evaluation_on_the_cluster_equals_the_local_evaluation(projects, source) -> None:
    local, cluster, folder = projects
    messages: list[str] = []
    on_cluster = cluster.evaluate("m", str(folder / source), progress=messages.append)
    here = local.evaluate("m", str(folder / source))
    assert on_cluster["rows"] == 24_000 and on_cluster["labeled_rows"] == here["labeled_rows"] < 24_000
    assert on_cluster["drift"]["drifted_columns"] and "x0" in on_cluster["drift"]["drifted_columns"]
    same(on_cluster, here)
    partitions = [m for m in messages if "partitions" in m]
    assert partitions and partitions[-1].endswith(f"{len(partitions)}/{len(partitions)} partitions")
    assert len(partitions) >= 4  # several partitions were really merged


def test_the_regression_estimate_on_the_cluster_equals_the_local_one(projects) -> None:
    local, cluster, folder = projects
    if not local.versions("reg"):
        local.train("reg")
    unlabelled = pd.read_parquet(folder / "feedback.parquet").drop(columns="x4")
    pq.write_table(pa.Table.from_pandas(unlabelled), folder / "unlabelled.parquet", row_group_size=4000)
    on_cluster = cluster.evaluate("reg", str(folder / "unlabelled.parquet"))
    here = local.evaluate("reg", str(folder / "unlabelled.parquet"))
    assert on_cluster["labeled_rows"] == 0 and set(on_cluster["estimated"]) == {"mae", "rmse"}
    assert set(on_cluster["estimated_bands"]) == {"mae", "rmse"}
    same(on_cluster, here)


def test_production_predictions_of_two_versions_on_the_cluster(projects) -> None:
    local, cluster, folder = projects
    scored = local.score("m", str(folder / "feedback.parquet"))
    scored["model_version"] = np.where(scored.index % 3 == 0, 1, local.active_version("m"))
    if local.active_version("m") == 1:
        local.train("m")
        scored["model_version"] = np.where(scored.index % 3 == 0, 1, 2)
    pq.write_table(pa.Table.from_pandas(scored, preserve_index=False), folder / "served.parquet", row_group_size=5000)
    on_cluster = cluster.evaluate("m", str(folder / "served.parquet"))
    here = local.evaluate("m", str(folder / "served.parquet"))
    assert [r["version"] for r in on_cluster] == [1, 2] and all(r["mode"] == "production" for r in on_cluster)
    same(on_cluster, here)


def test_scores_from_the_cluster_equal_local_scores_and_appear_complete(projects) -> None:
    local, cluster, folder = projects
    summary = cluster.score("m", str(folder / "feedback.parquet"), folder / "out" / "scored.parquet")
    assert summary["rows"] == 24_000 and summary["parts"] == 6
    written = folder / "out" / "scored.parquet"
    assert sorted(p.name for p in written.iterdir()) == ["_SUCCESS", *[f"part-{i:05d}.parquet" for i in range(6)]]
    assert json.loads((written / "_SUCCESS").read_text()) == {"parts": 6, "rows": 24_000}
    assert not [p for p in (folder / "out").iterdir() if p.name.startswith(".")]  # no staging left
    from_cluster = pd.read_parquet(written)
    here = local.score("m", str(folder / "feedback.parquet"))
    proba = [c for c in here.columns if c.startswith("proba_")]
    assert list(from_cluster.columns) == list(here.columns)
    assert (from_cluster["prediction"].to_numpy() == here["prediction"].to_numpy()).all()
    assert np.array_equal(from_cluster[proba].to_numpy(), here[proba].to_numpy())
    # scoring again replaces the folder whole
    again = cluster.score("m", str(folder / "feedback.csv"), written)
    assert again["rows"] == 24_000 and (written / "_SUCCESS").exists()
    assert len(pd.read_parquet(written)) == 24_000


def _kill_a_worker(cluster) -> None:
    client = cluster.executor.client()
    pids = client.run(os.getpid)
    os.kill(sorted(pids.values())[0], signal.SIGKILL)


def test_a_worker_killed_mid_evaluation_is_retried_or_fails_cleanly(projects) -> None:
    local, cluster, folder = projects
    killed: list[bool] = []

    def kill_once(message: str) -> None:
        if "partitions" in message and not killed:
            killed.append(True)
            _kill_a_worker(cluster)

    before = len(local.evaluations("m"))
    try:
        record = cluster.evaluate("m", str(folder / "feedback.csv"), progress=kill_once)
    except ModelcycleError as exc:  # a clean failure: one line, nothing recorded
        assert "\n" not in str(exc)
        assert len(local.evaluations("m")) == before
    else:
        same(record, local.evaluate("m", str(folder / "feedback.csv")))
    assert killed
    cluster.executor.client().wait_for_workers(2, timeout=60)


def test_a_worker_killed_mid_scoring_never_leaves_an_output_that_looks_complete(projects) -> None:
    local, cluster, folder = projects
    target = folder / "killed" / "scored.csv"
    killed: list[bool] = []

    def kill_once(rows: int) -> None:
        if not killed:
            killed.append(True)
            _kill_a_worker(cluster)

    try:
        summary = cluster.score("m", str(folder / "feedback.csv"), target, progress=kill_once)
    except ModelcycleError:
        assert not target.exists()
    else:
        assert summary["rows"] == 24_000 and (target / "_SUCCESS").exists()
        parts = sorted(target.glob("part-*.csv"))
        assert sum(len(pd.read_csv(p)) for p in parts) == 24_000
    assert killed
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]
    cluster.executor.client().wait_for_workers(2, timeout=60)


def test_a_data_error_on_a_worker_is_one_clean_error_and_records_nothing(projects) -> None:
    local, cluster, folder = projects
    bad = frame(9_000, 3)
    bad["y"] = bad["y"].astype(object)
    bad.loc[8_500, "y"] = "maybe"  # in the last partition only
    bad.to_csv(folder / "bad.csv", index=False)
    before = len(local.evaluations("m"))
    with pytest.raises(DataError, match="label 'maybe' in column 'y' is not a class of version"):
        cluster.evaluate("m", str(folder / "bad.csv"))
    assert len(local.evaluations("m")) == before


def test_training_on_the_cluster_gives_the_local_metrics(projects) -> None:
    from distributed import get_task_stream

    local, cluster, folder = projects
    with get_task_stream(cluster.executor.client()) as stream:
        on_cluster = cluster.train("m")
    here = local.train("m")
    same(on_cluster.metrics, here.metrics)
    assert on_cluster.metadata["metrics_std"] == here.metadata["metrics_std"]  # three folds, same spread
    assert len(stream.data) >= 3  # the folds ran on the workers


def test_an_estimator_with_n_jobs_fits_its_trees_on_the_cluster(projects) -> None:
    from distributed import get_task_stream

    local, cluster, folder = projects
    with get_task_stream(cluster.executor.client()) as stream:
        on_cluster = cluster.train("forest")
    here = local.train("forest")
    same(on_cluster.metrics, here.metrics)
    assert any("_parallel_build_trees" in str(r["key"]) for r in stream.data)  # the trees were built on the workers


def test_the_bootstrap_on_the_cluster_draws_the_local_resamples(projects) -> None:
    from distributed import get_task_stream
    from modelcycle.activation import Side, paired_bootstrap

    local, cluster, folder = projects
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    a, b = y + rng.normal(0, 1.0, 500), y + rng.normal(0, 1.2, 500)

    def side(score: np.ndarray) -> Side:
        return Side(None, 0.0, lambda w: float(np.average((score > 0.5) == y, weights=w)))

    kwargs = {"rows": 500, "greater_is_better": True, "resamples": 250, "seed": 3}
    here = paired_bootstrap(side(a), side(b), **kwargs)
    with get_task_stream(cluster.executor.client()) as stream, cluster.executor.training():
        on_cluster = paired_bootstrap(side(a), side(b), **kwargs)
    assert len(stream.data) >= 3  # three blocks of at most 100 resamples
    assert np.array_equal(on_cluster, here) and len(set(here.tolist())) > 10


def test_data_and_output_on_s3(projects, s3_endpoint: str, s3_bucket: str) -> None:
    """Workers read the data and write the parts on S3 with the project's storage options."""
    local, cluster, folder = projects
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint})
    fs.put(str(folder / "feedback.parquet"), f"{s3_bucket}/in/feedback.parquet")
    fs.put(str(folder / "train.parquet"), f"{s3_bucket}/in/train.parquet")
    remote = tmp = folder / "s3"
    tmp.mkdir(exist_ok=True)
    options = f'store_options = {{ endpoint_url = "{s3_endpoint}" }}\n'
    store = f'store = "s3://{s3_bucket}/store"\n'
    text = DASK.replace('store = ".modelcycle"\n', store + options) + MODEL.replace(
        'url = "train.parquet"', f'url = "s3://{s3_bucket}/in/train.parquet"'
    )
    write_settings(remote, text)
    project = open_project(remote)
    project._executor = cluster.executor  # the module's cluster: no second one
    try:
        project.train("m")
        record = project.evaluate("m", f"s3://{s3_bucket}/in/feedback.parquet")
        summary = project.score("m", f"s3://{s3_bucket}/in/feedback.parquet", f"s3://{s3_bucket}/out/scored.parquet")
    finally:
        project._executor = None
    assert record["rows"] == 24_000 and summary["rows"] == 24_000
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{s3_bucket}/out/scored.parquet"))
    assert names == ["_SUCCESS", *[f"part-{i:05d}.parquet" for i in range(6)]]
    assert json.loads(fs.cat(f"{s3_bucket}/out/scored.parquet/_SUCCESS")) == {"parts": 6, "rows": 24_000}


def test_executor_settings_errors(tmp_path: Path, capsys) -> None:
    cases = [
        ('executor = "daks"\n', "project.executor: unknown executor 'daks'; did you mean 'dask'?"),
        ('executor = "dask"\nexecutor_options = { workers = 2 }\n', "project.executor_options.workers"),
        ('executor = "dask"\nexecutor_options = { n_workers = 0 }\n', "project.executor_options.n_workers"),
        ('executor_options = { address = "tcp://127.0.0.1:1" }\n', "executor 'local' takes no options"),
    ]
    for i, (extra, expected) in enumerate(cases):
        folder = tmp_path / f"p{i}"
        write_settings(folder, f'[project]\nname = "t"\n{extra}')
        with pytest.raises(SettingsError) as info:
            open_project(folder)
        assert expected in str(info.value)
        with pytest.raises(SystemExit) as exit_info:
            main(["--project", str(folder), "versions", "m"])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.startswith("error:") and expected in err and err.count("\n") == 1


def test_an_unreachable_scheduler_is_one_line_naming_it(tmp_path: Path, capsys) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path / "p"
    text = f'[project]\nname = "t"\nexecutor = "dask"\n[project.executor_options]\naddress = "tcp://127.0.0.1:{port}"\n'
    write_settings(folder, text + 'timeout = 1\n[datasets.d]\nurl = "d.csv"\n[models.m]\ndataset = "d"\ntarget = "y"\n')
    frame(200, 0).to_csv(folder / "d.csv", index=False)
    with pytest.raises(SystemExit) as info:
        main(["--project", str(folder), "train", "m"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")


def test_logged_predictions_and_late_labels_with_the_cluster(projects) -> None:
    """Scoring on the cluster logs what it served (read back from the committed output, as
    workers never open the store); labels joined to the log give the re-scoring metrics."""
    local, cluster, folder = projects
    logged = folder / "logged"
    write_settings(
        logged,
        DASK.replace('store = ".modelcycle"', 'store = "../.modelcycle"')
        + MODEL.replace('url = "train.parquet"', 'url = "../train.parquet"').replace(
            "threads = 1\n", 'threads = 1\nid_column = "row"\n', 1
        ),
    )
    feedback = pd.read_parquet(folder / "feedback.parquet").reset_index(names="row")
    pq.write_table(
        pa.Table.from_pandas(feedback.drop(columns="y"), preserve_index=False),
        logged / "served.parquet",
        row_group_size=4000,
    )
    feedback[["row", "y"]].to_csv(logged / "labels.csv", index=False)
    project = open_project(logged)
    project._executor = cluster.executor  # the module's cluster: no second one
    try:
        summary = project.score("m", str(logged / "served.parquet"), str(logged / "out.parquet"), log=True)
        assert summary["parts"] == 6 and summary["logged"]["rows"] == 24_000
        late = project.evaluate("m", labels=str(logged / "labels.csv"))
    finally:
        project._executor = None
    labelled = feedback["y"].notna()
    assert late["rows"] == 24_000 and late["labeled_rows"] == int(labelled.sum())
    assert late["labels"]["unmatched"] == 0 and late["labels"]["unlabelled_predictions"] == 0
    rescored = local.evaluate("m", feedback.drop(columns="row"), version=late["version"])
    for name, value in rescored["metrics"].items():
        assert late["metrics"][name] == pytest.approx(value, rel=1e-9), name
