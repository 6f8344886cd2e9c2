"""Tracebacks of repeated failures, formatted once.

When something the site depends on breaks, every request fails the same way, and
each failure has its traceback formatted for the log line and the email report.
Python 3.11 parses the source line of every frame to place its ``^^^`` markers,
work done again for a text already written (docs/performance.md). So the text is
kept per *shape* of failure: everything the formatted text is made of.
"""

import threading
from collections.abc import Callable
from types import TracebackType

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# Distinct failures remembered; past that, the oldest is forgotten.
MAX_SHAPES = 128

Shape = tuple[object, ...]


class Unshaped(Exception):
    """This failure is formatted every time: its shape would not be exact or cheap."""


def frames_of(tb: TracebackType | None) -> tuple[tuple[object, int, int | None], ...]:
    # A frame's code and last instruction fix its file, line, function, columns
    # and source text: all that its lines of the traceback show.
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    return tuple(frames)


def exception_shape(error: BaseException, tb: TracebackType | None, seen: set[int]) -> Shape:
    """What the traceback module prints of ``error`` and the exceptions chained to it."""
    # Groups and syntax errors print more than this reads; a cycle of chained
    # exceptions prints an exception once, wherever it comes back.
    if isinstance(error, SyntaxError | BaseExceptionGroup) or id(error) in seen:
        raise Unshaped
    seen.add(id(error))
    try:
        message = str(error)
    except Exception:
        raise Unshaped from None
    notes = getattr(error, "__notes__", None)
    if notes is not None and not (
        isinstance(notes, list) and all(type(note) is str for note in notes)
    ):
        raise Unshaped
    cause, context = error.__cause__, error.__context__
    return (
        type(error),
        message,
        tuple(notes) if notes else None,
        frames_of(tb),
        None if cause is None else exception_shape(cause, cause.__traceback__, seen),
        None
        if context is None or error.__suppress_context__
        else exception_shape(context, context.__traceback__, seen),
    )


def failure_shape(exc_info: ExcInfo) -> Shape | None:
    """The shape of a failure, or None when it is to be formatted every time."""
    error, tb = exc_info[1], exc_info[2]
    if error is None:
        return None
    try:
        return exception_shape(error, tb, set())
    except (Unshaped, RecursionError):  # a chain deeper than the stack: format it
        return None


class TracebackMemo:
    """Formatted tracebacks by failure shape, up to ``size`` of them."""

    def __init__(self, size: int = MAX_SHAPES) -> None:
        self.size = size
        self.texts: dict[Shape, str] = {}
        self.lock = threading.Lock()

    def text(self, exc_info: ExcInfo, format_text: Callable[[ExcInfo], str]) -> str:
        shape = failure_shape(exc_info)
        if shape is None:
            return format_text(exc_info)
        with self.lock:
            text = self.texts.get(shape)
        if text is None:
            # Formatted outside the lock: two threads may format one shape twice, and
            # neither waits for the other.
            text = format_text(exc_info)
            with self.lock:
                if len(self.texts) >= self.size:
                    del self.texts[next(iter(self.texts))]
                self.texts[shape] = text
        return text
