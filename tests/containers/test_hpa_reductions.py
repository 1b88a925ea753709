"""The HPA forecast's reductions over syncs read the long axis contiguously; they give what
numpy's plain reductions give, for any number of HPAs and syncs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cloudsim.containers.hpa.calculator import _rows_with_any
from cloudsim.containers.hpa.forecast import _down_columns

_SHAPES = st.tuples(st.integers(0, 40), st.integers(1, 10))


@settings(max_examples=200, deadline=None)
@given(st.data(), _SHAPES, st.sampled_from([np.minimum, np.maximum]))
def test_down_columns_is_the_reduction_over_syncs(
    data: st.DataObject, shape: tuple[int, int], op: np.ufunc
) -> None:
    j, h = shape
    values = data.draw(arrays(np.int64, (max(j, 1), h), elements=st.integers(-(2**40), 2**40)))
    assert np.array_equal(_down_columns(op, values), op.reduce(values, axis=0))
    assert np.array_equal(_down_columns(op, values[::2]), op.reduce(values[::2], axis=0))


@settings(max_examples=200, deadline=None)
@given(st.data(), _SHAPES)
def test_rows_with_any_finds_the_syncs_where_some_hpa_is_marked(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    mask = data.draw(arrays(np.bool_, shape))
    expected = np.flatnonzero(mask.any(axis=1))
    assert np.array_equal(_rows_with_any(mask), expected)
    # a strided view is not read as integers
    wide = np.repeat(mask, 2, axis=1)[:, ::2]
    if mask.shape[0] > 1 and mask.shape[1] > 1:
        assert not wide.flags.c_contiguous
    assert np.array_equal(_rows_with_any(wide), expected)


def test_rows_with_any_of_two_hpas_by_hand() -> None:
    mask = np.array([[False, False], [True, False], [False, True], [True, True], [False, False]])
    assert _rows_with_any(mask).tolist() == [1, 2, 3]
