"""A small kit for declaring what a JSON document must hold, and checking it.

``Int``, ``Text``, ``Nullable``, ``ListOf``, ``DictOf``, ``Obj``, ``Scalar`` and ``JSONValue``
check a decoded value and raise :class:`Invalid` naming the location (``shards[3].bytes``),
the expectation and a shortened form of the value found. Used by :mod:`datagen.contract.manifest_schema`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from typing import Any

from .pathrules import CONTROL, MAX_PATH_BYTES

I64 = 2**63 - 1
I32 = 2**31 - 1
MAX_TEXT_BYTES = 4096        # names, types, versions, times
MAX_GROUP_TEXT = 65_536      # characters of a group value (a long one names a shortened directory)
MAX_JSON_DEPTH = 32          # nesting allowed inside free-form fields (config)
HEX64 = re.compile(r"[0-9a-f]{64}")


def show(value: Any) -> str:
    """A short description of a received value for an error message."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if abs(value) >= 10**30:
            digits = int(value.bit_length() * 0.30103) + 1
            return f"an integer of about {digits:,} digits"
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:50] + f"...' ({len(value):,} characters)"
    if isinstance(value, list):
        return f"a list of {len(value):,} items"
    if isinstance(value, dict):
        return f"an object with {len(value):,} keys"
    return type(value).__name__


MISSING = object()  # the "value" of an absent field


class Invalid(Exception):
    """Internal: a field does not match its spec; containers add its location on the way up."""

    def __init__(self, expected: str, value: Any):
        super().__init__(expected)
        self.expected, self.value, self.keys = expected, value, []

    @property
    def at(self) -> str:
        text = ""
        for key in reversed(self.keys):
            text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
        return text


def _inside(bad: Invalid, key: str | int) -> Invalid:
    bad.keys.append(key[:40] if isinstance(key, str) else key)
    return bad


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\\ud800" in the JSON)
        return False
    return True


class Spec:
    def check(self, value: Any) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Spec):
    lo: int = 0
    hi: int = I64

    def check(self, value):
        if type(value) is not int or not self.lo <= value <= self.hi:
            hi = "2^63-1" if self.hi == I64 else "2^31-1" if self.hi == I32 else str(self.hi)
            raise Invalid(f"expected an integer {self.lo}..{hi}", value)


@dataclass(frozen=True)
class Text(Spec):
    nonempty: bool = True
    choices: tuple[str, ...] = ()
    hex64: bool = False
    iso_time: bool = False
    any_char: bool = False  # group values may hold NUL (their directory name is percent-encoded)
    max_len: int = MAX_TEXT_BYTES

    def check(self, value):
        if not isinstance(value, str):
            raise Invalid("expected a string", value)
        if self.nonempty and not value:
            raise Invalid("expected a non-empty string", value)
        if len(value) > self.max_len or (not self.any_char and "\x00" in value) or not _utf8(value):
            raise Invalid(f"expected a string of at most {self.max_len} characters, valid Unicode without NUL",
                          value)
        if self.choices and value not in self.choices:
            raise Invalid(f"expected one of {', '.join(self.choices)}", value)
        if self.hex64 and not HEX64.fullmatch(value):
            raise Invalid("expected a sha256 of 64 lowercase hex digits", value)
        if self.iso_time:
            try:
                _dt.datetime.fromisoformat(value)
            except ValueError:
                raise Invalid("expected an ISO 8601 time", value) from None


@dataclass(frozen=True)
class Location(Spec):
    """A source path or URL: non-empty text without control characters."""

    def check(self, value):
        if not isinstance(value, str) or not value or len(value) > MAX_PATH_BYTES \
                or CONTROL.search(value) or not _utf8(value):
            raise Invalid(f"expected a path or URL of 1..{MAX_PATH_BYTES} characters without control characters",
                          value)


@dataclass(frozen=True)
class Nullable(Spec):
    inner: Spec

    def check(self, value):
        if value is not None:
            self.inner.check(value)


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    min_len: int = 0

    def check(self, value):
        if not isinstance(value, list):
            raise Invalid("expected a list", value)
        if len(value) < self.min_len:
            raise Invalid(f"expected a list of at least {self.min_len} item(s)", value)
        for i, v in enumerate(value):
            try:
                self.item.check(v)
            except Invalid as bad:
                raise _inside(bad, i)


@dataclass(frozen=True)
class DictOf(Spec):
    value: Spec

    def check(self, value):
        if not isinstance(value, dict):
            raise Invalid("expected an object", value)
        for k, v in value.items():
            try:
                KEY.check(k)
            except Invalid as bad:
                raise _inside(bad, "<key>")
            try:
                self.value.check(v)
            except Invalid as bad:
                raise _inside(bad, k)


@dataclass(frozen=True)
class Obj(Spec):
    """A JSON object with declared fields (unknown extra fields are ignored)."""

    required: tuple[tuple[str, Spec], ...]
    optional: tuple[tuple[str, Spec], ...] = ()

    def check(self, value):
        if not isinstance(value, dict):
            raise Invalid("expected an object", value)
        for name, spec in self.required:
            if name not in value:
                raise Invalid(f"missing field {name!r}", MISSING)
            try:
                spec.check(value[name])
            except Invalid as bad:
                raise _inside(bad, name)
        for name, spec in self.optional:
            if name in value:
                try:
                    spec.check(value[name])
                except Invalid as bad:
                    raise _inside(bad, name)

    @property
    def names(self) -> set[str]:
        return {n for n, _ in self.required + self.optional}


@dataclass(frozen=True)
class Scalar(Spec):
    """A group value: null, bool, int (64-bit), float (non-finite allowed) or text."""

    def check(self, value):
        if value is None or isinstance(value, (bool, float)):
            return
        if isinstance(value, int):
            WIDE_INT.check(value)
        elif isinstance(value, str):
            GROUP_TEXT.check(value)
        else:
            raise Invalid("expected null, a boolean, a number or a string", value)


@dataclass(frozen=True)
class JSONValue(Spec):
    """Free-form JSON (``config``): finite numbers, bounded nesting."""

    def check(self, value):
        stack = [(value, (), 0)]
        while stack:  # iterative: a deep value must not exhaust Python's stack
            v, keys, depth = stack.pop()
            try:
                if depth > MAX_JSON_DEPTH:
                    raise Invalid(f"expected at most {MAX_JSON_DEPTH} levels of nesting", v)
                if isinstance(v, float) and not math.isfinite(v):
                    raise Invalid("expected a finite number", v)
                if isinstance(v, int) and not isinstance(v, bool):
                    WIDE_INT.check(v)
                if isinstance(v, str):
                    KEY.check(v)
                elif isinstance(v, list):
                    stack.extend((x, keys + (i,), depth + 1) for i, x in enumerate(v))
                elif isinstance(v, dict):
                    stack.extend((x, keys + (k,), depth + 1) for k, x in v.items())
            except Invalid as bad:
                for key in reversed(keys):
                    _inside(bad, key)
                raise


WIDE_INT = Int(-(2**63), 2**64 - 1)
KEY = Text(nonempty=False)
GROUP_TEXT = Text(nonempty=False, any_char=True, max_len=MAX_GROUP_TEXT)
COUNT = Int()
