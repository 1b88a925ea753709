"""User-facing errors: each problem names the file, the field path and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ScenarioError(Exception):
    """An invalid scenario; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class ExperimentError(ScenarioError):
    """An invalid experiment file, sweep option or store; the same shape as a scenario's."""


class ResultFolderError(Exception):
    """A run's result folder (``--out``) that cannot be written now: another run holds it,
    it holds files that are not a run's results, or it is not writable."""

    def __init__(self, folder: str, message: str) -> None:
        self.folder = folder
        self.message = message
        super().__init__(f"{folder}: {message}")


class PlanError(Exception):
    """A capacity plan that cannot be computed (the question has no answer the search can
    reach); the message says why."""
