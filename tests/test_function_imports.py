"""Imports inside functions only where a comment says why (ARCHITECTURE.md, issue 13).

An import statement inside a function or method body needs a comment that gives the reason
(an optional dependency, a heavy model, the environment a file runs in): at the end of the
import line or on the line directly above it. A comment line directly above the first of a
run of consecutive import lines counts for the whole run. Module-level imports (also those
under ``try:`` or ``if TYPE_CHECKING:``) are not function imports.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "core",
    "sociale_kaart",
    "knowledge",
    "understanding",
    "conversations",
    "handover",
    "bot",
    "webhooks",
    "inbox",
    "iad",
    "measure",
)

# Tool directives are not reasons: a bare noqa or type-ignore comment says nothing about why.
_PRAGMA = re.compile(
    r"noqa(?::\s*[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*)?|type:\s*ignore(?:\[[^\]]*\])?|pragma:\s*no\s*cover"
    r"|fmt:\s*(?:on|off|skip)|isort:\s*\w+|pylint:\s*[\w-]+=[\w,-]+|nosec",
    re.IGNORECASE,
)


def _reason(comment: str) -> bool:
    """Whether a comment (with its leading '#') says something beyond tool directives."""
    text = _PRAGMA.sub("", comment.lstrip("#"))
    return any(ch.isalpha() for ch in text)


def _comments(source: str) -> tuple[dict[int, str], set[int]]:
    """The comment text per line, and the lines that hold nothing but a comment."""
    comments: dict[int, str] = {}
    code_lines: set[int] = set()
    ignore = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = comments.get(tok.start[0], "") + tok.string
        elif tok.type not in ignore:
            code_lines.update(range(tok.start[0], tok.end[0] + 1))
    comment_only = {line for line in comments if line not in code_lines}
    return comments, comment_only


def _function_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement with a function or method somewhere above it."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                found.append(child)
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, inside)

    visit(tree, False)
    return found


def _uncommented(source: str, filename: str = "<source>") -> list[int]:
    """The first lines of the function imports in ``source`` that no comment explains."""
    tree = ast.parse(source, filename=filename)
    comments, comment_only = _comments(source)
    imports = _function_imports(tree)
    # The last line of each function import: a run of consecutive imports is followed upward.
    import_ending_at = {node.end_lineno: node for node in imports}

    def covered_from_above(node: ast.Import | ast.ImportFrom) -> bool:
        above = node.lineno - 1
        if above in comment_only and _reason(comments[above]):
            return True
        previous = import_ending_at.get(above)
        return previous is not None and covered_from_above(previous)

    def explained(node: ast.Import | ast.ImportFrom) -> bool:
        assert node.end_lineno is not None
        lines = range(node.lineno, node.end_lineno + 1)
        return any(_reason(comments.get(line, "")) for line in lines) or covered_from_above(node)

    return sorted(node.lineno for node in imports if not explained(node))


def _package_files() -> list[Path]:
    files: list[Path] = []
    for package in PACKAGES:
        files.extend(sorted((ROOT / package).rglob("*.py")))
    return files


def test_packages_are_found():
    files = _package_files()
    assert {path.relative_to(ROOT).parts[0] for path in files} == set(PACKAGES)


def test_function_imports_say_why():
    missing = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _package_files()
        for line in _uncommented(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not missing, (
        "imports inside functions without a comment saying why (move them to the top of the module, "
        "or say why they must stay: an optional dependency, a heavy model, an import cycle):\n" + "\n".join(missing)
    )


def test_checker_rules():
    source = '''\
import os  # module level: not a function import
try:
    import yaml
except ImportError:
    yaml = None
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import json


def bare():
    import json
    return json


def trailing():
    import json  # heavy: for the sake of the test
    return json


def above():
    # the optional dependency of the test
    import json
    from os import path
    import sys

    import re
    return json, path, sys, re


def pragma_only():
    import json  # noqa: F401
    import sys  # type: ignore[import-untyped]  # noqa: F401
    import re  # noqa: F401 - registers the patterns
    return json, sys, re


class Thing:
    def method(self):
        def inner():
            from os import path
            return path
        return inner


def multiline():
    from os.path import (  # would import a cycle
        join,
        split,
    )
    from os.path import (
        basename,
    )
    return join, split, basename
'''
    lines = source.splitlines()

    def line_of(text: str, occurrence: int = 1) -> int:
        hits = [number for number, line in enumerate(lines, 1) if line.strip() == text]
        return hits[occurrence - 1]

    assert _uncommented(source) == [
        line_of("import json", 2),  # bare()
        line_of("import re"),  # after a blank line: the run above has ended
        line_of("import json  # noqa: F401"),
        line_of("import sys  # type: ignore[import-untyped]  # noqa: F401"),
        line_of("from os import path", 2),  # inside a method's inner function
        line_of("from os.path import ("),  # a trailing comment covers its own import only
    ]
