"""Text from requests made safe for log lines: nothing in it can start a line of its own.

A path, a header or an exception message quoting user input may hold line
breaks; written as they are, they would let a client forge log records. They are
escaped (a line break becomes the two characters ``\\n``), while a traceback keeps
the line breaks that are its own.
"""

import re
import traceback
from collections.abc import Iterator

from app.reporting.traceback_memo import ExcInfo, TracebackMemo

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators:
# anything a log viewer, a terminal or str.splitlines() may take for a line break.
LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# One per process: the log line and the report of a failure share its text.
FORMATTED = TracebackMemo()


def escape_code(match: re.Match[str]) -> str:
    char = match.group()
    if char in SHORT_ESCAPES:
        return SHORT_ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape_line_breaks(text: str) -> str:
    return LINE_BREAKING.sub(escape_code, text)


def texts_of_exceptions(error: BaseException) -> Iterator[str]:
    """The messages and notes of an exception and of every exception chained to it."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        try:
            yield str(current)
            yield from (str(note) for note in getattr(current, "__notes__", ()))
        except Exception:  # noqa: S112 - a message that cannot be read cannot forge a line
            continue
        pending += [current.__cause__, current.__context__]
        pending += getattr(current, "exceptions", ())


def escape_all_but_newlines(text: str) -> str:
    return LINE_BREAKING.sub(lambda m: m.group() if m.group() == "\n" else escape_code(m), text)


def traceback_text(exc_info: ExcInfo) -> str:
    """The formatted traceback, with the line breaks of exception messages escaped.

    Its own lines end in "\n" and nothing else does: any other line-breaking
    character is escaped wherever it is. A "\n" in a message is escaped where the
    message appears as it is; the members of an exception group are printed with
    a "| " before each line, so none of their lines can pass for a log record.
    A failure seen before gets the text made then (app/reporting/traceback_memo.py).
    """
    return FORMATTED.text(exc_info, escaped_traceback)


def escaped_traceback(exc_info: ExcInfo) -> str:
    text = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    for message in set(texts_of_exceptions(exc_info[1])):
        # A message of nothing but line breaks adds empty lines at most: leave it.
        if "\n" in message and message.strip():
            text = text.replace(message, escape_line_breaks(message))
    return escape_all_but_newlines(text)
