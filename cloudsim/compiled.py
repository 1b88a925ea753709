"""Optional compiled kernels (numba: ``pip install cloudsim[fast]``), in one place.

Several parts of a run have a hot pass written twice: a numpy (or plain) reference, and
the same arithmetic as a loop numba compiles (placement scans, pod states, HPA forecasts,
samples, replication queues, link flows). Each part keeps its loops in a
:class:`KernelSet`, which compiles them once per process (cached on disk, ``cache=True``)
the first time they are asked for, and says whether any of them ran. Each part takes a
``kernel=`` setting, one of :data:`KERNELS`: ``"numba"`` the compiled path (numba must be
installed), ``"numpy"`` the reference, ``"auto"`` the compiled path when numba is installed
(:func:`chosen`; some parts also wait until the process already runs compiled code, since
numba's start-up costs about half a second of CPU once per process). Every pair of paths
is tested to give the same results, bit for bit.

Without numba this module, and every module with a :class:`KernelSet`, still imports.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

#: The ``kernel=`` settings every part with compiled kernels accepts.
KERNELS: tuple[str, ...] = ("auto", "numpy", "numba")
#: The environment variable that decides what "auto" means in this process: "numpy" (every
#: part on its reference path; numba is never imported), "numba" (compiled at once, not
#: waiting for warm), "auto" or unset (as :func:`chosen` says).
ENVIRONMENT = "CLOUDSIM_KERNELS"

Functions = dict[str, Callable[..., Any]]


def available() -> bool:
    """Whether numba is installed (kernels compile on first use, cached on disk)."""
    return importlib.util.find_spec("numba") is not None


def check(kernel: str, what: str = "kernel") -> str:
    """``kernel`` if it is one of :data:`KERNELS`, else a ValueError naming ``what``."""
    if kernel not in KERNELS:
        names = [repr(k) for k in KERNELS]
        expected = f"{', '.join(names[:-1])} or {names[-1]}"
        raise ValueError(f"{what} must be {expected}, not {kernel!r}")
    return kernel


def chosen(
    kernel: str, *, wait_for_warm: bool = False, large: bool = False, what: str = "kernel"
) -> bool:
    """Whether a part set to ``kernel`` runs compiled: "numba" always, "numpy" never,
    "auto" when numba is installed (with ``wait_for_warm``: only once this process already
    ran a compiled kernel, :func:`warm`, or when the work is ``large`` enough to repay
    numba's start-up on its own). "auto" follows :data:`ENVIRONMENT` when it is set. An
    unknown ``kernel``: a ValueError naming ``what``."""
    check(kernel, what)
    if kernel == "auto":
        kernel = check(os.environ.get(ENVIRONMENT, "auto").strip() or "auto", ENVIRONMENT)
        if kernel == "auto":
            return available() and (not wait_for_warm or large or warm())
    return kernel == "numba"


_SETS: list[KernelSet] = []


class KernelSet:
    """One part's compiled loops: ``functions`` builds them (name -> plain Python
    function, numba-compilable); ``compile`` (optional) compiles them given numba, for
    parts whose loops call each other or need their own flags."""

    def __init__(
        self,
        what: str,
        functions: Callable[[], Functions],
        compile: Callable[[Any, Functions], Functions] | None = None,
    ) -> None:
        self.what = what
        self._functions = functions
        self._compile = compile
        self._compiled: Functions | None = None
        self._plain: Functions | None = None
        _SETS.append(self)

    def python(self) -> Functions:
        """The loops as plain Python (slow: the compiled ones' source, for tests), as
        they were before compiling (a part whose loops call helpers through its module's
        globals swaps those for their compiled selves when it compiles: the outer loops
        stay plain, the helpers they call may not)."""
        if self._plain is None:
            self._plain = self._functions()
        return dict(self._plain)

    def compiled(self) -> Functions:
        """The compiled loops by name (compiled once per process, cached on disk); a
        ModuleNotFoundError saying what to install when numba is absent."""
        if self._compiled is None:
            if not available():
                raise ModuleNotFoundError(
                    f"the compiled {self.what} need numba: pip install 'cloudsim[fast]'"
                )
            import numba

            functions = self.python()
            if self._compile is not None:
                self._compiled = self._compile(numba, functions)
            else:
                jit = numba.njit(cache=True, nogil=True)
                self._compiled = {name: jit(fn) for name, fn in functions.items()}
        return self._compiled

    def ran(self) -> bool:
        """Whether one of its compiled loops has run in this process."""
        return any(getattr(fn, "signatures", ()) for fn in (self._compiled or {}).values())


def warm() -> bool:
    """Whether this process already ran a compiled kernel (of any part): then one more
    costs milliseconds to load from the disk cache, not numba's start-up."""
    return "numba" in sys.modules and any(s.ran() for s in _SETS)
