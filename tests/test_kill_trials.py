"""SIGKILL at random moments during train, score, evaluate, activate, check (results and their
alerts) and a scenario run, on a folder and on S3 (moto's server on loopback, through s3fs):
after every kill nothing partial is visible, and the operation still works afterwards.

A trial. This process imports everything once and forks the children (milliseconds, where a
new interpreter would re-import sklearn for ~2 s). A child opens its own Project, so its own
s3fs event loop and connections (fsspec drops the parent's loop, lock and instance cache in a
forked child), warms up, says R(eady) on a pipe and waits. The parent says G(o), sleeps a delay
drawn by a seeded RNG across the operation's duration (the median of its uninterrupted runs,
the first one before any kill), and kills it: SIGSTOP, waited for, so no later system call of
the child can land, then SIGKILL. It audits the store, then the operation runs again,
uninterrupted (see AGAIN_EVERY). Children are forked ahead, so they warm up while earlier ones
work. A child whose operation raises before its kill (it runs on whatever the earlier kills
left) sends its traceback up the pipe, and the test fails with it.

The audit reads the store as a reader would, through the Project API: every listed version's
artifact and attachments are present and match their sha256; the versions, activation,
evaluation, check-result, alert and scenario-run journals are contiguous and every record is
complete; every JSON object parses; every alert is either pending or sent, and one marked
sent is shown once; score outputs are absent or complete; status(), history() and versions()
work and agree. On S3 it reads a snapshot taken from moto's in-process backend, exactly what a
GET would return at that moment, rather than paying ~10 ms of HTTP for each of hundreds of
objects; the S3 API itself is read at the end of each test.

To reproduce a failure: its message names the trial and the delay; the RNG is seeded by the
operation and the store.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import select
import shutil
import signal
import statistics
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from modelcycle import alerts, checks, hookimpl, open_project
from modelcycle.interfaces import Store
from modelcycle.journal import Journal
from modelcycle.project import Project
from threadpoolctl import threadpool_limits

from tests.conftest import write_settings

TRIALS = 20
#: The operation runs again, uninterrupted, after every kill on a folder (in this process) and
#: after every tenth on S3 (in a child: moto serves from this process), where a request costs
#: ~10 ms. Each child in between also runs it on what the earlier kills left, until its own kill.
AGAIN_EVERY = {"local": 1, "s3": 10}
NEW_ROWS = 1000  # rows scored per run
SETTINGS = """
[project]
name = "kill"
{store}
[datasets.d]
url = "train.csv"
[models.m]
dataset = "d"
target = "target"
params = {{ max_iter = 10 }}
threads = 1
[checks.floor]
model = "m"
metric = "roc_auc"
min = 0.9999
[notifiers.box]
type = "file"
[alerts]
notify = ["box"]
cooldown = 0
[scenarios.nightly]
steps = [
  {{ type = "evaluate", model = "m", dataset = "feedback.csv" }},
  {{ type = "check" }},
]
notify = {{ FAILED = ["box"] }}
"""

VERSION_KEYS = {"model", "version", "created_at", "created_by", "artifact", "trainer", "task", "metrics", "decision"}
VERSION_KEYS |= {"features", "dataset", "attachments"}
ACTIVATION_KEYS = {"seq", "kind", "version", "previous", "back", "at", "actor", "reason", "decision"}
EVALUATION_KEYS = {"id", "model", "version", "rows", "labeled_rows", "metrics", "drift", "estimated", "evaluated_at"}
CHECK_KEYS = {"seq", "check", "model", "metric", "value", "outcome", "message", "at", "version", "evaluation"}
PENDING_KEYS = {"id", "notifier", "subject", "text", "about", "status", "created_at", "attempts", "next_attempt_at"}
LOGGED_KEYS = PENDING_KEYS | {"seq", "sent_at"}
OUTBOX_KEYS = {"notifier", "subject", "text", "alert", "sent_at"}
RUN_KEYS = {"id", "scenario", "trigger", "slot", "project", "started_at", "finished_at", "outcome", "steps"}
STEP_KEYS = {"type", "outcome", "started_at", "finished_at", "message"}
#: objects rewritten in place (the others are written once, so parsed once)
MUTABLE = re.compile(r"/HEAD\.json$|/segments/|^alerts/(pending|cooldown)/")
SCORED_COLUMNS = {"x0", "prediction", "proba_0", "proba_1", "model_version", "scored_at"}


# -- data and projects ---------------------------------------------------------------------------


def rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)])
    frame["target"] = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.7, size=n) > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data, and a folder store holding 3 versions of m (3 active) and one evaluation."""
    folder = tmp_path_factory.mktemp("kill-template")
    rows(300, 0).to_csv(folder / "train.csv", index=False)
    rows(400, 1).to_csv(folder / "feedback.csv", index=False)
    rows(NEW_ROWS, 2).drop(columns="target").to_csv(folder / "new.csv", index=False)
    write_settings(folder, SETTINGS.format(store=""))
    project = open_project(folder)
    with threadpool_limits(1):
        for _ in range(3):
            project.train("m")
        project.evaluate("m", "feedback.csv")
    return folder


