"""Errors that stop a job, and the process exit codes they map to.

Findings (lint results) are *data* and live in :mod:`iotedge_cli.diagnostics`; an
``EdgectlError`` means the job itself could not be done. The CLI renders one as a single
``error:`` line plus a ``hint:`` line and exits with ``exit_code``. Nothing here imports
typer or rich.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    UNAVAILABLE = 3
    INTERNAL = 70
    INTERRUPTED = 130


class EdgectlError(Exception):
    """A failure the user can act on: a message, an optional hint, an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(EdgectlError):
    """Bad arguments or options."""

    exit_code = ExitCode.USAGE


class InputError(EdgectlError):
    """A file that cannot be read or parsed; ``message`` names the file and place."""

    exit_code = ExitCode.USAGE


class FindingsError(EdgectlError):
    """The job ran but its result is unusable (e.g. a generated manifest has errors)."""

    exit_code = ExitCode.FINDINGS


class ServiceUnavailableError(EdgectlError):
    """Docker, IoT Hub or another service could not be reached."""

    exit_code = ExitCode.UNAVAILABLE
