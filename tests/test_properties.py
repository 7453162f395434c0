"""Property-based tests: whatever the settings file or the CSV holds, the loaders answer with
validated objects or with one clear modelcycle error, never with a traceback."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modelcycle import data
from modelcycle.errors import ModelcycleError
from modelcycle.settings import load_settings

KEYS = [
    "project",
    "datasets",
    "models",
    "checks",
    "notifiers",
    "alerts",
    "scenarios",
    "name",
    "store",
    "url",
    "dataset",
    "target",
    "split",
    "method",
    "test_size",
    "min",
    "soft_min",
    "model",
    "metric",
    "type",
    "on",
    "cooldown",
    "steps",
    "triggers",
    "plugins",
    "threshold",
    "activation",
    "policy",
    "x",
]
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(alphabet=string.ascii_letters + string.digits + " ${}:-_./", max_size=20),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=5)


def toml_text(document: dict) -> str:
    import tomli_w

    return tomli_w.dumps(document)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_any_settings_document_loads_or_fails_in_one_line(tmp_path: Path, document: dict) -> None:
    path = tmp_path / "modelcycle.toml"
    try:
        path.write_text(toml_text(document), encoding="utf-8")
    except (TypeError, ValueError):  # not representable as TOML
        return
    try:
        load_settings(path, {"X": "1"})
    except ModelcycleError as exc:
        message = str(exc)
        assert message.startswith("modelcycle.toml: ") and "\n" not in message


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_as_settings_loads_or_fails_in_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "modelcycle.toml"
    path.write_bytes(text.encode("utf-8", errors="replace"))
    try:
        load_settings(path, {})
    except ModelcycleError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400))
def test_any_csv_bytes_read_or_fail_as_data_errors(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(body)
    dataset = data.Dataset(name="d", url="data.csv", resolved=str(path), format="csv")
    try:
        frame = data.read_frame(dataset)
    except ModelcycleError as exc:
        assert "\n" not in str(exc) and "dataset 'd'" in str(exc)
    else:
        assert len(frame) > 0


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_any_bytes_as_parquet_or_jsonl_fail_as_data_errors(tmp_path: Path, fmt: str, body: bytes) -> None:
    path = tmp_path / f"data.{fmt}"
    path.write_bytes(body)
    dataset = data.Dataset(name="d", url=path.name, resolved=str(path), format=fmt)
    try:
        frame = data.read_frame(dataset)
    except ModelcycleError as exc:
        assert "\n" not in str(exc)
    else:
        assert len(frame) > 0