@pytest.fixture(params=["local", "s3"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def project(kind: str, template: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Project:
    """A fresh copy of the template: its store in the folder, or uploaded to a new S3 bucket."""
    folder = tmp_path / "project"
    if kind == "local":
        shutil.copytree(template, folder)
        return open_project(folder)
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    quicker_s3(request.getfixturevalue("monkeypatch"))
    folder.mkdir()
    for name in ("train.csv", "feedback.csv", "new.csv"):
        shutil.copy(template / name, folder / name)
    # verify = false: plain http on loopback, and no CA bundle to load in every forked child (~60 ms)
    options = f'{{ endpoint_url = "{endpoint}", client_kwargs = {{ verify = false }} }}'
    store = f'store = "s3://{bucket}/s"\nstore_options = {options}'
    write_settings(folder, SETTINGS.format(store=store))
    project = open_project(folder)
    seed = open_project(template).store
    for key in seed.list(""):
        project.store.write(key, seed.get(key))
    return project


def quicker_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two caches, for speed only, that change no behaviour: every forked child's S3 client reuses
    the botocore data this process parsed (~0.4 s of JSON per child otherwise), and moto's server
    stops listing its own package folder on every request (~2 ms of its ~10 ms)."""
    import botocore.loaders
    import botocore.session
    import moto.backends

    loaders: dict[Any, Any] = {}

    def create_loader(search_path_string: Any = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    modules = tuple(moto.backends.list_of_moto_modules())
    monkeypatch.setattr(botocore.session, "create_loader", create_loader)
    monkeypatch.setattr(moto.backends, "list_of_moto_modules", lambda: modules)


def bucket_of(project: Project) -> str | None:
    store = project.settings.project.store
    return store.split("/")[2] if store.startswith("s3://") else None


def output_url(project: Project, name: str) -> str:
    bucket = bucket_of(project)
    return f"s3://{bucket}/out/{name}" if bucket else f"out/{name}"


# -- the operations --------------------------------------------------------------------------------


def _train(project: Project, kind: str, n: int) -> None:
    project.train("m")


def _score(project: Project, kind: str, n: int) -> None:
    done = project.score("m", "new.csv", output_url(project, f"scored-{n}.csv"))
    assert done["rows"] == NEW_ROWS


def _evaluate(project: Project, kind: str, n: int) -> None:
    project.evaluate("m", "feedback.csv")


def _activate(project: Project, kind: str, n: int) -> None:
    """Activations in a row on a folder, where one takes a few ms; every third is a rollback."""
    for i in range(6 if kind == "local" else 1):
        if i % 3 == 2:
            project.rollback("m", reason=f"run {n}")
        else:
            project.activate("m", 1 + (n + i) % 3, reason=f"run {n}")


def _check(project: Project, kind: str, n: int) -> None:
    """Records the check's result (ERROR) and sends its alert."""
    assert [r["outcome"] for r in project.run_checks()] == ["ERROR"]


def _scenario(project: Project, kind: str, n: int) -> None:
    run = project.run_scenario("nightly")
    assert run["outcome"] == "FAILED" and [s["outcome"] for s in run["steps"]] == ["SUCCESS", "FAILED"], run


OPS: dict[str, Callable[[Project, str, int], None]] = {
    "train": _train,
    "score": _score,
    "evaluate": _evaluate,
    "activate": _activate,
    "check": _check,
    "scenario": _scenario,
}
#: what an operation leaves more of (the audit's counts), so the test knows the runs did their work
GROWS = {
    "train": {"versions"},
    "score": {"scored"},
    "evaluate": {"evaluations"},
    "activate": {"activations"},
    "check": {"results", "logged", "outbox"},
    "scenario": {"evaluations", "results", "logged", "outbox", "runs"},
}


# -- children ----------------------------------------------------------------------------------------


class Child:
    """A forked child that opens the project, says R(eady), waits for G(o), runs the operation and
    says D(one); or sends E and its traceback if anything raised."""

    def __init__(self, folder: Path, op: Callable[[Project, str, int], None], kind: str, n: int) -> None:
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        with warnings.catch_warnings():  # Python 3.12+ warns about forking with threads: the child uses none of them
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; it never returns
            code = 1
            try:
                os.close(up_r)
                os.close(down_w)
                with threadpool_limits(1):  # OpenMP's pool does not survive a fork; one thread needs none
                    child = open_project(folder)
                    child.store.get("warm-up")  # the S3 client and connection exist before the clock starts
                    os.write(up_w, b"R")
                    if os.read(down_r, 1) == b"G":
                        op(child, kind, n)
                        os.write(up_w, b"D")
                code = 0
            except BaseException:  # noqa: BLE001 - everything goes up the pipe
                try:
                    os.write(up_w, b"E" + traceback.format_exc()[-4000:].encode())
                except OSError:
                    pass
            finally:
                os._exit(code)
        os.close(up_w)
        os.close(down_r)
        self.pid, self.up, self.down = pid, up_r, down_w
        self.n = n
        self.said = b""
        self.alive = self.unreaped = True

    def _read(self, timeout: float) -> bool:
        """Read what the child said within `timeout`; False at end of file or when it said nothing."""
        ready, _, _ = select.select([self.up], [], [], timeout)
        if not ready:
            return timeout > 0
        chunk = os.read(self.up, 65536)
        self.said += chunk
        return bool(chunk)

    def _check(self) -> None:
        if b"E" in self.said:
            raise AssertionError(f"run {self.n}: the child failed:\n" + self.said.split(b"E", 1)[1].decode())

    def wait_for(self, word: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while word not in self.said:
            self._check()
            assert time.monotonic() < deadline, f"run {self.n}: no {word!r} from the child in {timeout} s"
            if not self._read(0.5):
                self._check()
                raise AssertionError(f"run {self.n}: the child died before saying {word!r}")
        self._check()

    def go(self) -> float:
        os.write(self.down, b"G")
        return time.monotonic()

    def kill(self) -> bool:
        """Kill it where it is; True if the operation had finished by then.

        SIGSTOP first, waited for: once it is stopped no later system call of it can land, so
        the audit may start while the kernel tears the SIGKILLed process down (~50 ms for a
        process this size). Nothing runs between the two signals: no handler, no clean-up.
        """
        os.kill(self.pid, signal.SIGSTOP)
        _, status = os.waitpid(self.pid, os.WUNTRACED)
        if os.WIFSTOPPED(status):
            os.kill(self.pid, signal.SIGKILL)
        else:  # it had finished and exited: reaped just now
            self.alive = self.unreaped = False
        while self._read(0):  # what it said before it stopped
            pass
        self._check()
        self.alive = False
        return b"D" in self.said

    def close(self, reap: bool = True) -> None:
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
            self.alive = False
        if reap and self.unreaped:
            os.waitpid(self.pid, 0)
            self.unreaped = False
        for fd in (self.up, self.down):
            if fd >= 0:
                os.close(fd)
        self.up = self.down = -1  # closed once: the numbers may belong to someone else next


# -- reading S3 as it is, without HTTP ---------------------------------------------------------------

SNAPSHOTS: dict[str, dict[str, bytes]] = {}


class SnapshotStore(Store):
    """A read-only store over SNAPSHOTS[name] (snapshot://name): a copy of what S3 serves."""

    name = "kill_snapshot"
    protocols: ClassVar[tuple[str, ...]] = ("snapshot",)

    def __init__(self, options: Any, *, context: Any = None) -> None:
        super().__init__(options, context=context)
        self.objects = SNAPSHOTS[self.url.split("://", 1)[1]]

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def list(self, prefix: str) -> list[str]:
        start = prefix.rstrip("/") + "/" if prefix else ""
        return sorted(k for k in self.objects if k.startswith(start))

    def write(self, key: str, data: bytes) -> None:
        raise AssertionError(f"the audit wrote {key}")

    def put_if_absent(self, key: str, data: bytes) -> bool:
        raise AssertionError(f"the audit wrote {key}")

    def delete(self, key: str) -> None:
        raise AssertionError(f"the audit deleted {key}")


class SnapshotPlugin:
    @hookimpl
    def register_stores(self) -> list[type[Store]]:
        return [SnapshotStore]


def moto_objects(bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under `prefix` as S3 serves it now, read from moto's in-process backend."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    keys = s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets[bucket].keys
    for _ in range(50):
        try:  # the server thread may still be finishing a request the dead child sent
            return {name[len(prefix) :]: keys[name].value for name in list(keys) if name.startswith(prefix)}
        except (RuntimeError, KeyError):
            time.sleep(0.01)
    raise AssertionError("moto's bucket kept changing")


# -- the audit ------------------------------------------------------------------------------------------


def contiguous(records: list[dict[str, Any]], key: str, what: str) -> None:
    assert [r[key] for r in records] == list(range(1, len(records) + 1)), f"{what}: a gap or a duplicate"


def complete(record: dict[str, Any], keys: set[str], what: str) -> None:
    missing = keys - set(record)
    assert not missing, f"{what} lacks {sorted(missing)}: {str(record)[:300]}"


@dataclass
class Audit:
    """Checks a project's store; remembers the versions and objects it checked already, which do
    not change (a version's artifact is written once; so is any object but those MUTABLE names)."""

    verified: set[int] = field(default_factory=set)
    parsed: dict[str, bytes] = field(default_factory=dict)

    def __call__(self, project: Project, outputs: dict[str, bytes]) -> dict[str, int]:
        store = project.store
        for key in store.list(""):  # no half-written object is visible
            if key.endswith(".json") and (key not in self.parsed or MUTABLE.search(key)):
                data = store.get(key)
                if data is not None and self.parsed.get(key) != data:
                    json.loads(data)
                    self.parsed[key] = data

        versions = project.versions("m")
        contiguous(versions, "version", "versions")
        for v in versions:
            complete(v, VERSION_KEYS, f"version {v['version']}")
            if v["version"] not in self.verified:  # artifact and attachments present, sha256 checked
                project.registry.read_artifact("m", v["version"])
                for name in v["attachments"]:
                    project.registry.read_attachment("m", v["version"], name)
                self.verified.add(v["version"])

        log = project.registry.activations("m")
        contiguous(log, "seq", "activation log")
        for entry in log:
            complete(entry, ACTIVATION_KEYS, f"activation {entry['seq']}")
        for before, after in zip(log, log[1:], strict=False):
            assert after["previous"] == before["version"], f"activation {after['seq']}: wrong previous"
        assert all(1 <= a["version"] <= len(versions) for a in log), "an activation names no version"
        [status] = project.status()
        assert status["active_version"] == log[-1]["version"]
        assert [v["version"] for v in versions if v["active"]] == [log[-1]["version"]]

        evaluations = project.evaluations("m")
        contiguous(evaluations, "id", "evaluations")
        for e in evaluations:
            complete(e, EVALUATION_KEYS, f"evaluation {e['id']}")
        assert len(project.history("m")) == len(evaluations)

        results = 0
        for name in project.settings.checks:
            recorded = checks.check_journal(project, name).all()
            contiguous(recorded, "seq", f"check {name}")
            for r in recorded:
                complete(r, CHECK_KEYS, f"check {name} result {r['seq']}")
                assert r["outcome"] in checks.SEVERITY
            results += len(recorded)

        pending = alerts.pending(project)
        for a in pending:
            complete(a, PENDING_KEYS, f"pending alert {a.get('id')}")
        marked = {key.rsplit("/", 1)[1].removesuffix(".json") for key in store.list("alerts/sent")}
        for key in store.list("alerts/sent"):
            assert "sent_at" in store.get_json(key)
        logged = Journal(store, "alerts/log").all()
        contiguous(logged, "seq", "alert log")
        for a in logged:
            complete(a, LOGGED_KEYS, f"logged alert {a['seq']}")
            assert a["status"] == "sent" and a["id"] in marked
        shown = alerts.sent(project)  # what people see: each alert marked sent, once, and not pending
        ids = [a["id"] for a in shown]
        assert len(ids) == len(set(ids)) and set(ids) == marked, f"sent: {sorted(ids)}, marked: {sorted(marked)}"
        both = {a["id"] for a in pending} & marked
        assert not both, f"shown pending though sent: {sorted(both)}"
        outbox = store.list("outbox/box")
        for key in outbox:
            complete(store.get_json(key), OUTBOX_KEYS, key)

        runs = project.scenario_runs("nightly")
        contiguous(runs, "id", "scenario runs")
        for run in runs:
            complete(run, RUN_KEYS, f"run {run['id']}")
            assert run["outcome"] in ("SUCCESS", "WARNING", "FAILED", "ABORTED") and run["finished_at"]
            for step in run["steps"]:
                complete(step, STEP_KEYS, f"run {run['id']} step")

        scored = 0
        for name, data in outputs.items():
            frame = pd.read_csv(io.BytesIO(data))
            assert len(frame) == NEW_ROWS and SCORED_COLUMNS <= set(frame.columns), f"{name} is incomplete"
            assert frame["model_version"].notna().all()
            scored += 1

        return {
            "versions": len(versions),
            "activations": len(log),
            "evaluations": len(evaluations),
            "results": results,
            "pending": len(pending),
            "logged": len(shown),
            "outbox": len(outbox),
            "runs": len(runs),
            "scored": scored,
        }


def local_outputs(folder: Path) -> dict[str, bytes]:
    """Every visible file of the output folder (a killed writer may leave only hidden .part files)."""
    out = folder / "out"
    if not out.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}


class View:
    """What the audit reads: the project itself (a folder), or a snapshot of its S3 bucket."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.bucket = bucket_of(project)
        if self.bucket is None:
            self.view = project
            return
        self.name = f"{self.bucket}-{id(self)}"
        SNAPSHOTS[self.name] = {}
        snapshot = project.settings.root / "snapshot.toml"
        snapshot.write_text(SETTINGS.format(store=f'store = "snapshot://{self.name}"'), encoding="utf-8")
        self.view = open_project(snapshot, plugins=[SnapshotPlugin()])

    def refresh(self) -> tuple[Project, dict[str, bytes]]:
        if self.bucket is None:
            return self.view, local_outputs(self.project.settings.root)
        objects = SNAPSHOTS[self.name]
        objects.clear()
        objects.update(moto_objects(self.bucket, "s/"))
        return self.view, dict(moto_objects(self.bucket, "out/"))

    def close(self) -> None:
        if self.bucket is not None:
            SNAPSHOTS.pop(self.name, None)


# -- the test ----------------------------------------------------------------------------------------------


def timed(op: Callable[[Project, str, int], None], project: Project, kind: str, n: int) -> float:
    started = time.monotonic()
    op(project, kind, n)
    return time.monotonic() - started


class Pool:
    """Children forked `ahead` of need, so that they warm up while earlier ones work."""

    def __init__(self, folder: Path, op: Callable[[Project, str, int], None], kind: str, ahead: int) -> None:
        self.folder, self.op, self.kind = folder, op, kind
        self.children: list[Child] = []
        self.ahead, self.spares = ahead, []
        self.refill()

    def _fork(self) -> Child:
        self.children.append(Child(self.folder, self.op, self.kind, len(self.children)))
        return self.children[-1]

    def take(self) -> Child:
        """The next child, warm; fork its replacement with refill()."""
        child = self.spares.pop(0)
        child.wait_for(b"R")
        return child

    def refill(self) -> None:
        """Fork children until `ahead` are warming up (a fork of this process takes ~20 ms)."""
        while len(self.spares) < self.ahead:
            self.spares.append(self._fork())

    def uninterrupted(self) -> float:
        """Run the operation to its end in the next child; how long it took."""
        child = self.take()
        for spare in self.spares:  # none warming up beside it: the duration it gives is no longer than a victim's
            spare.wait_for(b"R")
        started = child.go()
        child.wait_for(b"D")
        child.close(reap=False)
        self.refill()
        return time.monotonic() - started

    def close(self) -> None:
        for child in self.children:
            child.close()


@pytest.mark.parametrize("operation", list(OPS))
def test_sigkill_at_random_moments_leaves_nothing_partial(operation: str, kind: str, project: Project) -> None:
    rng = random.Random(f"{operation}-{kind}")
    audit, view = Audit(), View(project)
    op = OPS[operation]
    pool = Pool(project.settings.root, op, kind, ahead=1 if kind == "local" else 2)
    try:
        durations = [pool.uninterrupted()]  # how long the operation takes
        before = audit(*view.refresh())
        landed = 0
        for trial in range(1, TRIALS + 1):
            victim = pool.take()
            duration = statistics.median(durations)
            delay = rng.random() * duration
            started = victim.go()
            if delay > 0.1:  # the fork fits in the delay: it runs while the victim works
                pool.refill()
            time.sleep(max(0.0, started + delay - time.monotonic()))
            landed += not victim.kill()
            victim.close(reap=False)  # reaped at the end
            pool.refill()
            where = f"{operation} on {kind}, trial {trial}: killed {delay:.3f} s into a {duration:.3f} s operation"
            try:
                audit(*view.refresh())
                if trial % AGAIN_EVERY[kind] == 0:  # the next normal operation works on whatever the kills left
                    durations.append(pool.uninterrupted() if kind == "s3" else timed(op, project, kind, 1000 + trial))
            except Exception as exc:
                raise AssertionError(f"{where}: {type(exc).__name__}: {exc}") from exc
        after = audit(*view.refresh())
    finally:
        pool.close()
        view.close()

    assert landed >= TRIALS // 3, f"only {landed} of {TRIALS} kills landed before the operation ended"
    assert GROWS[operation] <= {k for k in after if after[k] > before[k]}, (before, after)
    if kind == "s3":  # the same through S3 itself
        assert len(project.versions("m")) == after["versions"]
        assert len(project.history("m")) == after["evaluations"]
        assert project.status()[0]["active_version"] == project.registry.active("m")["version"]


def test_an_alert_whose_sender_died_after_sending_is_sent_once_and_not_pending(make_project, monkeypatch) -> None:
    """The two states a kill left in the random trials above, made on purpose: after the `sent`
    marker, before the alert-log entry; and after the entry, before the pending object went."""
    project = make_project('[project]\nname = "k"\n[notifiers.box]\ntype = "file"\n')

    class Killed(BaseException):
        pass

    def die(*args: Any, **kwargs: Any) -> None:
        raise Killed

    first = alerts.queue(project, "box", "first", "text", {"kind": "test", "seq": 1, "at": "2025-01-01T00:00:00"})
    with monkeypatch.context() as m:
        m.setattr(alerts, "_record_sent", die)
        with pytest.raises(Killed):
            alerts.deliver(project, first)
    assert project.store.list("alerts/pending") and Journal(project.store, "alerts/log").last()[0] == 0
    assert alerts.pending(project) == []  # it was sent: not shown pending ...
    assert [a["id"] for a in alerts.sent(project)] == [first["id"]]  # ... but sent
    second = alerts.queue(project, "box", "second", "text", {"kind": "test", "seq": 2, "at": "2025-01-01T00:00:01"})
    with monkeypatch.context() as m:
        m.setattr(project.store, "delete", die)
        with pytest.raises(Killed):
            alerts.deliver(project, second)
    assert [a["id"] for a in alerts.pending(project)] == []
    # the next attempt finishes both without sending again: each logged once, nothing pending
    assert [a["status"] for a in alerts.retry(project)] == ["sent", "sent"]
    assert [a["id"] for a in Journal(project.store, "alerts/log").all()] == [second["id"], first["id"]]
    assert [a["id"] for a in alerts.sent(project)] == [second["id"], first["id"]]
    assert project.store.list("alerts/pending") == [] and alerts.retry(project) == []
    assert len(project.store.list("outbox/box")) == 2  # one message each
