"""compare: two trained versions on the same rows, every number recomputed here independently.

The rows compared are the labelled rows neither version was trained on. Here they are found
from each version's stored row fingerprint and checked against the training rows the random
split really used (docs/training.md); the metrics, their difference and the bootstrap
interval are then recomputed with scikit-learn and numpy from the fitted models' own
predictions, with the resampling the docs describe.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.cli import main
from modelcycle.errors import ModelcycleError
from modelcycle.rowset import RowSet
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, roc_auc_score

from tests.conftest import write_settings

SETTINGS = """\
[project]
name = "cmp"
[datasets.d]
url = "d.csv"
[models.m]
dataset = "d"
target = "y"
threads = 1
{model}
[models.m.activation]
policy = "{policy}"
min_rows = 10
"""
TREE = {
    "binary": "sklearn.tree.DecisionTreeClassifier",
    "multiclass": "sklearn.tree.DecisionTreeClassifier",
    "regression": "sklearn.tree.DecisionTreeRegressor",
}
LINEAR = {
    "binary": "sklearn.linear_model.LogisticRegression",
    "multiclass": "sklearn.linear_model.LogisticRegression",
    "regression": "sklearn.linear_model.LinearRegression",
}


def rows(task: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    signal = X @ [1.0, -0.8, 0.6, 0.3] + rng.normal(scale=1.0, size=n)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    if task == "binary":
        frame["y"] = (signal > 0).astype(int)
    elif task == "multiclass":
        frame["y"] = np.digitize(signal, [-0.7, 0.7])  # classes 0, 1, 2
    else:
        frame["y"] = 3.0 * signal + 10.0
    return frame


def configure(folder: Path, task: str, estimator: str, policy: str = "always", extra: str = "") -> object:
    model = f'estimator = "{estimator}"\ntask = "{task}"\n{extra}'
    write_settings(folder, SETTINGS.format(model=model, policy=policy))
    return open_project(folder)


def two_versions(folder: Path, task: str, policy: str = "always") -> object:
    """Version 1 a tree on 600 rows; version 2 a linear model on the grown data (900 rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows(task, 600, 0).to_csv(folder / "d.csv", index=False)
    configure(folder, task, TREE[task], policy).train("m")
    pd.concat([rows(task, 600, 0), rows(task, 300, 1)]).to_csv(folder / "d.csv", index=False)
    project = configure(folder, task, LINEAR[task], policy)
    project.train("m")
    return project


def random_split(rows: int, test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(training, holdout) positions exactly as the random split makes them (docs/training.md)."""
    shuffled = np.random.default_rng(seed).permutation(rows)
    cut = int(np.ceil(rows * test_size))
    return np.sort(shuffled[cut:]), np.sort(shuffled[:cut])


def compared_rows(project, frame: pd.DataFrame) -> np.ndarray:  # noqa: ANN001
    """The rows neither version was trained on, by their fingerprints, checked against the splits."""
    seen = np.zeros(len(frame), dtype=bool)
    for version in (1, 2):
        fingerprint = RowSet.from_bytes(project.registry.read_attachment("m", version, "rows.bloom"))
        seen |= fingerprint.contains(frame)
    truly = np.zeros(len(frame), dtype=bool)
    truly[random_split(600)[0]] = True  # version 1's training rows, the first 600 of the grown data
    truly[random_split(900)[0]] = True
    assert seen[truly].all()  # no row either was trained on is compared
    assert seen.sum() - truly.sum() <= 3  # and only the odd false positive of a Bloom filter besides
    return ~seen


def bootstrap(metric, y: np.ndarray, a, b, rows: int, resamples: int, seed: int) -> np.ndarray:  # noqa: ANN001
    """B − A under the documented resampling: row counts in blocks of 100, generator seeded (seed, block)."""
    deltas = []
    for block, start in enumerate(range(0, resamples, 100)):
        rng = np.random.default_rng((seed, block))
        for _ in range(min(100, resamples - start)):
            w = np.bincount(rng.integers(0, rows, rows), minlength=rows).astype("float64")
            deltas.append(metric(y, b, w) - metric(y, a, w))
    return np.asarray(deltas)


def by_name(result) -> dict:  # noqa: ANN001
    return {m.metric: m for m in result.metrics}


def test_binary_versions_compared_on_rows_neither_saw_with_the_paired_bootstrap(tmp_path: Path) -> None:
    project = two_versions(tmp_path / "p", "binary")
    result = project.compare("m", 1, 2, resamples=300)

    frame = pd.read_csv(tmp_path / "p" / "d.csv")
    keep = compared_rows(project, frame)
    assert (result.rows_compared, result.rows_excluded) == (int(keep.sum()), int((~keep).sum()))
    assert result.source == "dataset" and result.compared_on == "d" and result.note is None
    kept = frame[keep]
    y = kept["y"].to_numpy()
    proba = {v: project.load_model("m", v).predict_proba(kept[["a", "b", "c", "d"]])[:, 1] for v in (1, 2)}

    got = by_name(result)
    assert result.primary_metric == "roc_auc"
    assert got["roc_auc"].a == pytest.approx(roc_auc_score(y, proba[1]), abs=1e-12)
    assert got["roc_auc"].b == pytest.approx(roc_auc_score(y, proba[2]), abs=1e-12)
    assert got["roc_auc"].difference == pytest.approx(roc_auc_score(y, proba[2]) - roc_auc_score(y, proba[1]))
    assert got["log_loss"].difference == pytest.approx(log_loss(y, proba[2]) - log_loss(y, proba[1]))
    assert got["accuracy"].a == pytest.approx(accuracy_score(y, proba[1] >= 0.5))

    def auc(y, scores, w):  # noqa: ANN001, ANN202
        return roc_auc_score(y, scores, sample_weight=w)

    deltas = bootstrap(auc, y, proba[1], proba[2], len(y), 300, seed=0)
    low, high = np.percentile(deltas, [2.5, 97.5])
    assert (got["roc_auc"].low, got["roc_auc"].high) == (pytest.approx(low), pytest.approx(high))
    # the memorising tree loses to the linear model on rows it never saw, clearly
    assert high < 0 or low > 0
    assert got["roc_auc"].better == ("b" if low > 0 else "a")
    assert got["log_loss"].greater_is_better is False

    # the settings and lineage that differ, and those that agree
    differing = {d["key"]: (d["a"], d["b"]) for d in result.differences}
    assert differing["estimator"] == (TREE["binary"], LINEAR["binary"])
    assert differing["parent_version"] == (None, 1)
    assert differing["dataset.rows"] == (600, 900)
    assert differing["dataset.fingerprint"][0] != differing["dataset.fingerprint"][1]
    assert "features" in result.same and "task" in result.same and "features" not in differing

    # curves on the compared rows, importances as trained
    roc = result.curves["2"]["roc"]
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0
    assert set(result.importances["1"]) == {"a", "b", "c", "d"}
    assert result.decision is None  # the policy was 'always': no comparison was recorded


def test_the_recorded_decision_and_if_better_now_agree_on_the_same_rows(tmp_path: Path) -> None:
    project = two_versions(tmp_path / "p", "binary", policy="if-better")
    stored = project.show("m", 2)["decision"]
    result = project.compare("m", 1, 2)
    assert result.decision is not None and result.decision["candidate"]["version"] == 2
    assert result.decision["incumbent"]["version"] == 1 and result.decision["reason"] == stored["reason"]
    # the activation compared the candidate's holdout minus version 1's rows: the very rows compared here
    now = result.if_better
    assert now["rows_compared"] == stored["rows_compared"] == result.rows_compared
    # excluded: of the holdout (the activation), of the whole dataset (compare)
    assert (stored["rows_excluded"], now["rows_excluded"]) == (80, 800)
    assert now["delta"] == pytest.approx(stored["delta"]) and now["p_value"] == stored["p_value"]
    assert now["activate"] == stored["activate"]
    primary = by_name(result)["roc_auc"]
    assert primary.difference == pytest.approx(stored["delta"])


def test_regression_versions_differences_recomputed_with_numpy(tmp_path: Path) -> None:
    project = two_versions(tmp_path / "p", "regression")
    result = project.compare("m", 1, 2, resamples=200)
    frame = pd.read_csv(tmp_path / "p" / "d.csv")
    kept = frame[compared_rows(project, frame)]
    y = kept["y"].to_numpy()
    pred = {v: project.load_model("m", v).predict(kept[["a", "b", "c", "d"]]) for v in (1, 2)}

    def rmse(y, p, w):  # noqa: ANN001, ANN202
        return float(np.sqrt(np.sum(w * (y - p) ** 2) / np.sum(w)))

    got = by_name(result)
    ones = np.ones(len(y))
    assert result.primary_metric == "rmse" and result.rows_compared == len(y)
    assert got["rmse"].difference == pytest.approx(rmse(y, pred[2], ones) - rmse(y, pred[1], ones), rel=1e-9)
    assert got["mae"].b == pytest.approx(mean_absolute_error(y, pred[2]))
    low, high = np.percentile(bootstrap(rmse, y, pred[1], pred[2], len(y), 200, seed=0), [2.5, 97.5])
    assert (got["rmse"].low, got["rmse"].high) == (pytest.approx(low), pytest.approx(high))
    assert got["rmse"].better == "b" and high < 0  # the linear model fits linear data better, lower rmse
    assert result.if_better["activate"] is True and result.curves["1"]["kind"] == "regression"


def test_multiclass_versions_differences_recomputed_with_numpy(tmp_path: Path) -> None:
    project = two_versions(tmp_path / "p", "multiclass")
    result = project.compare("m", 1, 2, resamples=200)
    frame = pd.read_csv(tmp_path / "p" / "d.csv")
    kept = frame[compared_rows(project, frame)]
    y = kept["y"].to_numpy()
    pred = {v: project.load_model("m", v).predict(kept[["a", "b", "c", "d"]]) for v in (1, 2)}

    def accuracy(y, p, w):  # noqa: ANN001, ANN202
        return float(np.sum(w * (y == p)) / np.sum(w))

    got = by_name(result)["accuracy"]
    assert result.primary_metric == "accuracy" and result.task == "multiclass"
    assert got.difference == pytest.approx(np.mean(y == pred[2]) - np.mean(y == pred[1]))
    low, high = np.percentile(bootstrap(accuracy, y, pred[1], pred[2], len(y), 200, seed=0), [2.5, 97.5])
    assert (got.low, got.high) == (pytest.approx(low), pytest.approx(high))
    assert len(result.curves["2"]["confusion"]) == 3


def test_compare_on_a_labelled_file_given_with_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "p"
    two_versions(folder, "binary")
    fresh = rows("binary", 250, 7)
    fresh.to_csv(tmp_path / "fresh.csv", index=False)
    with pytest.raises(SystemExit) as done:
        main(["--project", str(folder), "compare", "m", "1", "2", "--data", str(tmp_path / "fresh.csv"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert done.value.code == 0
    assert out["source"] == "--data" and out["compared_on"] == str(tmp_path / "fresh.csv")
    assert out["rows_compared"] + out["rows_excluded"] == 250
    assert out["rows_excluded"] <= 8  # unseen rows: only the odd false positive of two Bloom filters
    project = open_project(folder)
    fingerprints = [RowSet.from_bytes(project.registry.read_attachment("m", v, "rows.bloom")) for v in (1, 2)]
    keep = ~(fingerprints[0].contains(fresh) | fingerprints[1].contains(fresh))
    kept = fresh[keep]
    proba = {v: project.load_model("m", v).predict_proba(kept[["a", "b", "c", "d"]])[:, 1] for v in (1, 2)}
    roc = next(m for m in out["metrics"] if m["metric"] == "roc_auc")
    expected = roc_auc_score(kept["y"], proba[2]) - roc_auc_score(kept["y"], proba[1])
    assert roc["difference"] == pytest.approx(expected) and roc["low"] < roc["difference"] < roc["high"]
    assert set(out) >= {"metrics", "decision", "if_better", "differences", "same", "curves", "importances"}


def test_the_table_fits_80_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    two_versions(folder, "binary")
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as done:
        main(["--project", str(folder), "compare", "m", "1", "2", "--resamples", "100"])
    text = capsys.readouterr().out
    assert done.value.code == 0
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "None" not in text and "…" not in text and "..." not in text
    assert lines[0].startswith("m: version 1 (A) vs version 2 (B), binary, on ")
    metric_rows = [line for line in lines if line.startswith(("roc_auc *", "log_loss", "brier"))]
    assert len(metric_rows) == 3
    # the long estimator names wrap inside their cells, never cut: every character is there
    start = next(i for i, line in enumerate(lines) if line.startswith("estimator "))
    cells = [line.split("│") for line in lines[start:]]
    group = [cells[0]]
    for row in cells[1:]:
        if len(row) != 3 or row[0].strip():
            break
        group.append(row)
    whole = ["".join(row[i].strip() for row in group) for i in (1, 2)]
    assert whole == [TREE["binary"], LINEAR["binary"]]
    assert "if-better: would " in text


def bad(folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    before = sorted(p.relative_to(folder) for p in (folder / ".modelcycle").rglob("*"))
    with pytest.raises(SystemExit) as done:
        main(["--project", str(folder), "compare", *args])
    captured = capsys.readouterr()
    assert done.value.code == 2 and captured.out == ""
    assert len(captured.err.splitlines()) == 1 and "Traceback" not in captured.err
    assert sorted(p.relative_to(folder) for p in (folder / ".modelcycle").rglob("*")) == before
    return captured.err.strip()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "p"
    two_versions(folder, "binary")
    (tmp_path / "nolabel.csv").write_text("a,b,c,d\n1,2,3,4\n", encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    assert bad(folder, capsys, "m", "1", "1") == (
        "error: compare needs two different versions of 'm', not 1 twice: name another"
    )
    assert bad(folder, capsys, "m", "1", "7") == "error: model 'm' has no version 7: versions are 1 to 2"
    assert bad(folder, capsys, "nope", "1", "2").startswith("error: unknown model 'nope'")
    settings = (folder / "modelcycle.toml").read_text(encoding="utf-8")
    (folder / "modelcycle.toml").write_text(settings.replace("[models.m", "[models.gone"), encoding="utf-8")
    assert bad(folder, capsys, "m", "1", "2") == (
        "error: model 'm' has stored versions but no [models.m] table in modelcycle.toml: "
        "compare needs its target and dataset; put the table back to compare its versions"
    )
    (folder / "modelcycle.toml").write_text(settings, encoding="utf-8")
    assert bad(folder, capsys, "m", "1", "2", "--data", str(tmp_path / "missing.csv")).startswith(
        f"error: data {tmp_path / 'missing.csv'}: no file at"
    )
    assert bad(folder, capsys, "m", "1", "2", "--data", str(tmp_path / "nolabel.csv")) == (
        f"error: data {tmp_path / 'nolabel.csv'} has no column 'y', the label of model 'm': "
        "add the labels, or compare on other labelled data (--data)"
    )
    assert bad(folder, capsys, "m", "1", "2", "--data", str(tmp_path / "empty.csv")).startswith(
        f"error: data {tmp_path / 'empty.csv'}"
    )
    assert "invalid value for 'A'" in bad(folder, capsys, "m", "one", "2")
    assert bad(folder, capsys, "m", "1", "2", "--resamples", "0").startswith(
        "error: invalid value for '--resamples': 0 is not in the range 100<=x<=100000"
    )
    assert bad(folder, capsys, "m", "1", "2", "--resamples", "100", "--html", str(tmp_path)) == (
        f"error: {tmp_path} is a folder: give the compare page a file name such as compare.html"
    )
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert bad(folder, capsys, "m", "1", "2", "--resamples", "100", "--html", str(tmp_path / "file" / "c.html")) == (
        f"error: cannot write the compare page to {tmp_path / 'file' / 'c.html'}: File exists"
    )


def test_a_deleted_version_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "p"
    two_versions(folder, "binary")
    project = open_project(folder)
    project.train("m", activate=False)  # version 3, never active
    project.train("m", activate=False)  # version 4
    assert project.gc("m", keep=1)["deleted_versions"] == [3]
    assert bad(folder, capsys, "m", "3", "4") == (
        "error: model 'm' version 3 was deleted by gc: choose another version"
    )


def test_nothing_left_to_compare_says_to_give_other_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    rows("binary", 300, 0).to_csv(folder / "d.csv", index=False)
    for estimator in (TREE["binary"], LINEAR["binary"]):  # both refit on every row: no row is left unseen
        configure(folder, "binary", estimator, extra="refit_full = true\n").train("m")
    assert bad(folder, capsys, "m", "1", "2") == (
        "error: no labelled row of dataset 'd' is left once the rows versions 1 and 2 were trained on are "
        "left out (300 excluded): compare on other labelled data with --data FILE"
    )


def test_a_version_without_a_row_fingerprint_is_compared_and_the_note_says_so(tmp_path: Path) -> None:
    project = two_versions(tmp_path / "p", "binary")
    entry, artifact = project.registry.read_artifact("m", 1)
    stored = ("model", "version", "created_at", "created_by", "artifact", "attachments")
    metadata = {k: v for k, v in entry.items() if k not in stored}
    attachments = {n: project.registry.read_attachment("m", 1, n) for n in ("profile.json", "insights.json")}
    project.record_version("m", artifact, artifact_format="joblib", metadata=metadata, attachments=attachments)
    result = project.compare("m", 3, 2, resamples=20)
    assert result.note == "version 3 was stored without a row fingerprint: its training rows are not left out"
    frame = pd.read_csv(tmp_path / "p" / "d.csv")
    only_2 = RowSet.from_bytes(project.registry.read_attachment("m", 2, "rows.bloom")).contains(frame)
    assert (result.rows_compared, result.rows_excluded) == (int((~only_2).sum()), int(only_2.sum()))


def test_versions_of_different_tasks_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "p"
    two_versions(folder, "binary")
    configure(folder, "regression", LINEAR["regression"], extra='metrics = ["rmse", "mae"]\n').train("m")
    assert bad(folder, capsys, "m", "2", "3") == (
        "error: version 2 of 'm' is a binary model and version 3 a regression one: "
        "they cannot be compared on the same metrics"
    )
    # versions 1 and 2 are binary, but the settings now list regression metrics
    assert bad(folder, capsys, "m", "1", "2") == (
        "error: modelcycle.toml: models.m.metrics: metric 'rmse' does not apply to binary tasks"
    )


def test_compare_writes_the_page_from_python_and_says_where(tmp_path: Path) -> None:
    project = two_versions(tmp_path / "p", "binary")
    plain = project.compare("m", 1, 2, resamples=100)
    assert plain.html is None and "html" not in plain.to_json()
    page = tmp_path / "pages" / "cmp.html"
    result = project.compare("m", 1, 2, resamples=100, html=page)
    assert result.html == str(page) and result.to_json()["html"] == str(page)
    assert "<script" not in page.read_text(encoding="utf-8").lower()
    with pytest.raises(ModelcycleError, match="is a folder: give the compare page a file name"):
        project.compare("m", 1, 2, resamples=100, html=tmp_path)
