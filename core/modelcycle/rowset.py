"""A compact, approximate set of the rows a version was fitted on (its row fingerprint).

`if-better` compares a candidate and the active version on rows neither was trained on;
to know which rows the active version saw without keeping them, each version stores a
Bloom filter of 64-bit row hashes over its feature and target columns. A Bloom filter
has no false negatives (a row that was trained on is always found) and a small rate of
false positives (an unseen row taken for a trained-on one), which only leaves that row
out of the comparison: the safe direction.

The filter is blocked: a row sets `BITS_SET` bits inside one 64-bit word, so building and
querying is one scatter or gather per row, in chunks of `CHUNK` rows (bounded memory).
With 16 bits per row it answers "seen" for about 0.4 % of unseen rows (see `false_positive_rate`).

Row hashes are taken over a canonical form of the values, so the same values hash alike
whatever dtype pandas gave them: numbers (ints, floats, nullable, booleans as 0/1, and
text that reads as a number) as float64, a float32 through its shortest decimal; dates and
times as UTC nanoseconds; other values as their text; every kind of missing value (NaN, None, NaT, pd.NA) alike.
`pd.util.hash_pandas_object` alone would not do: it agrees on text, object and category
columns, but hashes 1 (int64) and 1.0 (float64) apart, and a missing Int64 apart from NaN,
so a column that gained a missing value between two trainings would never match. It is
used only for the text of values; a probe hash stored with each set detects any change.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

ATTACHMENT = "rows.bloom"
MAGIC = b"modelcycle-rowset 1\n"
SCHEME = 1  # the row hashing below; a change must bump it
BITS_PER_ROW = 16
BITS_SET = 6
CHUNK = 500_000

_U = np.uint64
_MISSING = _U(0x6D697373696E6721)
_TAG_NUMBER, _TAG_TIME, _TAG_TEXT = _U(0x9E3779B97F4A7C15), _U(0xC2B2AE3D27D4EB4F), _U(0x165667B19E3779F9)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit moves every output bit (in place: give it a temporary)."""
    z ^= z >> _U(30)
    z *= _U(0xBF58476D1CE4E5B9)
    z ^= z >> _U(27)
    z *= _U(0x94D049BB133111EB)
    z ^= z >> _U(31)
    return z


def _numbers(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype="float64") + 0.0  # a fresh array; -0.0 becomes 0.0
    missing = np.isnan(x)
    out = x.view(_U)
    out ^= _TAG_NUMBER
    out = _mix(out)
    out[missing] = _MISSING
    return out


def _times(column: pd.Series) -> np.ndarray:
    values = column.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(column.dt, "tz", None) else column
    nat = values.isna().to_numpy()
    ns = values.dt.as_unit("ns").to_numpy().view("int64") if not nat.all() else np.zeros(len(values), "int64")
    out = _mix(ns.view(_U) ^ _TAG_TIME)
    out[nat] = _MISSING
    return out


def _distinct(values: np.ndarray) -> np.ndarray:
    """Hashes of distinct non-missing objects: numbers (and text reading as one) by value, the rest by text."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype="float64")
    out = _numbers(numbers)
    text = np.isnan(numbers)
    if text.any():
        as_text = np.asarray([str(v) for v in values[text]], dtype=object)
        out[text] = _mix(pd.util.hash_array(as_text, categorize=False) ^ _TAG_TEXT)
    return out


def column_hashes(column: pd.Series) -> np.ndarray:
    """One uint64 per value, equal for equal values whatever the column's dtype."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        if getattr(dtype, "itemsize", 8) < 8 and pd.api.types.is_float_dtype(dtype):
            # float32 0.1 widened is not float64 0.1: go through the shortest decimal that reads back
            narrow = column.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype), na_value=np.nan)
            return _numbers(narrow.astype(str).astype("float64"))
        return _numbers(column.to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _times(column)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return _numbers(column.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan))
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    distinct = _distinct(np.asarray(uniques, dtype=object)) if len(uniques) else np.empty(0, _U)
    return np.append(distinct, _MISSING)[codes]  # code -1 (missing) takes the trailing marker


def row_hashes(frame: pd.DataFrame, columns: Sequence[str], rows: slice | np.ndarray | None = None) -> np.ndarray:
    """One uint64 per row (of `rows`: a slice or positions; all by default) over `columns`, in that order."""
    h: np.ndarray | None = None
    for name in columns:
        column = frame[name] if rows is None else frame[name].iloc[rows]  # one column's rows at a time
        if h is None:
            h = np.full(len(column), _U(len(columns)), dtype=_U)
        h *= _U(0x100000001B3)
        h ^= column_hashes(column)
        h = _mix(h)
    return np.full(len(frame), _U(0), dtype=_U) if h is None else h


