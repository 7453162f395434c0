"""Values as text, so that a code read as 75001.0 from a CSV file is "75001" everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes


def as_text(column: pd.Series) -> pd.Series | None:
    """Categorical values as text (None: already text); missing values stay missing; 75001.0 → "75001"."""
    dtype = column.dtype
    if ptypes.is_string_dtype(dtype) and not ptypes.is_object_dtype(dtype):
        return None
    if ptypes.is_object_dtype(dtype) and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return None
    if ptypes.is_float_dtype(dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[~np.isnan(values)]
        if np.all(np.mod(finite, 1) == 0) and np.all(np.abs(finite) < 2**53):
            return column.astype("Int64").astype("str")  # 75001.0 read from CSV was the code "75001"
    return column.astype("str")
