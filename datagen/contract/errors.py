"""The error hierarchy shared by ``datagen`` and ``splitters``.

Every error a user can cause derives from :class:`DatagenError`. The command
line maps ``exit_code`` to the process exit status and prints the message as
one line, without a traceback. Messages say what was expected and what was
received, and name the file, column or value involved.
"""

from __future__ import annotations


class DatagenError(Exception):
    """Base class of every error this toolkit raises on purpose."""

    exit_code = 1


class UsageError(DatagenError):
    """Invalid options or option combinations (exit code 2, like click)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration value or file is invalid."""


class SourceError(DatagenError):
    """An input file is missing, empty, unreadable or inconsistent."""


class SchemaError(SourceError):
    """Input files disagree on columns or types, or a column is missing."""


class TimeParseError(SourceError):
    """Rows whose time column cannot be parsed."""


class OutputError(DatagenError):
    """The output directory cannot be used as asked."""


class ConservationError(DatagenError):
    """Rows were lost or duplicated between the sources and the shards."""


class ManifestError(DatagenError):
    """A manifest is missing, unreadable or inconsistent."""


class ShardError(DatagenError):
    """A shard is missing, changed, or does not match the manifest."""


class FilterError(UsageError):
    """A ``where`` filter cannot be parsed or matches nothing."""


class ColumnError(UsageError):
    """An unknown column, or a column of the wrong kind."""


class SchedulerError(DatagenError):
    """The Dask scheduler given by ``--scheduler`` cannot be reached or used."""


class TransformError(DatagenError):
    """The user's ``transform`` raised an exception or returned nothing usable."""


def with_context(exc: DatagenError, context: str) -> DatagenError:
    """The same error, as its nearest class of this module, with ``(context)`` appended to its message
    (subclasses elsewhere may take other constructor arguments)."""
    public = next(c for c in type(exc).__mro__ if c.__module__ == __name__)
    return public(f"{exc} ({context})")
