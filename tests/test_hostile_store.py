"""A store changed behind modelcycle's back, and outputs aimed at the store: clear errors, no damage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.cli import main
from modelcycle.errors import CorruptObjectError, DataError

from tests.conftest import write_settings


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_a_damaged_head_reads_as_missing_and_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """HEAD.json is only a hint derived from the entries: damaged, the log is listed instead."""
    folder = tmp_path / "p"
    write_settings(folder, '[project]\nname = "p"\n')
    project = open_project(folder)
    for i in range(3):
        project.record_version("m", b"a%d" % i, artifact_format="joblib", metadata={})
    head = folder / ".modelcycle/models/m/versions/HEAD.json"
    for damaged in (b"{not json", b'{"last": "x"}', b'["last"]', b"\xff\xfe"):
        head.write_bytes(damaged)
        before = snapshot(folder)
        with pytest.raises(SystemExit) as info:
            main(["--project", str(folder), "versions", "m", "--json"])
        out, err = capsys.readouterr()
        assert (info.value.code, err) == (0, ""), err
        assert [v["version"] for v in json.loads(out)] == [1, 2, 3]
        assert snapshot(folder) == before
    # the next append writes a good HEAD again
    project.record_version("m", b"a3", artifact_format="joblib", metadata={})
    assert json.loads(head.read_text()) == {"last": 4}


def test_a_damaged_entry_names_the_object_and_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_settings(folder, '[project]\nname = "p"\n')
    project = open_project(folder)
    project.record_version("m", b"a", artifact_format="joblib", metadata={})
    (folder / ".modelcycle/models/m/versions/00000001.json").write_bytes(b"\x00\x01garbage")
    with pytest.raises(CorruptObjectError) as info:
        project.versions("m")
    assert str(info.value).startswith("store object models/m/versions/00000001.json is damaged (")
    assert "restore it from a backup" in str(info.value)


@pytest.fixture
def scored_project(tmp_path: Path) -> Path:
    folder = tmp_path / "p"
    write_settings(
        folder,
        """
        [datasets.d]
        url = "d.csv"
        [models.m]
        dataset = "d"
        target = "y"
        params = { max_iter = 5 }
        """,
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    pd.DataFrame({"x": x, "y": (x > 0).astype(int)}).to_csv(folder / "d.csv", index=False)
    open_project(folder).train("m")
    return folder


def test_score_refuses_an_output_reached_through_a_symlink_into_the_store(scored_project: Path) -> None:
    link = scored_project / "looks-harmless"
    link.symlink_to(scored_project / ".modelcycle" / "models" / "m")
    before = snapshot(scored_project / ".modelcycle")
    with pytest.raises(DataError, match="is inside the store"):
        open_project(scored_project).score("m", "d", str(link / "versions" / "00000001.json"))
    assert snapshot(scored_project / ".modelcycle") == before
    # beside the store is fine, even with a name that starts like it
    summary = open_project(scored_project).score("m", "d", str(scored_project / ".modelcycle-scores.csv"))
    assert summary["rows"] == 100


def test_score_refuses_an_output_under_the_s3_store_prefix(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    folder = tmp_path / "p"
    write_settings(
        folder,
        f"""
        [project]
        store = "s3://{s3_bucket}/store"
        store_options = {{ endpoint_url = "{s3_endpoint}" }}
        [datasets.d]
        url = "d.csv"
        [models.m]
        dataset = "d"
        target = "y"
        params = {{ max_iter = 5 }}
        """,
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    pd.DataFrame({"x": x, "y": (x > 0).astype(int)}).to_csv(folder / "d.csv", index=False)
    project = open_project(folder)
    project.train("m")
    for output in (
        f"s3://{s3_bucket}/store/models/m/versions/00000001.json",
        f"s3://{s3_bucket}/store/x/../scores.csv",
        f"s3a://{s3_bucket}/store/scores.parquet",
    ):
        with pytest.raises(DataError, match="is inside the store"):
            project.score("m", "d", output)
    assert project.versions("m")[0]["version"] == 1
    assert project.score("m", "d", f"s3://{s3_bucket}/store-scores/s.csv")["rows"] == 80