def _chunks(frame: pd.DataFrame, columns: Sequence[str], positions: np.ndarray | None) -> Iterator[np.ndarray]:
    rows = len(frame) if positions is None else len(positions)
    for start in range(0, rows, CHUNK):
        part = slice(start, start + CHUNK) if positions is None else positions[start : start + CHUNK]
        yield row_hashes(frame, columns, part)


@functools.cache
def probe() -> str:
    """The hashes of a fixed frame: a fingerprint made with other hashing is refused."""
    frame = pd.DataFrame(
        {
            "n": [1, -0.0, np.nan, 2.5],
            "t": ["a", None, "12", "é"],
            "d": pd.to_datetime(["2024-01-01 00:00", None, "2024-05-06 07:08", "1999-12-31 23:59"]),
            "b": [True, False, True, False],
            "f": np.array([0.1, np.nan, 3.3, -7.25], dtype="float32"),
        }
    )
    return f"{int(row_hashes(frame, list(frame.columns)).sum(dtype=_U)):016x}"


@dataclass
class RowSet:
    """The Bloom filter and what it was built over."""

    columns: list[str]
    rows: int
    words: np.ndarray  # uint64
    probe: str

    @classmethod
    def build(cls, frame: pd.DataFrame, columns: Sequence[str], positions: np.ndarray | None = None) -> RowSet:
        """The set of `frame`'s rows at `positions` (all by default), hashed chunk by chunk."""
        rows = len(frame) if positions is None else len(positions)
        words = np.zeros(max(1, math.ceil(rows * BITS_PER_ROW / 64)), dtype=_U)
        for hashes in _chunks(frame, columns, positions):
            index, mask = _slots(hashes, len(words))
            np.bitwise_or.at(words, index, mask)
        return cls(list(map(str, columns)), rows, words, probe())

    def contains(self, frame: pd.DataFrame, positions: np.ndarray | None = None) -> np.ndarray:
        """True for each row (at `positions`) that is in the set, or a false positive."""
        found = [self._has(hashes) for hashes in _chunks(frame, self.columns, positions)]
        return np.concatenate(found) if found else np.zeros(0, dtype=bool)

    def _has(self, hashes: np.ndarray) -> np.ndarray:
        index, mask = _slots(hashes, len(self.words))
        return (self.words[index] & mask) == mask

    @property
    def false_positive_rate(self) -> float:
        """The expected share of unseen rows found in the set, for this filter's fill."""
        return false_positive_rate(self.rows, len(self.words))

    def metadata(self) -> dict[str, Any]:
        """What a version's metadata records of this set (`row_fingerprint`): its size and error rate."""
        return {
            "attachment": ATTACHMENT,
            "rows": self.rows,
            "columns": len(self.columns),
            "bytes": int(self.words.nbytes),
            "false_positive_rate": round(self.false_positive_rate, 6),
        }

    def to_bytes(self) -> bytes:
        header = {"scheme": SCHEME, "rows": self.rows, "words": len(self.words), "bits_set": BITS_SET}
        header.update(columns=self.columns, probe=self.probe)
        return MAGIC + json.dumps(header).encode() + b"\n" + self.words.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> RowSet:
        """The set, or ValueError when the bytes are no row set this code can read."""
        if not data.startswith(MAGIC):
            raise ValueError("not a row set")
        head, _, body = data[len(MAGIC) :].partition(b"\n")
        header = json.loads(head)
        if header.get("scheme") != SCHEME or header.get("bits_set") != BITS_SET:
            raise ValueError(f"row set scheme {header.get('scheme')} is not {SCHEME}")
        words = np.frombuffer(body, dtype="<u8").astype(_U)
        if len(words) != header["words"]:
            raise ValueError("row set is truncated")
        return cls(list(header["columns"]), int(header["rows"]), words, str(header["probe"]))

    @property
    def comparable(self) -> bool:
        """Whether rows hashed by this code can be looked up in it (same hashing as when it was built)."""
        return self.probe == probe()


def _slots(hashes: np.ndarray, words: int) -> tuple[np.ndarray, np.ndarray]:
    """The word each row sets bits in, and those bits (BITS_SET positions from a second hash)."""
    index = (hashes % _U(words)).astype(np.intp)
    second = _mix(hashes ^ _U(0xA0761D6478BD642F))
    mask = np.zeros(len(hashes), dtype=_U)
    for i in range(BITS_SET):
        mask |= _U(1) << ((second >> _U(6 * i)) & _U(63))
    return index, mask


def false_positive_rate(rows: int, words: int) -> float:
    """Expected false-positive rate of a blocked filter: rows per word are Poisson distributed."""
    load = rows / max(words, 1)
    if load == 0:
        return 0.0
    j = np.arange(0, int(load * 4 + 60))
    log_pmf = j * math.log(load) - load - np.array([math.lgamma(v + 1) for v in j])
    bits = 1 - (1 - 1 / 64) ** (BITS_SET * j)  # share of a word's bits set by j rows
    return float(np.sum(np.exp(log_pmf) * bits**BITS_SET))
