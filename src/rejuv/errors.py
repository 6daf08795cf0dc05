"""Errors raised by rejuv.

Every error a caller can get from rejuv derives from one base class, so a
command-line front end can catch a user's mistake in one place::

    RejuvError                      anything rejuv reports on purpose
     +-- ParameterError             a parameter value is invalid (names the field)
     |    +-- UnknownParameterError an unknown parameter name (suggests the nearest)
     +-- ConfigFileError            a parameter or preset file cannot be read (names file and line)
     +-- TraceError                 a throughput trace is malformed (names file, row or field)
     +-- ResourceLimitError         an input would cost more memory or work than the limit allows

Statistical doubts (a poor fit, a noisy trace) are warnings, not errors:
see :class:`RejuvWarning`.
"""

from __future__ import annotations

__all__ = [
    "ConfigFileError",
    "ParameterError",
    "RejuvError",
    "RejuvWarning",
    "ResourceLimitError",
    "UnknownParameterError",
]


class RejuvError(Exception):
    """Base class of every error rejuv raises on purpose.

    ``str(err)`` has the form ``"<what>: <why>"``, ready for ``error: ...``.
    """

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")
        self.what = what
        self.why = why


class ParameterError(RejuvError, ValueError):
    """A parameter value is invalid; ``what`` names the field."""


class UnknownParameterError(ParameterError, KeyError):
    """A parameter name that rejuv does not know; the message suggests the nearest one."""

    def __str__(self) -> str:  # KeyError would quote the message
        return f"{self.what}: {self.why}"


class ConfigFileError(RejuvError):
    """A parameter or preset file that cannot be read; ``what`` names the file (and line)."""


class TraceError(RejuvError):
    """A throughput trace that cannot be used; ``what`` names the file (and row or field)."""


class ResourceLimitError(RejuvError):
    """An input would cost more than the limit allows; ``what`` names the input, ``why`` the estimate and the way out."""


class RejuvWarning(UserWarning):
    """A statistical doubt that does not stop the computation."""
