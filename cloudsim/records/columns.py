"""Column helpers shared by every table writer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa


def names_column(index: npt.ArrayLike, names: Sequence[str]) -> pa.Array:
    """Dictionary-encoded names; an index of -1 is null."""
    idx = np.asarray(index, dtype=np.int64)
    missing = idx < 0
    indices = pa.array(np.where(missing, 0, idx).astype(np.int32), mask=missing)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names) or [""], pa.string()))


def nullable_floats(values: npt.ArrayLike) -> pa.Array:
    """Float64 values; NaN is null."""
    array = np.asarray(values, dtype=np.float64)
    return pa.array(array, type=pa.float64(), mask=np.isnan(array))
