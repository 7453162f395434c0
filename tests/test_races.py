"""State changes that another process can race: each either wins cleanly or backs out.

Real races between threads are rare, so the store is slowed at random (each read,
listing and write sleeps up to a millisecond before doing the real thing): the
operations then interleave in many different orders, as they do between machines
on S3. Each pair runs 200 trials on memory:// (one process, threads).
"""

from __future__ import annotations

import json
import os
import random
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import fsspec
import pytest
from modelcycle import open_project, retention
from modelcycle.errors import ModelcycleError

from tests.conftest import conditional_put, write_settings

TRIALS = 200


class Slow:
    """Makes every store call of one store object wait a random moment first, while `on` (the real
    call follows): the setup of a trial runs at full speed, its race slowed."""

    def __init__(self, store, rng: random.Random, most: float = 0.001) -> None:
        self.on = False
        for name in ("get", "list", "put_if_absent", "write", "delete"):
            real = getattr(store, name)

            def slowed(*args, _real=real, **kwargs):  # noqa: ANN002, ANN003, ANN202
                if self.on:
                    time.sleep(rng.random() * most)
                return _real(*args, **kwargs)

            setattr(store, name, slowed)


def together(*calls: Callable[[], object], slow: Slow | None = None) -> list[object]:
    """Run the calls in threads released at once (the store slowed meanwhile); each result, or the
    ModelcycleError it raised. Any other exception fails the test: a crash is never a fair outcome."""
    barrier = threading.Barrier(len(calls))
    out: list[object] = [None] * len(calls)
    crashed: list[BaseException] = []

    def run(i: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            out[i] = call()
        except ModelcycleError as exc:
            out[i] = exc
        except BaseException as exc:  # raised below, in the test's own thread
            crashed.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    if slow is not None:
        slow.on = True
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if slow is not None:
        slow.on = False
    if crashed:
        raise crashed[0]
    return out


@pytest.fixture
def project(tmp_path: Path):
    write_settings(tmp_path, f'[project]\nname = "r"\nstore = "memory://races-{tmp_path.name}"\n')
    yield open_project(tmp_path)
    memory = fsspec.filesystem("memory")
    for key in [k for k in memory.store if k.startswith(f"/races-{tmp_path.name}/")]:
        del memory.store[key]


def _version(project, model: str, n: int) -> int:
    return project.record_version(model, f"{model} {n}".encode(), artifact_format="joblib", metadata={})["version"]


def _assert_active_is_intact(project, model: str) -> None:
    active = project.active_version(model)
    if active is None:
        return
    listed = {v["version"]: v for v in project.versions(model)}
    assert not listed[active]["deleted"], f"{model}: active version {active} is deleted"
    project.registry.read_artifact(model, active)  # present and matching its sha256


def test_activate_racing_gc_never_leaves_the_active_version_deleted(project) -> None:
    slow = Slow(project.store, random.Random(16))
    outcomes = {"activated": 0, "refused": 0}
    for trial in range(TRIALS):
        model = f"a{trial}"
        old, _new = _version(project, model, 1), _version(project, model, 2)
        activated, _report = together(
            lambda m=model, v=old: project.activate(m, v), lambda m=model: project.gc(m, keep=1), slow=slow
        )
        outcomes["activated" if isinstance(activated, dict) else "refused"] += 1
        if not isinstance(activated, dict):
            assert "was deleted by gc" in str(activated)
            assert project.active_version(model) is None
        _assert_active_is_intact(project, model)
    assert outcomes["activated"] > 0, outcomes


def test_an_activation_between_gcs_tombstone_and_its_decision_keeps_the_version(project, monkeypatch) -> None:
    """The interleaving that broke before: gc has snapshotted and tombstoned, the activation lands, gc deletes."""
    old, _new = _version(project, "m", 1), _version(project, "m", 2)
    seen: list[str] = []

    def activate_now(point: str) -> None:
        seen.append(point)
        if point == "gc:tombstoned":
            project.activate("m", old)

    monkeypatch.setattr(retention, "between", activate_now)
    report = project.gc("m", keep=1)
    assert seen == ["gc:tombstoned", "activate:intent", "activate:checked", "gc:spared"]
    assert report["deleted_versions"] == [] and report["protected_versions"] == [old]
    _assert_active_is_intact(project, "m")
    assert project.active_version("m") == old


def test_an_activation_after_gcs_decision_refuses_and_appends_nothing(project, monkeypatch) -> None:
    old, _new = _version(project, "m", 1), _version(project, "m", 2)
    monkeypatch.setattr(retention, "between", lambda point: None)
    project.gc("m", keep=1)
    with pytest.raises(ModelcycleError, match="model 'm' version 1 was deleted by gc: choose another version"):
        project.activate("m", old)
    assert project.registry.activations("m") == []
    assert project.store.list("models/m/activating") == []  # the intent is withdrawn


class Killed(Exception):
    """A process killed at a hook point."""


def test_a_gc_never_decides_a_tombstone_newer_than_its_read_of_the_activations(project, monkeypatch) -> None:
    """gc A reads the intents and the log; an activation then writes its intent and finds no tombstone;
    gc B tombstones the version and stops before deciding; A must not decide B's tombstone from its older
    read (it would delete the version being activated)."""
    old, _new = _version(project, "m", 1), _version(project, "m", 2)
    seen: list[str] = []

    def interleave(point: str) -> None:
        seen.append(point)
        if point == "gc:spared" and seen.count(point) == 1:  # gc A, after its read
            project.activate("m", old)
        elif point == "activate:checked":  # the activation has seen no tombstone
            with pytest.raises(Killed):
                project.gc("m", keep=1)  # gc B
        elif point == "gc:tombstoned" and seen.count(point) == 2:  # gc B, tombstone appended
            raise Killed

    monkeypatch.setattr(retention, "between", interleave)
    report = project.gc("m", keep=5)  # gc A
    assert seen == ["gc:tombstoned", "gc:spared", "activate:intent", "activate:checked", "gc:tombstoned"]
    assert report["deleted_versions"] == [] and project.active_version("m") == old
    monkeypatch.setattr(retention, "between", lambda point: None)
    project.registry.read_artifact("m", old)  # still there
    assert project.gc("m", keep=1)["deleted_versions"] == []  # a later gc settles B's tombstone: kept
    _assert_active_is_intact(project, "m")


def test_activate_racing_gc_on_s3(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    """The same race on S3 (moto's server on loopback): 12 trials, each store request a real HTTP call."""
    write_settings(
        tmp_path,
        f'[project]\nname = "r"\nstore = "s3://{s3_bucket}/store"\n'
        f'store_options = {{ endpoint_url = "{s3_endpoint}" }}\n',
    )
    project = open_project(tmp_path)
    for trial in range(12):
        model = f"a{trial}"
        old, _new = _version(project, model, 1), _version(project, model, 2)
        activated, _report = together(
            lambda m=model, v=old: project.activate(m, v), lambda m=model: project.gc(m, keep=1)
        )
        if not isinstance(activated, dict):
            assert "was deleted by gc" in str(activated)
        _assert_active_is_intact(project, model)


def test_rollback_racing_gc_never_leaves_the_active_version_deleted(project, monkeypatch) -> None:
    monkeypatch.setattr(retention, "PROTECTED_ACTIVATIONS", 1)  # so the rollback target is not protected
    slow = Slow(project.store, random.Random(61))
    for trial in range(TRIALS):
        model = f"r{trial}"
        for n in (1, 2):
            project.activate(model, _version(project, model, n))
        _version(project, model, 3)  # the newest, kept; version 1 is doomed unless the rollback to it wins
        rolled, _report = together(
            lambda m=model: project.rollback(m), lambda m=model: project.gc(m, keep=1), slow=slow
        )
        if not isinstance(rolled, dict):
            assert "was deleted by gc" in str(rolled)
        _assert_active_is_intact(project, model)


def test_every_memory_store_operation_waits_for_the_one_lock(project) -> None:
    """fsspec's memory filesystem is one dict for the whole process: a listing that overlaps a write
    or a delete in another thread can fail ("dictionary changed size during iteration"). Each of the
    store's operations holds the lock writers hold; while it is taken, each waits."""
    from modelcycle_fsspec import stores

    store = project.store
    store.write("k/a", b"1")
    operations = {
        "list": lambda: store.list("k"),
        "get": lambda: store.get("k/a"),
        "modified": lambda: store.modified("k/a"),
        "write": lambda: store.write("k/b", b"2"),
        "put_if_absent": lambda: store.put_if_absent("k/c", b"3"),
        "delete": lambda: store.delete("k/a"),
    }
    for name, operation in operations.items():
        finished = threading.Event()
        thread = threading.Thread(target=lambda op=operation, done=finished: (op(), done.set()))
        with stores._MEMORY_LOCK:
            thread.start()
            assert not finished.wait(0.2), f"{name} did not wait for the lock"
        assert finished.wait(10), f"{name} did not finish once the lock was free"
        thread.join()
    assert store.list("k") == ["k/b", "k/c"]


# -- a hostile store: keys that leave it -------------------------------------------------


def test_a_version_naming_a_key_outside_the_store_is_refused_and_nothing_outside_is_touched(tmp_path) -> None:
    write_settings(tmp_path / "p", '[project]\nname = "k"\n')
    project = open_project(tmp_path / "p")
    for n in (1, 2):
        _version(project, "m", n)
    victim = tmp_path / "victim.txt"  # two levels above the store root, p/.modelcycle
    victim.write_text("not yours")
    entry_file = tmp_path / "p" / ".modelcycle" / "models" / "m" / "versions" / "00000001.json"
    entry = json.loads(entry_file.read_text())
    entry["artifact"]["key"] = "../../victim.txt"
    entry_file.write_text(json.dumps(entry))
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))

    with pytest.raises(ModelcycleError) as gc_error:
        project.gc("m", keep=1)
    assert str(gc_error.value) == (
        "model 'm' version 1 names the object '../../victim.txt', outside the model's artifact folder "
        "(models/m/artifacts/…): its metadata was altered, so gc refuses to delete anything; restore the version entry"
    )
    with pytest.raises(ModelcycleError) as load_error:
        project.registry.read_artifact("m", 1)
    assert str(load_error.value) == (
        "store key '../../victim.txt' is not allowed: keys are relative paths inside the store, without "
        "'.' or '..' parts; the object naming it was altered: restore it"
    )
    for bad in ("/etc/passwd", "a//b", "./a", "a\\..\\b", ""):
        with pytest.raises(ModelcycleError, match="is not allowed"):
            project.store.delete(bad)
    assert victim.read_text() == "not yours"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before


