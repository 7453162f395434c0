"""docs/drift.md carries tables generated from the committed drift benchmark results: keep them equal."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
RESULTS = DOCS.parent / "bench" / "results" / "drift_power.json"


def load_generator():
    spec = importlib.util.spec_from_file_location("docs_gen_drift", DOCS / "gen_drift.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


def test_the_drift_tables_in_the_docs_are_the_committed_benchmark_results() -> None:
    _, block, _ = gen.split_doc((DOCS / "drift.md").read_text(encoding="utf-8"))
    assert block == gen.render(), "docs/drift.md is out of date: run python docs/gen_drift.py"


def test_a_changed_result_changes_the_rendered_table(tmp_path: Path, monkeypatch) -> None:
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    first = results["rows"][0]
    first["modelcycle"] = 0.123456
    edited = tmp_path / "drift_power.json"
    edited.write_text(json.dumps(results), encoding="utf-8")
    monkeypatch.setattr(gen, "RESULTS", edited)
    _, block, _ = gen.split_doc((DOCS / "drift.md").read_text(encoding="utf-8"))
    assert "12.3 %" in gen.render() and gen.render() != block  # the check above would now fail


def test_the_results_hold_every_size_and_the_targets() -> None:
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert results["sizes"] == [10_000, 100_000, 1_000_000]
    assert {r["rows"] for r in results["rows"]} == set(results["sizes"])
    assert len(results["targets"]) >= 10
