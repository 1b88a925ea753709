"""Invariants of the report's helpers: binning keeps every extreme and at most the point
budget; a number as shown reads back as the value to the digits shown."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.report.charts import binned
from cloudsim.report.page import fmt, percent
from tests.report.conftest import last_digit, shown_number

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(finite, min_size=1, max_size=3000),
    budget=st.integers(min_value=1, max_value=600),
)
def test_binning_keeps_extremes_order_and_the_budget(values: list[float], budget: int) -> None:
    y = np.array(values)
    t = np.arange(y.size, dtype=np.float64)
    b = binned(t, y, budget)
    assert b.t.size <= budget
    assert b.t.size == math.ceil(y.size / b.per_bin)
    assert b.low.min() == y.min() and b.high.max() == y.max()
    assert np.all(b.low <= b.mean + 1e-6 * np.abs(b.mean) + 1e-9)
    assert np.all(b.mean <= b.high + 1e-6 * np.abs(b.mean) + 1e-9)
    assert np.all(np.diff(b.t) > 0)  # time stays ordered


@settings(max_examples=500, deadline=None)
@given(value=st.one_of(finite, st.integers(min_value=-(10**15), max_value=10**15)))
def test_a_shown_number_reads_back_to_its_digits(value: float | int) -> None:
    text = fmt(value)
    shown = shown_number(text)
    assert shown is not None, text
    assert abs(shown - value) <= last_digit(text) / 2 * (1 + 1e-9) + 1e-9, (value, text)


@settings(max_examples=300, deadline=None)
@given(
    value=st.floats(min_value=0, max_value=1, allow_nan=False),
    digits=st.integers(min_value=0, max_value=5),
)
def test_a_percentage_reads_back_to_its_digits(value: float, digits: int) -> None:
    text = percent(value, digits)
    shown = shown_number(text)
    assert shown is not None
    assert abs(shown - value) <= last_digit(text) / 2 * (1 + 1e-9) + 1e-12, (value, text)
