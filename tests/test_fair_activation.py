"""if-better compares the candidate and the active version on rows neither was trained on.

The data is built so that the answer is known: the active version is a decision tree that
memorised its training rows (perfect there, poor elsewhere) and the candidate a logistic
regression trained on the grown dataset. On the candidate's whole holdout, which holds many
of the tree's training rows, the tree looks better; on the rows it never saw it is worse.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.cli import main

from tests.conftest import write_settings

TREE = 'estimator = "sklearn.tree.DecisionTreeClassifier"\n'
LINEAR = 'estimator = "sklearn.linear_model.LogisticRegression"\n'
SETTINGS = """\
[project]
name = "fair"
[datasets.d]
url = "d.csv"
[datasets.fb]
url = "fb.csv"
[models.m]
dataset = "d"
target = "y"
threads = 1
{model}
[models.m.activation]
policy = "if-better"
{activation}
"""


def rows(n: int, seed: int) -> pd.DataFrame:
    """Noisy linear classes: a linear model generalises, a full-depth tree memorises."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X @ [1.0, -0.8, 0.6, 0.3] + rng.normal(scale=2.0, size=n) > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["y"] = y
    return frame


def configure(folder: Path, model: str, activation: str = "") -> object:
    write_settings(folder, SETTINGS.format(model=model, activation=activation))
    return open_project(folder)