# -- power loss: the folder store makes new names durable -----------------------------------


def test_the_folder_store_fsyncs_every_directory_it_adds_a_name_to(tmp_path, monkeypatch) -> None:
    """A file's own fsync does not make its name durable: the directory holding the name must be
    fsynced too (after the rename or link, and after creating a folder, its parent)."""
    from modelcycle_fsspec import stores

    synced: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(stores.os, "fsync", recording)
    root = tmp_path / "store"
    root.mkdir()
    write_settings(tmp_path / "p", f'[project]\nname = "s"\nstore = "{root}"\n')
    store = open_project(tmp_path / "p").store  # built by the plugin factory, its options validated
    assert isinstance(store, stores.LocalFolderStore)
    store.write("a/b/one.json", b"1")
    assert {str(root), str(root / "a"), str(root / "a" / "b")} <= set(synced)
    for operation in (lambda: store.write("a/b/two.json", b"2"), lambda: store.put_if_absent("a/b/three.json", b"3")):
        synced.clear()
        operation()
        assert synced == [str(root / "a" / "b")]
    synced.clear()
    assert store.put_if_absent("a/b/three.json", b"3") is False and synced == []
    store.delete("a/b/two.json")
    assert synced == [str(root / "a" / "b")]


# -- S3: a put-if-absent whose reply is lost ------------------------------------------------

