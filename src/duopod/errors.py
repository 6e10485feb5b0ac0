"""The error types duopod raises, and the exit codes the CLI maps them to."""

from __future__ import annotations

from pathlib import Path

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class DuopodError(Exception):
    """A failure the producer should read as one line: exit code 1."""

    exit_code = EXIT_FAILURE


class InputError(DuopodError):
    """Bad input from the producer (a script, a profile, show.toml): exit code 2.

    ``path`` and ``line`` locate the problem; ``str()`` gives ``path:line: message``.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        return where + self.message


class EngineError(DuopodError):
    """A speech engine could not render a turn."""
