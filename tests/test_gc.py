"""gc: old versions go, protected ones stay, orphans of crashed writers go once they are old,
and what a running training just wrote is never touched."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from modelcycle import open_project
from modelcycle.cli import main
from modelcycle.errors import NotFoundError
from modelcycle.retention import GRACE_SECONDS

from tests.conftest import write_settings


@pytest.fixture
def project(tmp_path: Path):
    write_settings(tmp_path, '[project]\nname = "gc"\n')
    project = open_project(tmp_path)
    for i in range(10):
        project.record_version(
            "m", f"model {i}".encode(), artifact_format="joblib", metadata={}, attachments={"profile.json": b"{}"}
        )
    for version in (1, 2, 3, 4, 5, 6):
        project.activate("m", version)
    return project


def artifact_path(project, version: int) -> Path:
    return project.settings.root / ".modelcycle" / project.registry.version("m", version)["artifact"]["key"]


def test_gc_keeps_the_newest_the_active_and_the_recently_activated(project) -> None:
    report = project.gc("m", keep=3)
    # newest 3: 8-10; active 6 and the last 5 activations: 2-6
    assert report["deleted_versions"] == [1, 7]
    assert report["protected_versions"] == [2, 3, 4, 5, 6]
    assert not artifact_path(project, 1).exists() and not artifact_path(project, 7).exists()
    assert artifact_path(project, 2).exists() and artifact_path(project, 10).exists()
    listed = {v["version"]: v["deleted"] for v in project.versions("m")}
    assert listed[1] is True and listed[2] is False and len(listed) == 10  # numbers are never reused
    with pytest.raises(NotFoundError, match="model 'm' version 1 was deleted by gc"):
        project.activate("m", 1)
    with pytest.raises(NotFoundError, match="version 7 was deleted by gc"):
        project.load_model("m", 7)
    assert project.gc("m", keep=3)["deleted_versions"] == []  # idempotent
    new = project.record_version("m", b"again", artifact_format="joblib", metadata={})
    assert new["version"] == 11


def test_dry_run_changes_nothing(project, capsys) -> None:
    store = project.settings.root / ".modelcycle"
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    with pytest.raises(SystemExit) as info:
        main(["--project", str(project.settings.root), "gc", "m", "--keep", "3", "--dry-run", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert info.value.code == 0 and report["dry_run"] is True and report["deleted_versions"] == [1, 7]
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


def test_orphans_go_only_once_they_are_old(project) -> None:
    store = project.settings.root / ".modelcycle" / "models" / "m" / "artifacts"
    old = store / "deadbeef" / "model.joblib"
    fresh = store / "cafebabe" / "model.joblib"  # a training running right now, before its claim
    for path in (old, fresh):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"orphan")
    tmp = store.parent / "versions" / ".00000011.json.abc.tmp"
    tmp.write_bytes(b"{")
    past = time.time() - GRACE_SECONDS - 60
    os.utime(old, (past, past))
    os.utime(tmp, (past, past))
    report = project.gc("m", keep=10)
    assert report["deleted_versions"] == []
    assert sorted(report["orphans"]) == [
        "models/m/artifacts/deadbeef/model.joblib",
        "models/m/versions/.00000011.json.abc.tmp",
    ]
    assert not old.exists() and not tmp.exists() and fresh.exists()
    assert all(artifact_path(project, v).exists() for v in range(1, 11))


def test_gc_errors(project, capsys) -> None:
    for args, expected in (
        (["gc", "m", "--keep", "0"], "error: invalid value for '--keep': 0 is not in the range x>=1"),
        (["gc", "m"], "error: missing option '--keep'"),
        (["gc", "../m", "--keep", "2"], "error: model name '../m' is not allowed"),
    ):
        with pytest.raises(SystemExit) as info:
            main(["--project", str(project.settings.root), *args])
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.startswith(expected), err


def test_gc_judges_activation_intents_by_the_stores_clock_not_its_own(project) -> None:
    """An intent is a killed activation's when the store's time stamps say it is over an hour old,
    whatever the clock of the host running gc says."""
    from modelcycle import retention

    for name, version in (("dead", 1), ("live", 7)):  # activations in progress on other hosts
        project.store.put_json_if_absent(f"models/m/activating/{name}.json", {"version": version, "actor": "other"})
    intents = project.settings.root / ".modelcycle" / "models" / "m" / "activating"
    past = time.time() - GRACE_SECONDS - 60
    os.utime(intents / "dead.json", (past, past))  # its activation was killed an hour ago
    behind = retention.collect(project, "m", keep=9, now=time.time() - 2 * GRACE_SECONDS)
    assert behind["deleted_versions"] == [1]  # the dead intent no longer protects version 1
    assert sorted(p.name for p in intents.iterdir()) == ["live.json"]
    ahead = retention.collect(project, "m", keep=1, now=time.time() + 2 * GRACE_SECONDS)
    assert ahead["deleted_versions"] == [8, 9] and 7 in ahead["protected_versions"]
    assert (intents / "live.json").exists() and artifact_path(project, 7).exists()
