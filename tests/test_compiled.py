"""One place says whether compiled kernels can run and which path a ``kernel=`` setting
takes (:mod:`cloudsim.compiled`)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from cloudsim import compiled
from cloudsim.compiled import KernelSet


def _twice(x: int) -> int:
    return 2 * x


class _Dispatcher:
    """Stands for a numba dispatcher: ``signatures`` lists what it compiled for (ran)."""

    def __init__(self, ran: bool) -> None:
        self.signatures = [("int64",)] if ran else []


def test_settings_choose_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not compiled.chosen("numpy") and compiled.chosen("numba")
    monkeypatch.setattr(compiled, "available", lambda: False)
    assert not compiled.chosen("auto") and not compiled.chosen("auto", large=True)
    monkeypatch.setattr(compiled, "available", lambda: True)
    assert compiled.chosen("auto")  # installed: compiled, unless told to wait for warm
    monkeypatch.setattr(compiled, "warm", lambda: False)
    assert not compiled.chosen("auto", wait_for_warm=True)
    assert compiled.chosen("auto", wait_for_warm=True, large=True)
    monkeypatch.setattr(compiled, "warm", lambda: True)
    assert compiled.chosen("auto", wait_for_warm=True)


@pytest.mark.parametrize("setting", ["", "Numba", "fast", "python"])
def test_an_unknown_setting_is_refused_naming_what_it_is_for(setting: str) -> None:
    with pytest.raises(ValueError, match=r"HPA kernel must be 'auto', 'numpy' or 'numba', not"):
        compiled.chosen(setting, what="HPA kernel")
    assert compiled.check("numpy") == "numpy"


def test_warm_is_whether_any_set_ran_a_compiled_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "_SETS", [])
    monkeypatch.setitem(sys.modules, "numba", sys.modules.get("numba", sys))
    first = KernelSet("first kernels", lambda: {"twice": _twice})
    second = KernelSet("second kernels", lambda: {"twice": _twice})
    assert not compiled.warm()  # nothing compiled
    first._compiled = {"twice": _Dispatcher(ran=False)}
    second._compiled = {"twice": _Dispatcher(ran=False)}
    assert not compiled.warm() and not first.ran()  # compiled, never called
    second._compiled = {"twice": _Dispatcher(ran=True)}
    assert compiled.warm() and second.ran() and not first.ran()
    monkeypatch.delitem(sys.modules, "numba")
    assert not compiled.warm()  # numba not even imported


def test_without_numba_asking_for_compiled_kernels_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compiled, "available", lambda: False)
    kernels = KernelSet("doubling kernels", lambda: {"twice": _twice})
    assert kernels.python()["twice"](4) == 8  # the plain functions need nothing
    with pytest.raises(ModuleNotFoundError, match=r"doubling kernels need numba.*cloudsim\[fast\]"):
        kernels.compiled()


@pytest.mark.skipif(not compiled.available(), reason="numba not installed")
def test_compiled_once_with_the_default_flags_or_its_own() -> None:
    plain = KernelSet("plain kernels", lambda: {"twice": _twice})
    first = plain.compiled()
    assert first["twice"](21) == 42 and plain.compiled() is first and plain.ran()
    seen: list[Any] = []

    def own(numba: Any, functions: dict[str, Any]) -> dict[str, Any]:
        seen.append(sorted(functions))
        return {name: numba.njit(fn) for name, fn in functions.items()}

    custom = KernelSet("custom kernels", lambda: {"twice": _twice}, own)
    assert custom.compiled()["twice"](5) == 10 and seen == [["twice"]]
