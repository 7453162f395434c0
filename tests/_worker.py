"""A separate process that writes to a project's store, for concurrency and kill tests.

usage: python tests/_worker.py PROJECT_DIR ACTION [ARG]
  create N     create N versions of model m, printing each version number
  activate V   activate version V of model m, printing the log entry's seq
  churn        forever: create a version, activate it, sometimes roll back
"""

from __future__ import annotations

import os
import sys

from modelcycle import open_project


def main() -> None:
    folder, action = sys.argv[1], sys.argv[2]
    project = open_project(folder)
    if action == "create":
        for _ in range(int(sys.argv[3])):
            entry = project.record_version(
                "m", os.urandom(2048), artifact_format="joblib", metadata={"metrics": {"auc": 0.5}}
            )
            print(entry["version"], flush=True)
    elif action == "activate":
        print(project.activate("m", int(sys.argv[3]), reason=f"pid {os.getpid()}")["seq"], flush=True)
    elif action == "churn":
        i = 0
        while True:
            if i == 1:
                print("ready", flush=True)  # connections are warm: kills now land mid-write
            i += 1
            entry = project.record_version("m", os.urandom(4096 + i), artifact_format="joblib", metadata={"i": i})
            project.activate("m", entry["version"], reason="churn")
            if i % 3 == 0:
                project.rollback("m", reason="churn")
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main()
