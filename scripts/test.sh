#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
# Used by the README's test command and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
# The dashboard's browser tests drive Debian's chromium: installed here when missing (root with
# apt-get, as in CI), else one clear instruction and exit status 1 before anything else runs.
source scripts/chromium.sh
ensure_chromium || exit 1
# scripts/constraints.txt pins versions known to work together: without it pip can
# spend many minutes backtracking through boto3 releases that s3fs's aiobotocore rejects.

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[all,test]' -c scripts/constraints.txt
.venv/bin/python -m pip list 2>/dev/null | grep -iE '^(s3fs|aiobotocore|botocore|boto3|moto|fsspec) ' || true

.venv/bin/ruff check core plugins tests bench docs scripts examples
# OMP_NUM_THREADS=1: parallel fits stall on small machines; tests compare results, not speed.
OMP_NUM_THREADS=1 .venv/bin/python -m pytest "$@"
