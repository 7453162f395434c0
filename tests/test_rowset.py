"""The row fingerprint: no false negatives, the stated false-positive rate, the same hashes
for the same values whatever dtype pandas reads them as, and chunking that changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import rowset
from modelcycle.rowset import RowSet, column_hashes, row_hashes


def mixed(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "count": rng.integers(0, 50, rows),
            "city": rng.choice(["paris", "lyon", "nice"], rows),
            "member": rng.random(rows) > 0.5,
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D"),
            "y": rng.integers(0, 2, rows),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "x"] = np.nan
    return frame


def test_every_row_put_in_is_found_and_few_others_are() -> None:
    frame = mixed(60_000, 0)
    seen = RowSet.build(frame, list(frame.columns), np.arange(0, 60_000, 2))
    found = seen.contains(frame)
    assert found[::2].all()  # no false negatives, ever
    unseen_rate = found[1::2].mean()
    assert 0.001 < unseen_rate < 0.007 and 0.003 < seen.false_positive_rate < 0.005
    assert seen.describe() == {
        "attachment": "rows.bloom",
        "rows": 30_000,
        "columns": 6,
        "bytes": 60_000,
        "false_positive_rate": round(seen.false_positive_rate, 6),
    }


def test_the_same_values_hash_alike_whatever_their_dtype() -> None:
    numbers = [
        pd.Series([1, 2, 3]),
        pd.Series([1.0, 2.0, 3.0]),
        pd.Series([1, 2, 3], dtype="Int64"),
        pd.Series([1, 2, 3], dtype="category"),
        pd.Series(["1", "2", "3"], dtype="str"),
        pd.Series(["1", "2.0", " 3"], dtype=object),
    ]
    missing = [
        pd.Series([1.0, np.nan]),
        pd.Series([1, None], dtype="Int64"),
        pd.Series([1, None], dtype=object),
        pd.Series(["1", None], dtype="str"),
        pd.Series([1, pd.NA], dtype="category"),
    ]
    flags = [pd.Series([True, False]), pd.Series([True, False], dtype="boolean"), pd.Series([1, 0])]
    texts = [
        pd.Series(["a", None]),
        pd.Series(["a", np.nan], dtype=object),
        pd.Series(["a", None], dtype="category"),
    ]
    day = pd.Series(pd.to_datetime(["2024-03-01 10:00", None]))
    days = [day, day.dt.as_unit("s"), day.dt.as_unit("ns"), day.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")]
    narrow = [pd.Series([0.1, 3.3, None], dtype="float64"), pd.Series([0.1, 3.3, None], dtype="float32"),
              pd.Series([0.1, 3.3, None], dtype="Float32")]  # noqa: E128
    for group in (numbers, missing, flags, texts, days, narrow, [pd.Series([0.0]), pd.Series([-0.0])]):
        first = column_hashes(group[0])
        for other in group[1:]:
            assert (column_hashes(other) == first).all(), (group[0].dtype, other.dtype)
    assert column_hashes(pd.Series(["a"]))[0] != column_hashes(pd.Series(["b"]))[0]
    assert column_hashes(pd.Series([1.0]))[0] != column_hashes(pd.Series([1.5]))[0]
    assert column_hashes(pd.Series([np.nan]))[0] == column_hashes(pd.Series(["x", None]))[1]  # missing is missing


def test_rows_read_back_from_csv_and_parquet_hash_as_in_memory(tmp_path: Path) -> None:
    frame = mixed(2_000, 1)
    frame["city"] = frame["city"].astype("category")
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    from_csv = pd.read_csv(tmp_path / "d.csv", parse_dates=["day"])
    from_parquet = pd.read_parquet(tmp_path / "d.parquet")
    assert from_csv["city"].dtype != from_parquet["city"].dtype  # text against category
    columns = list(frame.columns)
    expected = row_hashes(frame, columns)
    assert (row_hashes(from_csv, columns) == expected).all()
    assert (row_hashes(from_parquet, columns) == expected).all()
    grown = pd.concat([frame, pd.DataFrame({"count": [np.nan]})], ignore_index=True)  # int64 becomes float64
    assert grown["count"].dtype == "float64"
    assert (row_hashes(grown, columns)[:-1] == expected).all()


def test_chunks_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = mixed(5_000, 2)
    positions = np.arange(1, 5_000, 3)
    whole = RowSet.build(frame, list(frame.columns), positions)
    monkeypatch.setattr(rowset, "CHUNK", 7)
    chunked = RowSet.build(frame, list(frame.columns), positions)
    assert (chunked.words == whole.words).all()
    assert (chunked.contains(frame) == whole.contains(frame)).all()


def test_bytes_round_trip_and_foreign_bytes_are_refused() -> None:
    frame = mixed(1_000, 3)
    seen = RowSet.build(frame, ["x", "city", "y"])
    again = RowSet.from_bytes(seen.to_bytes())
    assert again.columns == ["x", "city", "y"] and again.rows == 1_000 and again.comparable
    assert (again.words == seen.words).all() and again.contains(frame).all()
    with pytest.raises(ValueError, match="not a row set"):
        RowSet.from_bytes(b"PK\x03\x04 something else")
    with pytest.raises(ValueError, match="row set is truncated"):
        RowSet.from_bytes(seen.to_bytes()[:-8])
    future = seen.to_bytes().replace(b'"scheme": 1', b'"scheme": 2', 1)
    with pytest.raises(ValueError, match="row set scheme 2 is not 1"):
        RowSet.from_bytes(future)
    other_hashing = seen.to_bytes().replace(seen.probe.encode(), b"0" * 16, 1)
    assert not RowSet.from_bytes(other_hashing).comparable


def test_an_empty_set_finds_nothing() -> None:
    frame = mixed(100, 4)
    empty = RowSet.build(frame, list(frame.columns), np.array([], dtype=int))
    assert empty.rows == 0 and not empty.contains(frame).any() and empty.false_positive_rate == 0.0