OUTBOX = '[notifiers.outbox]\ntype = "file"\n'


@pytest.fixture
def lossy(lossy_s3, tmp_path):
    """(proxy, project) on S3 through a proxy that loses the replies the test asks it to."""
    proxy, settings = lossy_s3
    write_settings(tmp_path / "lossy", settings + OUTBOX)
    return proxy, open_project(tmp_path / "lossy")


def test_s3_a_version_whose_claim_reply_is_lost_is_one_version(lossy) -> None:
    proxy, project = lossy
    proxy.lose_replies(1, conditional_put("/models/m/versions/00000001.json"))
    assert _version(project, "m", 1) == 1
    assert proxy.lost  # the PUT took effect, its reply was lost, the retry got 412
    assert [v["version"] for v in project.registry.versions("m")] == [1]
    project.registry.read_artifact("m", 1)


def test_s3_an_activation_whose_reply_is_lost_is_logged_once(lossy) -> None:
    proxy, project = lossy
    _version(project, "m", 1)
    proxy.lose_replies(1, conditional_put("/models/m/activations/00000001.json"))
    entry = project.activate("m", 1)
    assert proxy.lost and entry["seq"] == 1
    assert [a["version"] for a in project.registry.activations("m")] == [1]


def test_s3_an_alert_whose_sent_marker_reply_is_lost_is_sent_and_logged_once(lossy) -> None:
    from modelcycle import alerts

    proxy, project = lossy
    alert = alerts.queue(project, "outbox", "subject", "text", {"kind": "test", "at": "2026-01-01T00:00:00+00:00"})
    proxy.lose_replies(1, conditional_put("/alerts/sent/"))
    assert alerts.deliver(project, alert)["status"] == "sent"
    assert proxy.lost
    assert alerts.pending(project) == []
    assert [a["id"] for a in alerts.sent(project)] == [alert["id"]]
    assert len(project.store.list("outbox/outbox")) == 1


