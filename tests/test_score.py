"""The score recipe: every input format to every output format, predictions equal to the
model's own, versions, schema checks and coercion, chunking, S3 output that appears only
complete, and a kill -9 that leaves no output behind."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import DataError, NotFoundError, open_project
from modelcycle import score as score_module
from modelcycle.cli import main

from tests.conftest import write_settings
from tests.test_train import cancer, mixed

FAST = "params = { max_iter = 20 }\nthreads = 1\n"
FORMATS = ["parquet", "csv", "jsonl"]


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".")
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True, double_precision=15)
    return path


def read(path: Path) -> pd.DataFrame:
    fmt = path.suffix.lstrip(".")
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path)
    return pd.read_json(path, lines=True, dtype=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="module")
def cancer_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model m on breast cancer: version 1 (5 iterations), version 2 (20 iterations, active)."""
    folder = tmp_path_factory.mktemp("cancer")
    cancer().to_csv(folder / "data.csv", index=False)
    text = '[project]\nname = "t"\n[datasets.d]\nurl = "data.csv"\n[models.m]\ndataset = "d"\ntarget = "target"\n'
    settings = write_settings(folder, text + FAST.replace("20", "5"))
    assert open_project(folder).train("m").version == 1
    settings.write_text(text + FAST)
    assert open_project(folder).train("m").version == 2
    return folder


