"""Labels that arrive later: `score --log` keeps the served predictions by id in the store,
`evaluate --labels` joins the labels to them and evaluates the predictions as served."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import label_evaluation, open_project, prediction_log, retention
from modelcycle.cli import main
from modelcycle.errors import DataError, ModelcycleError, NotFoundError

from tests.conftest import write_settings

SETTINGS = """\
[project]
name = "late"
store = "{store}"
{options}
[datasets.train]
url = "data/train.parquet"

[models.m]
dataset = "train"
target = "y"
exclude = ["customer"]
params = {{ max_iter = 20 }}
threads = 1
id_column = "customer"
prediction_log = true
"""


def frame(rows: int, seed: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    city = rng.choice(["paris", "lyon", "nice"], size=rows)
    y = ((x1 + 0.5 * x2 + (city == "paris") + rng.normal(scale=0.8, size=rows)) > 0.4).astype(int)
    return pd.DataFrame({"customer": np.arange(start, start + rows), "x1": x1, "x2": x2, "city": city, "y": y})


def make(folder: Path, store: str = ".modelcycle", options: str = "") -> object:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    frame(600, 0).to_parquet(folder / "data" / "train.parquet", index=False)
    write_settings(folder, SETTINGS.format(store=store, options=options))
    return open_project(folder)


def comparable(record: dict) -> dict:
    return {k: round(v, 12) for k, v in record["metrics"].items() if v is not None}


@pytest.fixture
def project(tmp_path: Path):
    p = make(tmp_path / "p")
    p.train("m")
    return p


def test_delayed_labels_give_the_metrics_of_rescoring_the_same_rows(project, tmp_path: Path) -> None:
    new = frame(300, 1, start=10_000)
    summary = project.score("m", new.drop(columns="y"), output=str(tmp_path / "served.parquet"))
    assert summary["logged"]["rows"] == 300
    labels = new[["customer", "y"]].sample(frac=1.0, random_state=3)  # labels come in any order
    extra = pd.DataFrame({"customer": [1, 2, 3, 4, 5], "y": [0, 1, 0, 1, 0]})  # never scored
    labels = pd.concat([labels, extra], ignore_index=True)
    labels["customer"] = labels["customer"].astype("float64")  # 10000.0 read back joins 10000
    labels.to_csv(tmp_path / "labels.csv", index=False)

    late = project.evaluate("m", labels=str(tmp_path / "labels.csv"))
    rescored = project.evaluate("m", new)
    assert late["mode"] == "labels" and late["version"] == 1
    assert late["rows"] == late["labeled_rows"] == 300
    assert comparable(late) == comparable(rescored) and late["metrics"]["roc_auc"] > 0.6
    assert late["labels"] == {
        "rows": 305,
        "matched": 300,
        "unmatched": 5,
        "logged_predictions": 300,
        "unlabelled_predictions": 0,
        "deleted_version_rows": 0,
    }
    # no features were logged: no feature drift, but the prediction drift is measured
    assert late["drift"]["share"] is None and all(c.get("absent") for c in late["drift"]["columns"].values())
    assert late["drift"]["prediction"]["statistic"] is not None
    assert late["drift"]["prediction"]["statistic"] == pytest.approx(rescored["drift"]["prediction"]["statistic"])
    assert project.evaluations("m")[-2]["labels"]["unmatched"] == 5  # recorded in the history


def test_a_hash_join_in_many_buckets_gives_the_one_bucket_result(project, monkeypatch) -> None:
    new = frame(500, 2, start=0)
    for start in range(0, 500, 100):  # five scoring runs, five committed runs in the log
        project.score("m", new.iloc[start : start + 100].drop(columns="y"))
    assert len(prediction_log.runs(project.store, "m")) == 5
    whole = project.evaluate("m", labels=new[["customer", "y"]])
    monkeypatch.setattr(label_evaluation, "BUCKET_ROWS", 37)  # 14 buckets
    steps: list[str] = []
    split = project.evaluate("m", labels=new[["customer", "y"]], progress=steps.append)
    assert "joining bucket 14/14" in steps
    assert comparable(split) == comparable(whole) and split["labels"] == whole["labels"]
    assert split["labeled_rows"] == 500


def test_each_version_gets_its_own_evaluation_of_what_it_served(project) -> None:
    new = frame(400, 4, start=0)
    project.score("m", new.iloc[:250].drop(columns="y"))  # version 1 serves customers 0-249
    project.train("m", activate=True)
    project.score("m", new.iloc[150:].drop(columns="y"))  # version 2 serves 150-399 (150-249 twice)
    records = project.evaluate("m", labels=new[["customer", "y"]])
    assert [r["version"] for r in records] == [1, 2]
    assert [r["rows"] for r in records] == [250, 250]
    for record, rows in zip(records, (new.iloc[:250], new.iloc[150:]), strict=True):
        rescored = project.evaluate("m", rows, version=record["version"])
        assert comparable(record) == comparable(rescored)
        assert record["labels"]["matched"] == 400 and record["labels"]["unmatched"] == 0
    only = project.evaluate("m", labels=new[["customer", "y"]], version=2)
    assert only["version"] == 2 and only["rows"] == 250


def test_a_killed_scorer_leaves_nothing_visible_and_concurrent_runs_never_clash(project) -> None:
    new = frame(50, 5, start=0)
    scored = project.score("m", new.drop(columns="y"), log=False)
    assert prediction_log.runs(project.store, "m") == []
    stamp = pd.Timestamp("2026-01-01T00:00:00Z")
    a = prediction_log.LogWriter(project.store, "m", 1, "customer", stamp)
    b = prediction_log.LogWriter(project.store, "m", 1, "customer", stamp)  # same instant, another scorer
    a.add(scored.iloc[:20])
    b.add(scored.iloc[20:])
    a.add(scored.iloc[20:30])
    assert a.run != b.run
    b.commit()  # a is "killed": its segments have no manifest
    assert [r["rows"] for r in prediction_log.runs(project.store, "m")] == [30]
    record = project.evaluate("m", labels=new[["customer", "y"]])
    assert record["rows"] == 30 and record["labels"]["unmatched"] == 20
    # gc removes the killed run's segments once they are older than the grace period, never a committed run
    assert project.gc("m", keep=5)["orphans"] == []
    later = time.time() + retention.GRACE_SECONDS + 60
    report = retention.collect(project, "m", keep=5, now=later)
    assert report["orphans"] == [f"{a.run}/part-00000.parquet", f"{a.run}/part-00001.parquet"]
    assert prediction_log.uncommitted(project.store, "m") == []
    assert [r["rows"] for r in prediction_log.runs(project.store, "m")] == [30]


def test_gc_leaves_every_segment_of_a_scoring_run_that_lasts_over_an_hour(project) -> None:
    """A run is judged by its newest segment: its first one, older than the grace period, stays."""
    new = frame(60, 6, start=0)
    scored = project.score("m", new.drop(columns="y"), log=False)
    writer = prediction_log.LogWriter(project.store, "m", 1, "customer", pd.Timestamp.now(tz="UTC"))
    writer.add(scored.iloc[:30])
    old = time.time() - retention.GRACE_SECONDS - 60
    os.utime(project.settings.root / ".modelcycle" / f"{writer.run}/part-00000.parquet", (old, old))
    writer.add(scored.iloc[30:])  # written just now: the run is still going
    assert project.gc("m", keep=5)["orphans"] == []
    writer.commit()
    record = project.evaluate("m", labels=new[["customer", "y"]])
    assert record["rows"] == 60 and record["labels"]["unmatched"] == 0


def test_a_run_whose_segment_was_removed_is_not_committed(project) -> None:
    new = frame(40, 7, start=0)
    scored = project.score("m", new.drop(columns="y"), log=False)
    writer = prediction_log.LogWriter(project.store, "m", 1, "customer", pd.Timestamp.now(tz="UTC"))
    writer.add(scored.iloc[:20])
    writer.add(scored.iloc[20:])
    project.store.delete(f"{writer.run}/part-00000.parquet")  # as gc would, had the run been idle for an hour
    with pytest.raises(DataError, match=r"prediction log run .*: segment part-00000\.parquet is missing from"):
        writer.commit()
    assert prediction_log.runs(project.store, "m") == []  # no manifest naming a missing part


def test_duplicate_labels_and_labels_for_another_model_are_errors(project) -> None:
    new = frame(60, 6, start=0)
    project.score("m", new.drop(columns="y"))
    before = len(project.evaluations("m"))
    twice = pd.concat([new[["customer", "y"]], new[["customer", "y"]].iloc[[7]]], ignore_index=True)
    with pytest.raises(DataError, match="id '7' appears more than once: give one label per id"):
        project.evaluate("m", labels=twice)
    with pytest.raises(DataError, match="has no column 'y', the label column of model 'm'"):
        project.evaluate("m", labels=new[["customer"]].assign(churned=1))
    with pytest.raises(DataError, match="none of the 3 ids in the labels matches a logged prediction"):
        project.evaluate("m", labels=pd.DataFrame({"customer": ["a", "b", "c"], "y": [0, 1, 0]}))
    with pytest.raises(DataError, match="column 'customer' has no id at row 2"):
        project.evaluate("m", labels=pd.DataFrame({"customer": [1.0, None], "y": [0, 1]}))
    many = pd.DataFrame({"customer": np.arange(70_000, dtype="float64"), "y": 0})
    many.loc[69_999, "customer"] = np.nan  # in the second batch of 65,536 rows: counted over the whole file
    with pytest.raises(DataError, match="column 'customer' has no id at row 70000"):
        project.evaluate("m", labels=many)
    with pytest.raises(ModelcycleError, match="either data or labels"):
        project.evaluate("m", new, labels=new)
    assert len(project.evaluations("m")) == before


def test_no_log_yet_is_one_clear_error(project) -> None:
    with pytest.raises(NotFoundError, match="no logged predictions of model 'm': score with 'modelcycle score --log'"):
        project.evaluate("m", labels=frame(5, 1)[["customer", "y"]])


def test_the_cli_logs_and_joins_with_paths_from_the_current_folder(project, tmp_path: Path, monkeypatch, capsys):
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    new = frame(120, 7, start=500)
    new.drop(columns="y").to_csv(work / "new.csv", index=False)
    new[["customer", "y"]].to_csv(work / "truth.csv", index=False)
    root = str(project.settings.root)
    assert main_code(["--project", root, "score", "m", "new.csv", "out.csv", "--no-log"]) == 0
    assert "logged" not in capsys.readouterr().out
    assert main_code(["--project", root, "score", "m", "new.csv", "out.csv", "--log"]) == 0
    assert "(logged 120 predictions by id)" in capsys.readouterr().out
    assert main_code(["--project", root, "evaluate", "m", "--labels", "truth.csv"]) == 0
    out = capsys.readouterr().out
    assert "labels     120 of 120 ids matched a logged prediction, 0 unmatched" in out
    assert main_code(["--project", root, "evaluate", "m", "--labels", "truth.csv", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["mode"] == "labels" and record["dataset"]["url"] == str(work / "truth.csv")
    assert main_code(["--project", root, "evaluate", "m", "new.csv", "--labels", "truth.csv"]) == 2
    expected = (
        "error: give DATA (a dataset name or URL) or --labels FILE: one of the two; see 'modelcycle evaluate --help'\n"
    )
    assert capsys.readouterr().err == expected
    assert main_code(["--project", root, "evaluate", "m"]) == 2
    assert capsys.readouterr().err == expected


def main_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def test_the_log_and_the_labels_on_s3(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    import s3fs

    options = f'store_options = {{ endpoint_url = "{s3_endpoint}" }}'
    project = make(tmp_path / "s3", store=f"s3://{s3_bucket}/store", options=options)
    project.train("m")
    new = frame(200, 8, start=0)
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint})
    with fs.open(f"{s3_bucket}/in/new.parquet", "wb") as f:
        new.drop(columns="y").to_parquet(f, index=False)
    with fs.open(f"{s3_bucket}/in/labels.csv", "wb") as f:
        f.write(new[["customer", "y"]].to_csv(index=False).encode())
    project.score("m", f"s3://{s3_bucket}/in/new.parquet", output=f"s3://{s3_bucket}/out/scored.parquet")
    keys = fs.find(f"{s3_bucket}/store/models/m/predictions")
    assert [k.rsplit("/", 1)[1] for k in keys] == ["manifest.json", "part-00000.parquet"]
    record = project.evaluate("m", labels=f"s3://{s3_bucket}/in/labels.csv")
    assert comparable(record) == comparable(project.evaluate("m", new)) and record["labels"]["unmatched"] == 0


def test_concurrent_scorers_append_without_losing_a_row(project) -> None:
    from concurrent.futures import ThreadPoolExecutor

    new = frame(400, 9, start=0)
    root = project.settings.root

    def score(start: int) -> int:
        return open_project(root).score("m", new.iloc[start : start + 100].drop(columns="y"), log=True).shape[0]

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(score, range(0, 400, 100))) == [100] * 4
    assert sorted(r["rows"] for r in prediction_log.runs(project.store, "m")) == [100] * 4
    record = project.evaluate("m", labels=new[["customer", "y"]])
    assert record["rows"] == 400 and record["labels"]["unmatched"] == 0


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_regression_and_multiclass_labels_give_the_rescoring_metrics(tmp_path: Path, task: str) -> None:
    make(tmp_path / task)  # the folder and settings, then a target of this task
    data = frame(600, 0)
    rng = np.random.default_rng(1)
    if task == "regression":
        data["y"] = data["x1"] * 2.5 + rng.normal(scale=0.3, size=len(data))
    else:
        data["y"] = np.where(data["x1"] > 0.5, "high", np.where(data["x1"] < -0.5, "low", "mid"))
    data.to_parquet(tmp_path / task / "data" / "train.parquet", index=False)
    extra = (
        '\ntask = "regression"\nestimator = "sklearn.ensemble.HistGradientBoostingRegressor"'
        if task == "regression"
        else ""
    )
    settings = tmp_path / task / "modelcycle.toml"
    settings.write_text(settings.read_text().replace("threads = 1", "threads = 1" + extra))
    project = open_project(tmp_path / task)
    project.train("m")
    new = data.iloc[:200].assign(customer=lambda f: f["customer"] + 5000)
    project.score("m", new.drop(columns="y"))
    late = project.evaluate("m", labels=new[["customer", "y"]])
    rescored = project.evaluate("m", new)
    assert late["labeled_rows"] == 200 and comparable(late) == comparable(rescored) and comparable(late)


def test_labels_of_versions_gc_deleted_are_left_out_and_counted(project, capsys, monkeypatch) -> None:
    new = frame(400, 4, start=0)
    project.score("m", new.iloc[:250].drop(columns="y"))  # version 1 serves customers 0-249
    project.train("m", activate=True)
    project.score("m", new.iloc[150:].drop(columns="y"))  # version 2 serves 150-399
    monkeypatch.setattr(retention, "PROTECTED_ACTIVATIONS", 1)  # version 1, active before, may go
    assert project.gc("m", keep=1)["deleted_versions"] == [1]  # its profile goes; its logged rows stay
    record = project.evaluate("m", labels=new[["customer", "y"]])
    assert record["version"] == 2 and record["rows"] == 250
    assert comparable(record) == comparable(project.evaluate("m", new.iloc[150:], version=2))
    assert record["labels"]["deleted_version_rows"] == 250 and record["labels"]["matched"] == 400
    root = str(project.settings.root)
    assert main_code(["--project", root, "evaluate", "m", "--labels", str(_csv(project, new[["customer", "y"]]))]) == 0
    assert "250 labelled predictions of versions gc deleted left out" in capsys.readouterr().out
    # labels only version 1 served: nothing is left to evaluate, one error naming gc
    early = _csv(project, new.iloc[:150][["customer", "y"]])
    with pytest.raises(DataError, match=r"all 150 labelled predictions .* versions of model 'm' that gc deleted \(1\)"):
        project.evaluate("m", labels=str(early))
    assert main_code(["--project", root, "evaluate", "m", "--labels", str(early)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "gc deleted" in err
    with pytest.raises(NotFoundError, match="version 1 was deleted by gc"):
        project.evaluate("m", labels=str(early), version=1)


def _csv(project, labels: pd.DataFrame) -> Path:
    path = Path(project.settings.root) / f"labels-{len(labels)}.csv"
    labels.to_csv(path, index=False)
    return path