def test_s3_a_lease_whose_reply_is_lost_is_won(lossy) -> None:
    from modelcycle import scheduler

    proxy, project = lossy
    proxy.lose_replies(1, conditional_put("/leases/"))
    status, key = scheduler.claim(project, "nightly", "cron 2026-01-01T02:00")
    assert proxy.lost and status == "won" and key is not None and key.endswith("/0.json")


# -- alerts: concurrent senders, concurrent checks ---------------------------------------------


@pytest.fixture
def alerting(tmp_path: Path):
    write_settings(
        tmp_path,
        f'[project]\nname = "r"\nstore = "memory://alerts-{tmp_path.name}"\n'
        f'{OUTBOX}[alerts]\nnotify = ["outbox"]\ncooldown = "1h"\n',
    )
    yield open_project(tmp_path)
    memory = fsspec.filesystem("memory")
    for key in [k for k in memory.store if k.startswith(f"/alerts-{tmp_path.name}/")]:
        del memory.store[key]


def _result(seq: int, outcome: str = "ERROR", check: str = "auc") -> dict:
    return {
        "check": check,
        "seq": seq,
        "outcome": outcome,
        "model": "m",
        "version": 1,
        "metric": "roc_auc",
        "value": 0.5,
        "message": "below",
        "at": f"2026-01-01T00:00:{seq % 60:02d}.{seq:06d}+00:00",
    }


def test_concurrent_retries_deliver_each_alert_once(alerting) -> None:
    from modelcycle import alerts

    slow = Slow(alerting.store, random.Random(3))
    for trial in range(TRIALS):
        alerts.queue(alerting, "outbox", f"alert {trial}", "text", {"kind": "test", "seq": trial, "at": f"t{trial}"})
        together(*(lambda: alerts.retry(alerting, force=True) for _ in range(3)), slow=slow)
        delivered = alerting.store.list("outbox/outbox")
        assert len(delivered) == trial + 1, f"trial {trial}: {len(delivered) - trial} deliveries of one alert"
        assert alerts.pending(alerting) == []
    logged = [a["subject"] for a in alerts.sent(alerting)]
    assert sorted(logged) == sorted(f"alert {t}" for t in range(TRIALS))


def test_concurrent_checks_with_one_outcome_queue_one_alert_per_cooldown(alerting) -> None:
    from modelcycle import alerts

    slow = Slow(alerting.store, random.Random(4))
    for trial in range(TRIALS):
        check = f"c{trial}"
        queued = together(
            lambda c=check: alerts.queue_alerts(alerting, _result(1, check=c)),
            lambda c=check: alerts.queue_alerts(alerting, _result(2, check=c)),
            slow=slow,
        )
        assert sum(len(q) for q in queued) == 1, f"trial {trial}: {queued}"
    assert len(alerts.pending(alerting)) == TRIALS


def test_a_claim_left_by_a_dead_sender_is_taken_over_once_it_is_old(alerting, monkeypatch) -> None:
    """At-least-once: a sender that died mid-send leaves its claim; once CLAIM_SECONDS old the alert
    goes out again (the notifier may then have it twice)."""
    from datetime import timedelta

    from modelcycle import alerts

    alert = alerts.queue(alerting, "outbox", "s", "t", {"kind": "test", "seq": 1, "at": "t1"})
    alerting.store.put_json_if_absent(
        f"alerts/sending/{alert['id']}/0.json", {"by": "elsewhere:1:1", "at": "2026-01-01T00:00:00+00:00"}
    )
    real = alerts.now
    monkeypatch.setattr(alerts, "now", lambda: real().replace(year=2026, month=1, day=1, hour=0, minute=5))
    assert alerts.retry(alerting, force=True)[0]["status"] == "pending"  # claimed 5 minutes ago: left alone
    assert alerting.store.list("outbox/outbox") == []
    monkeypatch.setattr(
        alerts,
        "now",
        lambda: (
            real().replace(year=2026, month=1, day=1, hour=0, minute=0) + timedelta(seconds=alerts.CLAIM_SECONDS + 1)
        ),
    )
    assert alerts.retry(alerting, force=True)[0]["status"] == "pending"  # taken for dead: attempt bumped
    [waiting] = alerts.pending(alerting)
    assert waiting["attempts"] == 1
    assert waiting["last_error"] == "its sender stopped mid-send (claimed at 2026-01-01T00:00:00+00:00)"
    assert alerts.retry(alerting)[0]["status"] == "sent"
    assert len(alerting.store.list("outbox/outbox")) == 1 and alerts.pending(alerting) == []
    assert alerting.store.list(f"alerts/sending/{alert['id']}") == []
