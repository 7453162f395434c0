"""Store contract and registry on a folder, memory:// and a real S3 server on loopback:
put-if-absent, versions, the activation log, concurrency, SIGKILL and tampering."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from modelcycle.errors import IntegrityError, ModelcycleError, NotFoundError
from modelcycle.journal import SEGMENT, Journal

WORKER = str(Path(__file__).with_name("_worker.py"))


# -- the Store contract -------------------------------------------------------------------


def test_store_contract(make_project, store_settings: str) -> None:
    store = make_project(store_settings).store
    assert store.get("a/b.json") is None
    store.write("a/b.json", b"1")
    store.write("a/b.json", b"2")
    assert store.get("a/b.json") == b"2"
    assert store.put_if_absent("a/c.json", b"first") is True
    assert store.put_if_absent("a/c.json", b"second") is False
    assert store.get("a/c.json") == b"first"
    store.write("a/d/e.json", b"3")
    assert store.list("a") == ["a/b.json", "a/c.json", "a/d/e.json"]
    assert store.list("nothing") == []
    store.delete("a/b.json")
    store.delete("a/b.json")  # missing: not an error
    assert store.get("a/b.json") is None


def test_put_if_absent_has_one_winner_among_threads(make_project, store_settings: str) -> None:
    store = make_project(store_settings).store
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        barrier.wait()
        if store.put_if_absent("race/key", str(i).encode()):
            wins.append(i)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.get("race/key") == str(wins[0]).encode()


# -- versions and activations -----------------------------------------------------------------


def test_versions_activate_and_rollback(make_project, store_settings: str) -> None:
    project = make_project(store_settings)
    for i in range(4):
        entry = project.record_version(
            "m", f"artifact {i}".encode(), artifact_format="joblib", metadata={"metrics": {"auc": 0.5 + i / 10}}
        )
        assert entry["version"] == i + 1
        assert entry["artifact"]["sha256"] == hashlib.sha256(f"artifact {i}".encode()).hexdigest()
    assert [v["version"] for v in project.versions("m")] == [1, 2, 3, 4]
    assert not any(v["active"] for v in project.versions("m"))
    assert project.active_version("m") is None

    project.activate("m", 1, reason="first")
    project.activate("m", 3, reason="better")
    project.activate("m", 4)
    assert project.active_version("m") == 4
    assert [v["active"] for v in project.versions("m")] == [False, False, False, True]

    back = project.rollback("m", reason="v4 misbehaves")
    assert (back["version"], back["previous"], back["kind"]) == (3, 4, "rollback")
    assert project.rollback("m")["version"] == 1  # an undo stack, not a toggle
    with pytest.raises(ModelcycleError, match="no version was active before version 1; nothing to roll back to"):
        project.rollback("m")

    log = project.show("m")["activations"]
    assert [(a["version"], a["previous"], a["kind"], a["reason"]) for a in log] == [
        (1, None, "activate", "first"),
        (3, 1, "activate", "better"),
        (4, 3, "activate", None),
        (3, 4, "rollback", "v4 misbehaves"),
        (1, 3, "rollback", None),
    ]
    assert all(a["actor"] for a in log)
    _, data = project.registry.read_artifact("m", 3)
    assert data == b"artifact 2"


def test_not_found_errors(make_project) -> None:
    project = make_project('[project]\n[datasets.d]\nurl="d.csv"\n')
    with pytest.raises(NotFoundError, match="unknown model 'm': models in modelcycle.toml: none"):
        project.versions("m")
    project.record_version("m", b"x", artifact_format="joblib", metadata={})
    with pytest.raises(NotFoundError, match="model 'm' has no version 7: versions are 1 to 1"):
        project.activate("m", 7)
    with pytest.raises(NotFoundError, match="model 'm' has no active version: nothing to roll back"):
        project.rollback("m")
    assert project.show("m")["version"] == 1  # no active version: the latest


def test_a_tampered_artifact_refuses_to_load(make_project, store_settings: str) -> None:
    project = make_project(store_settings)
    entry = project.record_version("m", b"the real model", artifact_format="joblib", metadata={})
    project.store.write(entry["artifact"]["key"], b"the evil model")
    with pytest.raises(IntegrityError, match=r"version 1 does not match its recorded sha256 .* refused"):
        project.registry.read_artifact("m", 1)
    project.store.delete(entry["artifact"]["key"])
    with pytest.raises(IntegrityError, match="artifact of model 'm' version 1 is missing from the store"):
        project.registry.read_artifact("m", 1)


def test_reads_use_segments_and_survive_missing_derived_objects(make_project) -> None:
    project = make_project()
    journal = Journal(project.store, "j")
    for _ in range(SEGMENT * 2 + 5):
        journal.append(lambda seq, prev: {"seq": seq, "prev": prev["seq"] if prev else None})
    assert project.store.get("j/segments/000001.json") is not None
    expected = [{"seq": i, "prev": i - 1 or None} for i in range(1, SEGMENT * 2 + 6)]
    assert journal.all() == expected
    # a writer killed before writing HEAD or a segment: reads stay right
    project.store.delete("j/segments/000000.json")
    project.store.write("j/HEAD.json", b'{"last": 3}')
    assert journal.all() == expected
    assert journal.last()[0] == SEGMENT * 2 + 5
    project.store.delete("j/HEAD.json")
    assert journal.last()[0] == SEGMENT * 2 + 5


def test_reading_the_active_version_costs_the_same_however_long_the_history(make_project) -> None:
    project = make_project()
    costs = []
    for _ in range(3):
        for _ in range(70):
            v = project.record_version("m", b"x", artifact_format="joblib", metadata={})
            project.activate("m", v["version"])
        project.store.requests = 0
        current = project.registry.active("m")
        project.registry.version("m", current["version"])
        costs.append(project.store.requests)
    assert costs[0] == costs[1] == costs[2] <= 6


# -- processes: concurrency and SIGKILL ------------------------------------------------------------


def run_worker(folder: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, WORKER, str(folder), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(params=["local", "s3"])
def shared_project(request, tmp_path: Path, make_project):
    """A project folder whose store several processes share: a folder, or S3."""
    if request.param == "local":
        text = '[project]\nname = "t"\n'
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        text = f'[project]\nname = "t"\nstore = "s3://{bucket}/s"\nstore_options = {{ endpoint_url = "{endpoint}" }}\n'
    project = make_project(text)
    return project.settings.root, project


def test_eight_processes_creating_versions_get_eight_distinct_versions(shared_project) -> None:
    folder, project = shared_project
    workers = [run_worker(folder, "create", "1") for _ in range(8)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1] for o in outputs]
    claimed = sorted(int(out.strip()) for out, _ in outputs)
    assert claimed == list(range(1, 9))
    assert [v["version"] for v in project.versions("m")] == claimed
    for v in claimed:
        project.registry.read_artifact("m", v)


def test_concurrent_activations_all_appear_in_one_order(shared_project) -> None:
    folder, project = shared_project
    for _ in range(8):
        project.record_version("m", os.urandom(64), artifact_format="joblib", metadata={})
    workers = [run_worker(folder, "activate", str(v)) for v in range(1, 9)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1] for o in outputs]
    log = project.registry.activations("m")
    assert sorted(a["version"] for a in log) == list(range(1, 9))
    assert [a["seq"] for a in log] == list(range(1, 9))
    for before, after in zip(log, log[1:], strict=False):
        assert after["previous"] == before["version"] and after["back"] == before["seq"]
    assert project.active_version("m") == log[-1]["version"]


def assert_registry_valid(project, checked: int = 0) -> int:
    """Every listed version has its artifact with the right hash; the log names real versions.

    Artifacts of versions up to `checked` were verified before; returns the new count.
    """
    versions = project.registry.versions("m")
    assert [v["version"] for v in versions] == list(range(1, len(versions) + 1))
    for v in versions[checked:]:
        project.registry.read_artifact("m", v["version"])
    log = project.registry.activations("m")
    assert [a["seq"] for a in log] == list(range(1, len(log) + 1))
    assert all(1 <= a["version"] <= len(versions) for a in log)
    for before, after in zip(log, log[1:], strict=False):
        assert after["previous"] == before["version"]
    return len(versions)


def test_sigkill_at_random_moments_never_leaves_a_broken_version(shared_project) -> None:
    folder, project = shared_project
    rng = random.Random(1234)
    checked = 0
    for _trial in range(20):
        worker = run_worker(folder, "churn")
        assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        time.sleep(rng.uniform(0.0, 0.3))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        checked = assert_registry_valid(project, checked)
    assert_registry_valid(project)
    assert checked > 25  # the kills landed while versions were being written


def test_store_failures_are_one_line_naming_the_store(make_project, tmp_path: Path) -> None:
    from modelcycle.errors import StoreError

    (tmp_path / "afile").write_text("not a folder")  # a store under a file: every write fails
    project = make_project(f'[project]\nstore = "{tmp_path / "afile" / "store"}"\n')
    with pytest.raises(
        StoreError, match=r"^store .*afile/store: write 'models/m/artifacts/.*' failed: .*check that the store"
    ):
        project.record_version("m", b"x", artifact_format="joblib", metadata={})


def test_interpolated_values_never_reach_the_activation_log(tmp_path: Path, monkeypatch) -> None:
    from modelcycle import open_project

    from tests.conftest import write_settings

    monkeypatch.setenv("MC_TOKEN", "tok-very-secret")
    write_settings(tmp_path, '[project]\nname = "${MC_TOKEN}"\n')
    project = open_project(tmp_path)
    project.record_version("m", b"x", artifact_format="joblib", metadata={"note": "made with tok-very-secret"})
    project.activate("m", 1, reason="because tok-very-secret")
    stored = b"".join(p.read_bytes() for p in (tmp_path / ".modelcycle").rglob("*.json"))
    assert b"tok-very-secret" not in stored and b"${MC_TOKEN}" in stored


def test_artifact_format_cannot_escape_the_store(make_project) -> None:
    from modelcycle.errors import ModelcycleError

    with pytest.raises(ModelcycleError, match="artifact format '../x' is not allowed"):
        make_project().record_version("m", b"x", artifact_format="../x", metadata={})


def test_a_long_lived_s3_reader_sees_other_writers_after_listing(
    make_project, s3_endpoint: str, s3_bucket: str
) -> None:
    text = f'[project]\nstore = "s3://{s3_bucket}/s"\nstore_options = {{ endpoint_url = "{s3_endpoint}" }}\n'
    first = make_project(text)
    other = make_project(text.replace("endpoint_url", "skip_instance_cache = true, endpoint_url"))
    for _ in range(3):
        first.record_version("m", b"x", artifact_format="joblib", metadata={})
    first.activate("m", 1)
    first.activate("m", 2)
    first.store.list("models/m")  # fills s3fs's listing cache, if it were used
    other.activate("m", 3)
    assert first.active_version("m") == 3
    entry = first.activate("m", 1)
    assert (entry["previous"], entry["back"]) == (3, 3)