@pytest.fixture(scope="module")
def mixed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model m on mixed types (numbers with NaNs, text, booleans), threshold 0.3."""
    folder = tmp_path_factory.mktemp("mixed")
    mixed().to_parquet(folder / "data.parquet", index=False)
    write_settings(
        folder,
        '[project]\nname = "t"\n[datasets.d]\nurl = "data.parquet"\n'
        f'[models.m]\ndataset = "d"\ntarget = "churned"\nthreshold = 0.3\n{FAST}',
    )
    open_project(folder).train("m")
    return folder


def new_rows(rows: int = 200) -> pd.DataFrame:
    frame = cancer().drop(columns="target").sample(rows, random_state=1, replace=True).reset_index(drop=True)
    frame.insert(0, "customer_id", [f"c{i}" for i in range(rows)])
    return frame


def expected(folder: Path, frame: pd.DataFrame, version: int | None = None) -> np.ndarray:
    project = open_project(folder)
    meta = project.show("m", version)
    features = [f["name"] for f in meta["features"]]
    return project.load_model("m", version).predict_proba(frame[features])


# -- formats, predictions, versions ---------------------------------------------------------------


@pytest.mark.parametrize("source", FORMATS)
@pytest.mark.parametrize("target", FORMATS)
def test_every_format_to_every_format(
    cancer_project: Path, tmp_path: Path, capsys, monkeypatch, source: str, target: str
) -> None:
    frame = new_rows()
    write(frame, tmp_path / f"new.{source}")
    monkeypatch.chdir(tmp_path)  # CLI paths are relative to the current folder
    before = datetime.now(UTC)
    code, out, err = run(capsys, "--project", str(cancer_project), "score", "m", f"new.{source}", f"out/s.{target}")
    assert (code, err) == (0, "")
    output = tmp_path / "out" / f"s.{target}"
    assert out == f"scored 200 rows with m version 2 → {output}\n"
    assert files_in(output.parent) == [output.name]  # no temporary file left
    scored = read(output)
    assert list(scored.columns) == [
        *frame.columns,
        "prediction",
        "proba_0",
        "proba_1",
        "model_version",
        "scored_at",
    ]
    assert scored["customer_id"].tolist() == frame["customer_id"].tolist()  # extra columns pass through
    proba = expected(cancer_project, read(tmp_path / f"new.{source}"))
    np.testing.assert_allclose(scored[["proba_0", "proba_1"]].to_numpy(), proba, rtol=1e-12, atol=1e-14)
    assert scored["prediction"].tolist() == (proba[:, 1] >= 0.5).astype(int).tolist()
    assert set(scored["model_version"]) == {2}
    stamps = pd.to_datetime(scored["scored_at"], utc=True)
    assert stamps.nunique() == 1 and before <= stamps.iloc[0] <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_dataset_name_and_the_json_summary(cancer_project: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "scored.parquet"
    code, out, err = run(capsys, "--project", str(cancer_project), "score", "m", "d", str(output), "--json")
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert {k: summary[k] for k in ("model", "version", "rows", "output")} == {
        "model": "m",
        "version": 2,
        "rows": 569,
        "output": str(output),
    }
    scored = pd.read_parquet(output)
    assert str(scored["scored_at"].dtype) == "datetime64[us, UTC]" and scored["model_version"].dtype == "int64"
    assert "target" in scored.columns  # the dataset's other columns pass through


def test_version_picks_an_older_version(cancer_project: Path, tmp_path: Path, capsys) -> None:
    frame = new_rows()
    source = write(frame, tmp_path / "new.csv")
    for version in (None, 1):
        args = ["--version", str(version)] if version else []
        output = tmp_path / f"v{version}.parquet"
        assert run(capsys, "--project", str(cancer_project), "score", "m", str(source), str(output), *args)[0] == 0
        scored = pd.read_parquet(output)
        assert set(scored["model_version"]) == {version or 2}
        np.testing.assert_allclose(scored[["proba_0", "proba_1"]].to_numpy(), expected(cancer_project, frame, version))
    old, new = pd.read_parquet(tmp_path / "v1.parquet"), pd.read_parquet(tmp_path / "vNone.parquet")
    assert not np.allclose(old["proba_1"], new["proba_1"])


def test_python_api_dataframe_in_dataframe_out(cancer_project: Path, tmp_path: Path) -> None:
    project = open_project(cancer_project)
    frame = new_rows(50)
    frame.index = pd.Index(range(1000, 1050), name="row")
    scored = project.score("m", frame)
    assert scored.index.equals(frame.index) and len(scored) == 50
    pd.testing.assert_frame_equal(scored[frame.columns], frame)
    np.testing.assert_array_equal(scored[["proba_0", "proba_1"]].to_numpy(), expected(cancer_project, frame))
    assert str(scored["scored_at"].dtype) == "datetime64[us, UTC]"
    summary = project.score("m", frame, tmp_path / "s.csv", version=1)
    assert {k: summary[k] for k in ("model", "version", "rows")} == {"model": "m", "version": 1, "rows": 50}
    assert summary["output"] == str(tmp_path / "s.csv") and len(pd.read_csv(tmp_path / "s.csv")) == 50
    # relative paths in the Python API start at the project folder, as dataset urls do
    summary = project.score("m", "data.csv", "scored/out.jsonl")
    assert summary["rows"] == 569 and (cancer_project / "scored" / "out.jsonl").is_file()


def test_binary_labels_use_the_stored_threshold(mixed_project: Path) -> None:
    project = open_project(mixed_project)
    scored = project.score("m", mixed(300, seed=4).drop(columns="churned"))
    assert project.show("m")["threshold"] == 0.3
    assert scored["prediction"].tolist() == (scored["proba_1"] >= 0.3).astype(int).tolist()
    assert ((scored["proba_1"] >= 0.3) & (scored["proba_1"] < 0.5)).any()  # where 0.5 would disagree


def test_multiclass_and_regression_outputs(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes, load_iris

    iris = load_iris(as_frame=True).frame
    iris["target"] = iris["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    diabetes = load_diabetes(as_frame=True).frame
    for name, frame, added in [
        ("iris", iris, ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]),
        ("diabetes", diabetes, ["prediction"]),
    ]:
        folder = tmp_path / name
        write(frame, folder / "data.parquet")
        write_settings(
            folder,
            f'[project]\n[datasets.d]\nurl = "data.parquet"\n[models.m]\ndataset = "d"\ntarget = "target"\n{FAST}',
        )
        project = open_project(folder)
        project.train("m")
        scored = project.score("m", frame.drop(columns="target"))
        assert list(scored.columns)[len(frame.columns) - 1 :] == [*added, "model_version", "scored_at"]
        model = project.load_model("m")
        if name == "iris":
            assert scored["prediction"].tolist() == model.predict(frame.drop(columns="target")).tolist()
        else:
            np.testing.assert_allclose(scored["prediction"], model.predict(frame.drop(columns="target")))


# -- the version's schema: missing columns, coercion, unseen values ---------------------------------


def test_unseen_categories_and_missing_values_score(mixed_project: Path, tmp_path: Path) -> None:
    frame = mixed(40, seed=9).drop(columns="churned")
    frame.loc[0, "city"] = "marseille"
    frame.loc[1, "x"] = np.nan
    frame.loc[2, ["plan", "age"]] = [None, np.nan]
    frame["note"] = "kept"
    source = write(frame, tmp_path / "new.csv")
    project = open_project(mixed_project)
    project.score("m", str(source), tmp_path / "out.parquet")
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert scored["note"].eq("kept").all() and scored[["proba_0", "proba_1"]].notna().all().all()
    np.testing.assert_allclose(scored[["proba_0", "proba_1"]].to_numpy(), expected(mixed_project, frame))


def test_numbers_read_as_text_are_coerced(mixed_project: Path) -> None:
    project = open_project(mixed_project)
    frame = mixed(30, seed=2).drop(columns="churned")
    as_text = frame.assign(
        x=frame["x"].map(lambda v: repr(float(v))), age=frame["age"].map(lambda v: "" if np.isnan(v) else str(v))
    )
    scored = project.score("m", as_text)
    assert scored["x"].dtype == "float64" and scored["age"].isna().sum() == frame["age"].isna().sum()
    np.testing.assert_allclose(scored["proba_1"], project.score("m", frame)["proba_1"])


def test_categorical_codes_read_as_numbers_are_cast_to_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"zone": rng.choice(["75001", "69002", "13003"], 400), "x": rng.normal(size=400)})
    frame["y"] = ((frame["zone"] == "75001") ^ (frame["x"] > 1)).astype(int)
    write(frame, tmp_path / "p" / "data.parquet")
    write_settings(
        tmp_path / "p",
        f'[project]\n[datasets.d]\nurl = "data.parquet"\n[models.m]\ndataset = "d"\ntarget = "y"\n{FAST}',
    )
    project = open_project(tmp_path / "p")
    project.train("m")
    new = frame.drop(columns="y").head(50)
    as_numbers = new.assign(zone=new["zone"].astype(float))  # what a CSV with a blank zone reads as
    as_numbers.loc[3, "zone"] = np.nan
    scored = project.score("m", as_numbers)
    assert scored["zone"].head(3).tolist() == new["zone"].head(3).tolist() and pd.isna(scored.loc[3, "zone"])
    reference = project.score("m", new.assign(zone=new["zone"].where(new.index != 3)))
    np.testing.assert_allclose(scored["proba_1"], reference["proba_1"])


BAD_SCORES = [
    ("missing_column", [], "error: input data {source} has no column 'mean_radius', a feature of model 'm' version 2"),
    ("bad_number", [], "error: column 'mean_area' of input data {source} holds 'abc' (row 151), not a number"),
    ("ok", ["--version", "7"], "error: model 'm' has no version 7: versions are 1 to 2"),
    ("empty_file", [], "error: data {source} is empty: "),
    ("header_only", [], "error: input data {source} has no rows: nothing to score"),
    ("scored_already", [], "error: input data {source} already has a column 'prediction', which scoring adds"),
    ("ok", ["--version", "0"], "error: model 'm' has no version 0"),
]


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(("kind", "args", "message"), BAD_SCORES)
@pytest.mark.parametrize("target", ["parquet", "csv"])
def test_bad_input_is_one_line_and_creates_no_output(
    cancer_project: Path, tmp_path: Path, capsys, monkeypatch, kind: str, args: list[str], message: str, target, chunked
) -> None:
    if chunked:  # the bad row comes after batches already written
        monkeypatch.setattr(score_module, "BATCH_ROWS", 40)
    frame = new_rows()
    source = tmp_path / "new.csv"
    if kind == "missing_column":
        frame = frame.drop(columns="mean_radius")
    elif kind == "bad_number":
        frame["mean_area"] = frame["mean_area"].astype(object)
        frame.loc[150, "mean_area"] = "abc"
    elif kind == "scored_already":
        frame["prediction"] = 1
    write(frame, source)
    if kind == "empty_file":
        source.write_text("")
    elif kind == "header_only":
        source.write_text(",".join(frame.columns) + "\n")
    output = tmp_path / "out" / f"scored.{target}"
    code, out, err = run(capsys, "--project", str(cancer_project), "score", "m", str(source), str(output), *args)
    assert code == 2 and err.startswith(message.format(source=source)), err
    assert err.count("\n") == 1 and "Traceback" not in err and out == ""
    assert files_in(output.parent) == []


def test_no_active_version_and_unknown_model(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "p"
    write_settings(
        folder,
        '[project]\n[datasets.d]\nurl = "data.csv"\n[models.m]\ndataset = "d"\ntarget = "target"\n'
        f'{FAST}[models.m.activation]\npolicy = "manual"\n',
    )
    cancer().to_csv(folder / "data.csv", index=False)
    project = open_project(folder)
    project.train("m")
    output = tmp_path / "out.parquet"
    code, _, err = run(capsys, "--project", str(folder), "score", "m", "d", str(output))
    assert code == 2 and err == "error: model 'm' has no active version: activate one or pass --version N\n"
    code, _, err = run(capsys, "--project", str(folder), "score", "nope", "d", str(output))
    assert code == 2 and err.startswith("error: unknown model 'nope'")
    assert not output.exists()
    assert run(capsys, "--project", str(folder), "score", "m", "d", str(output), "--version", "1")[0] == 0
    with pytest.raises(NotFoundError, match="has no active version"):
        project.score("m", "d")
    # a version recorded by hand, not by train: one line, not a KeyError
    project.record_version("m", b"bytes", artifact_format="joblib", metadata={"metrics": {}})
    code, _, err = run(capsys, "--project", str(folder), "score", "m", "d", str(tmp_path / "o.csv"), "--version", "2")
    assert code == 2 and err.startswith("error: model 'm' version 2 records no trainer or no features"), err
    assert not (tmp_path / "o.csv").exists()


def test_cli_mistakes_and_an_existing_output(cancer_project: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(new_rows(10), tmp_path / "new.csv")
    cases = [
        (["nope", "out.csv"], "error: unknown dataset 'nope': give a dataset name (d) or a path or URL"),
        (["new.csv", "out.csv.gz"], f"error: cannot write compressed output {tmp_path / 'out.csv.gz'}: "),
        (["new.csv", "out.txt"], f"error: cannot tell the format of output {tmp_path / 'out.txt'}: "),
        (["missing.csv", "out.csv"], f"error: data {tmp_path / 'missing.csv'}: no file at "),
    ]
    for args, message in cases:
        code, out, err = run(capsys, "--project", str(cancer_project), "score", "m", *args)
        assert code == 2 and err.startswith(message) and err.count("\n") == 1, err
    assert files_in(tmp_path) == ["new.csv"]
    (tmp_path / "out.csv").write_text("old\n")
    assert run(capsys, "--project", str(cancer_project), "score", "m", "new.csv", "out.csv")[0] == 0
    assert len(pd.read_csv(tmp_path / "out.csv")) == 10 and files_in(tmp_path) == ["new.csv", "out.csv"]


def test_the_python_api_raises_data_errors(cancer_project: Path) -> None:
    project = open_project(cancer_project)
    with pytest.raises(DataError, match="^input has no column 'mean_radius', a feature of model 'm' version 2"):
        project.score("m", new_rows(5).drop(columns="mean_radius"))
    with pytest.raises(DataError, match="^input has no rows"):
        project.score("m", new_rows(5).head(0))
    with pytest.raises(DataError, match="cannot tell the format of"):
        project.score("m", new_rows(5), "out.txt")


# -- chunking ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_chunked_scoring_equals_one_batch(mixed_project: Path, tmp_path: Path, monkeypatch, fmt: str) -> None:
    frame = mixed(1000, seed=11).drop(columns="churned")
    frame.loc[frame.index[:300], "plan"] = None  # a whole first batch without a value in a text column
    frame.loc[700, "city"] = "unseen"
    source = write(frame, tmp_path / f"new.{fmt}")
    project = open_project(mixed_project)
    project.score("m", str(source), tmp_path / f"one.{fmt}")
    monkeypatch.setattr(score_module, "BATCH_ROWS", 97)
    progress: list[str] = []
    project.score("m", str(source), tmp_path / f"many.{fmt}", progress=progress.append)
    assert len(progress) == 11 and progress[-1] == "scored 1,000 rows"
    one, many = read(tmp_path / f"one.{fmt}"), read(tmp_path / f"many.{fmt}")
    pd.testing.assert_frame_equal(one.drop(columns="scored_at"), many.drop(columns="scored_at"))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.ParquetFile(tmp_path / "many.parquet").metadata.num_row_groups == 11


def test_parquet_files_of_many_row_groups_and_a_glob(mixed_project: Path, tmp_path: Path, monkeypatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(score_module, "BATCH_ROWS", 64)
    frame = mixed(900, seed=12).drop(columns="churned")
    frame["n"] = range(900)
    (tmp_path / "in").mkdir()
    for part, rows in enumerate((frame.iloc[:500], frame.iloc[500:])):
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), tmp_path / "in" / f"p{part}.parquet", 150)
    pq.write_table(pa.Table.from_pandas(frame.head(0), preserve_index=False), tmp_path / "in" / "p2.parquet")
    project = open_project(mixed_project)
    summary = project.score("m", str(tmp_path / "in" / "*.parquet"), tmp_path / "out.parquet")
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert summary["rows"] == 900 and scored["n"].tolist() == list(range(900))
    np.testing.assert_allclose(scored["proba_1"], project.score("m", frame)["proba_1"])
    with pytest.raises(DataError, match=r"^input data .*p2.parquet has no rows: nothing to score"):
        project.score("m", str(tmp_path / "in" / "p2.parquet"), tmp_path / "none.parquet")
    assert not (tmp_path / "none.parquet").exists()


# -- atomic output: S3 and kill -9 ---------------------------------------------------------------------


def s3_project(tmp_path: Path, endpoint: str, bucket: str) -> Path:
    folder = tmp_path / "s3p"
    write(cancer(), folder / "data.csv")
    write_settings(
        folder,
        f'[project]\nstore = "s3://{bucket}/store"\n'
        f'store_options = {{ endpoint_url = "{endpoint}", default_block_size = 5242880 }}\n'
        f'[datasets.d]\nurl = "data.csv"\n[models.m]\ndataset = "d"\ntarget = "target"\n{FAST}',
    )
    open_project(folder).train("m")
    return folder


def test_s3_output_appears_only_complete(tmp_path: Path, s3_endpoint: str, s3_bucket: str, monkeypatch) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    project = open_project(s3_project(tmp_path, s3_endpoint, s3_bucket))
    frame = new_rows(20_000)  # ~13 MB of CSV: parts of 5 MiB go up while scoring
    monkeypatch.setattr(score_module, "BATCH_ROWS", 2000)
    key = "out/scored.csv"
    seen: list[tuple[int, int]] = []

    def progress(_: str) -> None:
        listed = client.list_objects_v2(Bucket=s3_bucket, Prefix="out/").get("KeyCount", 0)
        uploads = len(client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []))
        seen.append((listed, uploads))

    summary = project.score("m", frame, f"s3://{s3_bucket}/{key}", progress=progress)
    assert summary["rows"] == 20_000 and len(seen) == 10
    assert all(listed == 0 for listed, _ in seen)  # nothing visible while scoring
    assert any(uploads == 1 for _, uploads in seen)  # yet the bytes were streaming up
    body = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    scored = pd.read_csv(io.BytesIO(body))
    assert len(scored) == 20_000 and scored["customer_id"].tolist() == frame["customer_id"].tolist()
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []

    # a bad value in the last batch: the upload is aborted, nothing appears
    frame["mean_area"] = frame["mean_area"].astype(object)
    frame.loc[19_990, "mean_area"] = "abc"
    with pytest.raises(DataError, match="holds 'abc' \\(row 19991\\)"):
        project.score("m", frame, f"s3://{s3_bucket}/out/failed.csv")
    assert client.list_objects_v2(Bucket=s3_bucket, Prefix="out/failed").get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []

    # Parquet from S3, read row group by row group, to a local file
    buffer = io.BytesIO()
    new_rows(500).to_parquet(buffer, index=False, row_group_size=100)
    client.put_object(Bucket=s3_bucket, Key="in/new.parquet", Body=buffer.getvalue())
    project.score("m", f"s3://{s3_bucket}/in/new.parquet", tmp_path / "from_s3.parquet")
    assert (
        pd.read_parquet(tmp_path / "from_s3.parquet")["customer_id"].tolist() == new_rows(500)["customer_id"].tolist()
    )


def test_kill_9_mid_write_leaves_no_output(mixed_project: Path, tmp_path: Path) -> None:
    source = write(mixed(400_000, seed=1).drop(columns="churned"), tmp_path / "big.parquet")
    output = tmp_path / "out" / "scored.parquet"
    exe = str(Path(sys.executable).with_name("modelcycle"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [exe, "--project", str(mixed_project), "score", "m", str(source), str(output)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    temp: list[Path] = []
    try:
        while time.monotonic() < deadline and process.poll() is None:
            temp = [p for p in output.parent.glob(".scored.parquet.*.part")] if output.parent.exists() else []
            if temp and temp[0].stat().st_size > 0:  # at least one row group written
                break
            time.sleep(0.002)
        assert process.poll() is None, "scoring ended before it could be killed: give it more rows"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert temp and not output.exists()
    assert [p.name for p in output.parent.iterdir()] == [temp[0].name]  # only the hidden partial file
    # a new run completes and replaces nothing half-written
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert len(pd.read_parquet(output, columns=["model_version"])) == 400_000


def test_json_lines_write_each_number_as_it_reads_back(cancer_project: Path, tmp_path: Path) -> None:
    """8.95 stays 8.95 (not 8.949999999999999), and no float loses digits on the way out."""
    project = open_project(cancer_project)
    frame = new_rows(40)
    first = next(c for c in frame.columns if frame[c].dtype == "float64")
    frame.loc[frame.index[0], first] = 8.95
    frame.loc[frame.index[1], first] = np.nan
    frame["seen"] = pd.date_range("2026-01-01", periods=len(frame), freq="h")
    project.score("m", frame, tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert f'"{first}":8.95,' in lines[0] and f'"{first}":null,' in lines[1]
    assert '"seen":"2026-01-01T00:00:00.000000"' in lines[0]
    rows = [json.loads(line) for line in lines]
    scored = project.score("m", frame)
    assert [r["proba_1"] for r in rows] == scored["proba_1"].tolist()  # exactly: every digit kept
    assert [r[first] for r in rows[2:]] == frame[first].iloc[2:].tolist()


def test_a_model_removed_from_the_settings_still_scores_its_stored_versions(
    cancer_project: Path, tmp_path: Path
) -> None:
    """Its versions stay in the store: loading one needs no [models.NAME] section (the trainer only reads bytes)."""
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(cancer_project, folder)
    write_settings(folder, '[project]\nname = "t"\n[datasets.d]\nurl = "data.csv"\n')
    frame = new_rows(20)
    scored = open_project(folder).score("m", frame, version=2)
    np.testing.assert_allclose(scored[["proba_0", "proba_1"]].to_numpy(), expected(cancer_project, frame, 2))
    assert set(scored["model_version"]) == {2}
