"""S3 requests to read the active version's metadata, as the registry grows.

Starts moto's S3 server on 127.0.0.1 (a free port), creates a bucket, writes a
project whose store is s3://BUCKET/prefix, and grows one model in steps (10, 100,
300 versions with as many activations). At each step it reads the active version's
metadata the way every command does:

    project.registry.active(model)                        # the last activation
    project.registry.version(model, active["version"])    # that version's metadata

and counts
  * store operations (`project.store.requests`, one per Store call);
  * HTTP requests the S3 client sent (a botocore `before-send` hook on the s3fs client);
  * HTTP requests the moto server answered (its request log).

Target: constant, i.e. the same count at every step however long the logs grow.
For information it also counts reading every version (grows as N/64 + tail by
design) and appending one activation.

    .venv/bin/python bench/s3_requests.py [--steps 10,100,300] [--store-option KEY=VALUE ...]

`--store-option` adds to store_options (TOML values), e.g. `--store-option max_concurrency=1`.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import sys
import tempfile
import time
import tomllib
from pathlib import Path

BUCKET = "modelcycle-bench"
PREFIX = "projects/bench"
MODEL = "churn"

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("MODELCYCLE_PROJECT", None)
os.environ.setdefault("OMP_NUM_THREADS", "1")


class ServerLog(logging.Handler):
    """Counts the requests the moto server logs (werkzeug writes one line per request)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.lines.append(re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage()))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(text: str) -> object:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: a string


def toml_inline(options: dict[str, object]) -> str:
    def dump(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{ " + ", ".join(f"{k} = {dump(v)}" for k, v in options.items()) + " }"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10,100,300", help="numbers of versions (and activations), growing")
    parser.add_argument(
        "--store-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra store_options entry (TOML value)",
    )
    args = parser.parse_args()
    steps = sorted({int(s) for s in args.steps.split(",") if s.strip()})
    extra = {}
    for item in args.store_option:
        key, _, value = item.partition("=")
        extra[key.strip()] = toml_value(value.strip())

    server_log = ServerLog()
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.INFO)
    werkzeug.addHandler(server_log)
    werkzeug.propagate = False

    from moto.server import ThreadedMotoServer

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        options = {"endpoint_url": endpoint, "key": "testing", "secret": "testing", **extra}
        with tempfile.TemporaryDirectory(prefix="modelcycle-bench-") as tmp:
            (Path(tmp) / "modelcycle.toml").write_text(
                f'[project]\nname = "bench"\nstore = "s3://{BUCKET}/{PREFIX}"\n'
                f"store_options = {toml_inline(options)}\n",
                encoding="utf-8",
            )
            rows = run_steps(Path(tmp), steps, server_log)
    finally:
        server.stop()

    print(
        f"s3_requests: moto S3 at {endpoint}, store s3://{BUCKET}/{PREFIX}"
        + (f", extra store_options {extra}" if extra else "")
    )
    print()
    print("read active metadata = registry.active(model) + registry.version(model, active)")
    print(
        f"{'versions':>8} {'activations':>11} | {'store ops':>9} {'http sent':>9} {'http seen':>9} | "
        f"{'all versions: ops':>17} {'http':>5} | {'activate: ops':>13} {'http':>5} | {'grow s':>6}"
    )
    for r in rows:
        print(
            f"{r['n']:>8} {r['n']:>11} | {r['ops']:>9} {r['sent']:>9} {r['seen']:>9} | "
            f"{r['all_ops']:>17} {r['all_sent']:>5} | {r['act_ops']:>13} {r['act_sent']:>5} | {r['grow_s']:>6.1f}"
        )
    print()
    if rows and rows[0]["first_read"]:
        print("requests the server saw for one read of the active metadata (last step):")
        for line in rows[-1]["first_read"]:
            print(f"  {line}")
        print()
    constant_ops = len({r["ops"] for r in rows}) == 1
    constant_http = len({r["sent"] for r in rows}) == 1 and len({r["seen"] for r in rows}) == 1
    print(
        f"target: constant store operations to read the active version's metadata: "
        f"{[r['ops'] for r in rows]} {'met' if constant_ops else 'NOT met'}"
    )
    print(
        f"target: constant HTTP requests to read the active version's metadata: "
        f"{[r['sent'] for r in rows]} sent, {[r['seen'] for r in rows]} seen "
        f"{'met' if constant_http else 'NOT met'}"
    )
    last = rows[-1]
    per_op = last["sent"] / last["ops"] if last["ops"] else float("nan")
    print(
        f"info: HTTP requests per store operation (FsspecStore counts each as one request): "
        f"{per_op:.2f} {'as claimed' if per_op == 1 else '(more than one: see the request log above)'}"
    )


def run_steps(folder: Path, steps: list[int], server_log: ServerLog) -> list[dict]:
    import modelcycle

    project = modelcycle.open_project(folder)
    store = project.store
    if not hasattr(store, "fs") or not hasattr(store, "requests"):
        sys.exit(f"error: the store {type(store).__name__} has no fs / requests counter")
    artifact = os.urandom(1024)
    sent = [0]
    hooked = False

    def count_sent(**_kwargs: object) -> None:
        sent[0] += 1  # returning None lets botocore send the request

    def measure(action) -> tuple[int, int, int, list[str]]:
        store.requests = 0
        sent[0] = 0
        seen_before = server_log.count
        action()
        time.sleep(0.05)  # the server logs from its own thread
        return store.requests, sent[0], server_log.count - seen_before, server_log.lines[seen_before:]

    registry = project.registry
    rows = []
    n_versions = n_activations = 0
    for step in steps:
        start = time.perf_counter()
        while n_versions < step:
            project.record_version(
                MODEL,
                artifact,
                artifact_format="joblib",
                metadata={
                    "metrics": {"roc_auc": 0.8 + n_versions % 97 / 1000, "accuracy": 0.86},
                    "dataset": {
                        "name": "customers",
                        "url": "data/customers.parquet",
                        "fingerprint": f"sha256:{n_versions:064x}",
                        "rows": 10_000,
                    },
                },
            )
            n_versions += 1
        while n_activations < step:
            project.activate(MODEL, (n_activations * 7919) % n_versions + 1, reason="bench")
            n_activations += 1
        grow_s = time.perf_counter() - start
        if not hooked:
            store.fs.s3.meta.events.register("before-send.s3", count_sent)
            hooked = True

        def read_active() -> None:
            active = registry.active(MODEL)
            registry.version(MODEL, active["version"])

        ops, http_sent, http_seen, lines = measure(read_active)
        active = registry.active(MODEL)
        assert active is not None and active["seq"] == n_activations, active
        all_ops, all_sent, _, _ = measure(lambda: registry.versions(MODEL))
        act_ops, act_sent, _, _ = measure(lambda: project.activate(MODEL, 1, reason="bench: count"))
        n_activations += 1
        rows.append(
            {
                "n": step,
                "ops": ops,
                "sent": http_sent,
                "seen": http_seen,
                "first_read": lines,
                "all_ops": all_ops,
                "all_sent": all_sent,
                "act_ops": act_ops,
                "act_sent": act_sent,
                "grow_s": grow_s,
            }
        )
    return rows


if __name__ == "__main__":
    main()
