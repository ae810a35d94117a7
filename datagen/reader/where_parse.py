"""A ``where`` string parsed into an ``ast`` expression (where.py compiles it): at most MAX_LENGTH
characters and MAX_DEPTH levels, with backtick-quoted column names, as pandas' ``query`` writes them.

`Primary Type` == 'THEFT' or `class` == 'a' name a group column that is not a Python identifier
(a space, a keyword, a leading digit...). ``quote_names`` swaps each quoted name, outside string
literals, for a placeholder identifier that appears nowhere in the text, so the expression parses
with ``ast``; ``name_columns`` then gives each placeholder name in the tree its column's own name
(ast keeps any string), so where.py sees the real names. A name cannot contain a backtick.
"""

from __future__ import annotations

import ast
from typing import Callable

MAX_LENGTH = 10_000
MAX_DEPTH = 64


def _placeholder(text: str) -> Callable[[int], str]:
    stem = "_q"
    while stem in text:
        stem += "q"
    return lambda i: f"{stem}{i}_"


def quote_names(text: str, fail: Callable[[str], Exception]) -> tuple[str, dict[str, str]]:
    """``text`` with each backtick-quoted name replaced by a placeholder identifier; (text, placeholder -> name)."""
    if "`" not in text:
        return text, {}
    make = _placeholder(text)
    out, aliases, names, i, quote = [], {}, {}, 0, None
    while i < len(text):
        c = text[i]
        if quote:  # inside a string literal: copied as is (a backslash escapes the next character)
            step = 2 if c == "\\" else 1
            out.append(text[i:i + step])
            quote = None if c == quote else quote
            i += step
        elif c in "'\"":
            quote = c
            out.append(c)
            i += 1
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise fail(f"a backtick at character {i + 1} is not closed (write `column name`)")
            name = text[i + 1:end]
            if not name:
                raise fail(f"empty backticks at character {i + 1}: a column name goes between them")
            if name not in names:
                names[name] = make(len(names))
                aliases[names[name]] = name
            out.append(f" {names[name]} ")
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out).strip(), aliases


def name_columns(tree, aliases: dict[str, str]) -> None:
    """Give each placeholder name in the parsed ``tree`` its column's own name (ast keeps any string)."""
    if aliases:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in aliases:
                node.id = aliases[node.id]


def parse_where(where: str, fail: Callable[[str], Exception]) -> ast.Expression:
    """The expression of ``where``; ``fail(message)`` is raised for an over-long, unparsable or too deep one."""
    if len(where) > MAX_LENGTH:
        raise fail(f"{len(where):,} characters, at most {MAX_LENGTH:,} are allowed")
    text, aliases = quote_names(where.strip(), fail)
    try:
        tree = ast.parse(text, mode="eval")
        depth = _depth(tree)
    except SyntaxError as exc:
        raise fail(f"not a valid filter ({exc.msg}); write a column name that is not a Python identifier in "
                   "backticks: `Primary Type` == 'THEFT'") from None
    except (ValueError, OverflowError) as exc:
        raise fail(f"not a valid filter ({exc})") from None
    except (RecursionError, MemoryError):
        depth = MAX_DEPTH + 1
    if depth > MAX_DEPTH:
        raise fail(f"nested more than {MAX_DEPTH} levels deep")
    name_columns(tree, aliases)
    return tree


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d <= MAX_DEPTH:
            stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest
