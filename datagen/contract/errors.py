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
    """A configuration value or file is invalid, options contradict each other (``--out`` inside an
    input), or an option the data needs is missing (``--time-unit`` for epoch numbers)."""


class SourceError(DatagenError):
    """An input file is missing, empty, unreadable or corrupt, or its values cannot be split
    (no rows at all, a group value with no text form)."""


class SchemaError(SourceError):
    """Input files disagree on their columns or types, or one names a column twice.
    (A column an option asks for but no input has is a :class:`ColumnError`.)"""


class TimeParseError(SourceError):
    """Rows whose time cannot be parsed or lies outside the supported range (``--on-bad-time error``)."""


class OutputError(DatagenError):
    """The output directory cannot be used as asked (not empty, locked, full, read-only, something
    in the way), or a group's directory would not fit its filesystem."""


class ConservationError(DatagenError):
    """Rows were lost or duplicated between the sources and the shards."""


class ManifestError(DatagenError):
    """A manifest is missing, unreadable or inconsistent."""


class ShardError(DatagenError):
    """A shard is missing, changed, or does not match the manifest."""


class FilterError(UsageError):
    """A ``where`` filter cannot be parsed or matches nothing."""


class ColumnError(UsageError):
    """A column named by an option (time, label, group, feature, sample weight) is not in the
    data, is of the wrong kind for its role, or holds values its role forbids (a null label);
    or an input column clashes with a name the split reserves."""


class SchedulerError(DatagenError):
    """The Dask scheduler given by ``--scheduler`` cannot be reached or used."""


class TransformError(DatagenError):
    """The user's ``transform`` raised an exception or returned nothing usable."""


def with_context(exc: DatagenError, context: str) -> DatagenError:
    """The same error, as its nearest class of this module, with ``(context)`` appended to its message
    (subclasses elsewhere may take other constructor arguments)."""
    public = next(c for c in type(exc).__mro__ if c.__module__ == __name__)
    return public(f"{exc} ({context})")