def random_split(rows: int, test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(training, holdout) positions exactly as the random split makes them (docs/training.md)."""
    shuffled = np.random.default_rng(seed).permutation(rows)
    cut = int(np.ceil(rows * test_size))
    return np.sort(shuffled[cut:]), np.sort(shuffled[:cut])


def legacy_copy(project, model: str, version: int) -> int:  # noqa: ANN001
    """Store `version` again as a version made before row fingerprints were kept, and activate it."""
    entry, artifact = project.registry.read_artifact(model, version)
    stored = ("model", "version", "created_at", "created_by", "artifact", "attachments", "row_fingerprint")
    metadata = {k: v for k, v in entry.items() if k not in stored}
    attachments = {n: project.registry.read_attachment(model, version, n) for n in ("profile.json", "insights.json")}
    copy = project.record_version(model, artifact, artifact_format="joblib", metadata=metadata, attachments=attachments)
    project.activate(model, copy["version"], reason="made before row fingerprints")
    return copy["version"]


def test_a_candidate_better_on_unseen_rows_is_activated_though_the_holdout_favours_the_incumbent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    rows(2000, 0).to_csv(folder / "d.csv", index=False)
    first = configure(folder, TREE).train("m")
    assert first.activated
    meta = first.metadata
    assert meta["row_fingerprint"]["rows"] == 1600 and meta["row_fingerprint"]["covers"] == "training rows"
    assert meta["row_fingerprint"]["false_positive_rate"] < 0.005 and "rows.bloom" in meta["attachments"]

    pd.concat([rows(2000, 0), rows(600, 1)]).to_csv(folder / "d.csv", index=False)  # the data grows
    project = configure(folder, LINEAR)
    legacy = legacy_copy(project, "m", 1)

    # against a version without a fingerprint: today's comparison on the whole holdout, said so
    refused = project.train("m").decision
    assert refused["activate"] is False and refused["compared_on"] == "holdout"
    assert (refused["rows_compared"], refused["rows_excluded"]) == (520, 0)
    assert refused["incumbent"]["roc_auc"] > refused["candidate"]["roc_auc"]  # the tree's memory flatters it
    assert (
        refused["note"]
        == f"active version {legacy} was stored without a row fingerprint: compared on the whole holdout"
    )
    assert refused["reason"].endswith(f"({refused['note']})")

    # against version 1 itself: only the holdout rows it was not trained on
    project.activate("m", 1, reason="back to the fingerprinted version")
    with pytest.raises(SystemExit) as done:
        main(["--project", str(folder), "train", "m", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert done.value.code == 0 and out["activated"] is True
    decision = out["decision"]
    trained_v1, _ = random_split(2000)
    _, holdout = random_split(2600)
    really_seen = int(np.isin(holdout, trained_v1).sum())  # holdout rows version 1 was trained on
    assert decision["compared_on"] == "holdout-unseen" and decision["incumbent"]["version"] == 1
    assert decision["rows_compared"] + decision["rows_excluded"] == len(holdout) == 520
    # no false negatives; false positives (unseen rows taken for seen ones) are rare
    assert really_seen <= decision["rows_excluded"] <= really_seen + 3
    assert decision["candidate"]["roc_auc"] > decision["incumbent"]["roc_auc"] + 0.05 and decision["p_value"] < 0.05
    assert decision["reason"].startswith("roc_auc improved from") and "note" not in decision
    assert open_project(folder).active_version("m") == out["version"]


def test_too_few_unseen_rows_refuse_and_name_min_rows(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    rows(1000, 0).to_csv(folder / "d.csv", index=False)
    first = configure(folder, LINEAR + "refit_full = true\n").train("m")
    assert first.metadata["row_fingerprint"]["covers"] == "all rows"
    assert first.metadata["row_fingerprint"]["rows"] == 1000
    second = configure(folder, LINEAR).train("m")  # every holdout row was in version 1's refit
    decision = second.decision
    assert not second.activated and decision["p_value"] is None and decision["delta"] is None
    assert (decision["rows_compared"], decision["rows_excluded"], decision["min_rows"]) == (0, 200, 100)
    assert decision["reason"] == (
        "only 0 holdout rows that active version 1 was not trained on (200 excluded), fewer than min_rows 100: "
        "not compared; only rows the active version was not trained on can be compared; "
        "use activation.on = <a labelled dataset>"
    )


def test_min_rows_applies_to_the_rows_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    rows(400, 0).to_csv(folder / "d.csv", index=False)
    configure(folder, TREE).train("m")
    configure(folder, LINEAR)
    with pytest.raises(SystemExit) as done:  # the same split: all 80 holdout rows are unseen
        main(["--project", str(folder), "train", "m"])
    lines = capsys.readouterr().out.splitlines()
    assert done.value.code == 0 and lines[1].startswith("  not activated: only 80 holdout rows that active version 1")
    assert "fewer than min_rows 100" in lines[1] and "hold out more rows (split.test_size)" in lines[1]
    assert lines[2] == "  compared on 80 rows (holdout-unseen), 0 excluded as training rows"
    decision = configure(folder, LINEAR, "min_rows = 50").train("m").decision
    assert decision["rows_compared"] == 80 and decision["p_value"] is not None


def test_kfold_versions_were_trained_on_every_row(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    rows(600, 0).to_csv(folder / "d.csv", index=False)
    kfold = 'split = { method = "kfold", folds = 3 }\n'
    first = configure(folder, LINEAR + kfold).train("m")
    assert first.metadata["row_fingerprint"] | {"covers": "all rows", "rows": 600} == first.metadata["row_fingerprint"]
    # every row of the candidate's (out-of-fold) holdout was in the stored, refit, active version
    decision = configure(folder, TREE + kfold).train("m").decision
    assert (decision["rows_compared"], decision["rows_excluded"]) == (0, 600) and not decision["activate"]
    assert decision["reason"].endswith("use activation.on = <a labelled dataset>")
    assert "split.test_size" not in decision["reason"]  # more holdout rows would all be excluded too


def test_on_a_labelled_dataset_leaves_out_rows_either_version_was_trained_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    train = rows(2000, 0)
    train.to_csv(folder / "d.csv", index=False)
    trained, _ = random_split(2000)
    fresh = rows(400, 7)
    unlabelled = rows(10, 8).assign(y=np.nan)
    feedback = pd.concat([fresh, train.iloc[trained[:50]], unlabelled], ignore_index=True)
    feedback.rename(columns={"y": "outcome"}).to_csv(folder / "fb.csv", index=False)
    model = 'label_column = "outcome"\n'
    first = configure(folder, TREE + model, 'on = "fb"').train("m")
    assert first.activated and first.decision["compared_on"] is None  # nothing to compare with
    configure(folder, LINEAR + model, 'on = "fb"')
    with pytest.raises(SystemExit) as done:
        main(["--project", str(folder), "train", "m", "--json"])
    out = json.loads(capsys.readouterr().out)
    decision = out["decision"]
    assert done.value.code == 0 and out["activated"] is True
    assert decision["compared_on"] == "fb" and decision["incumbent"]["version"] == 1
    # the 50 training rows are out (both versions saw them), with a few false positives of either
    # fingerprint (0.4 % each, so about 3 of the 400 fresh rows); the 10 unlabelled rows are not compared
    assert 50 <= decision["rows_excluded"] <= 58 and decision["rows_compared"] + decision["rows_excluded"] == 450
    assert decision["candidate"]["roc_auc"] > decision["incumbent"]["roc_auc"] and decision["p_value"] < 0.05


def test_a_changed_fingerprint_is_not_trusted(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    rows(1000, 0).to_csv(folder / "d.csv", index=False)
    first = configure(folder, LINEAR).train("m")
    stored = folder / ".modelcycle" / first.metadata["attachments"]["rows.bloom"]["key"]
    stored.write_bytes(stored.read_bytes()[:-8] + b"\0" * 8)  # someone changed it after it was stored
    decision = configure(folder, LINEAR).train("m").decision
    assert decision["compared_on"] == "holdout" and (decision["rows_compared"], decision["rows_excluded"]) == (200, 0)
    assert decision["note"].startswith("active version 1's row fingerprint cannot be read (rows.bloom of model 'm'")
    assert "does not match its recorded sha256" in decision["note"]
    assert decision["note"].endswith(": compared on the whole holdout")


def test_on_a_labelled_dataset_against_a_version_without_fingerprint(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    train = rows(1000, 0)
    train.to_csv(folder / "d.csv", index=False)
    trained, _ = random_split(1000)
    pd.concat([rows(300, 7), train.iloc[trained[:40]]]).to_csv(folder / "fb.csv", index=False)
    project = configure(folder, TREE)
    project.train("m")
    legacy = legacy_copy(project, "m", 1)
    decision = configure(folder, LINEAR, 'on = "fb"').train("m").decision
    # version 1's copy cannot say which rows it saw; the candidate's own training rows still go
    assert decision["compared_on"] == "fb" and 40 <= decision["rows_excluded"] <= 45
    assert decision["rows_compared"] + decision["rows_excluded"] == 340
    assert decision["note"] == (
        f"active version {legacy} was stored without a row fingerprint: only the candidate's training rows are left out"
    )


def test_a_regression_on_a_labelled_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()

    def linear(n: int, seed: int) -> pd.DataFrame:
        frame = rows(n, seed).drop(columns="y")
        return frame.assign(y=frame["a"] * 3 - frame["b"] + np.random.default_rng(seed).normal(size=n))

    linear(800, 0).to_csv(folder / "d.csv", index=False)
    labels = linear(300, 5)
    labels.loc[:19, "y"] = np.nan  # 20 rows still without a label
    labels.to_csv(folder / "fb.csv", index=False)
    regression = 'task = "regression"\n'
    configure(folder, regression + 'estimator = "sklearn.dummy.DummyRegressor"\n', 'on = "fb"').train("m")
    project = configure(folder, regression + 'estimator = "sklearn.linear_model.LinearRegression"\n', 'on = "fb"')
    decision = project.train("m").decision
    assert decision["metric"] == "rmse" and decision["compared_on"] == "fb" and decision["activate"] is True
    assert decision["rows_compared"] + decision["rows_excluded"] == 280 and decision["rows_excluded"] <= 4
    assert decision["candidate"]["rmse"] < 0.8 * decision["incumbent"]["rmse"] and decision["delta"] > 0
