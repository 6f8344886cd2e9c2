"""A repeated failure's traceback is formatted once, and reads exactly as if formatted anew."""

import sys
from functools import partial

import pytest

from app.reporting.escaping import escaped_traceback, traceback_text
from app.reporting.traceback_memo import TracebackMemo, failure_shape


def caught(fail) -> tuple:
    try:
        fail()
    except BaseException:  # noqa: BLE001 - every kind is a case here
        return sys.exc_info()
    raise AssertionError("did not fail")


def plain(message: str = "no such user") -> None:
    raise LookupError(message)


def elsewhere() -> None:
    raise LookupError("no such user")


def from_another() -> None:
    try:
        plain()
    except LookupError as error:
        raise RuntimeError("the page failed") from error


def during_another() -> None:
    try:
        plain()
    except LookupError:
        raise RuntimeError("and then this failed") from None


def while_handling() -> None:
    try:
        plain()
    except LookupError:
        {}["missing"]  # noqa: B018 - fails while handling the first


def with_notes() -> None:
    error = ValueError("bad value")
    error.add_note("a note\nthat spans lines")
    raise error


def forged_lines() -> None:
    raise ValueError("first\n2026-11-29 ERROR forged record\u2028more")


def grouped() -> None:
    raise ExceptionGroup("several", [ValueError("one"), KeyError("two")])


def unreadable() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    raise Unprintable


def looped() -> None:
    first, second = ValueError("first"), ValueError("second")
    first.__context__, second.__context__ = second, first
    raise first


def syntax() -> None:
    compile("def broken(:\n", "<typed>", "exec")


KINDS = [
    plain,
    from_another,
    during_another,
    while_handling,
    with_notes,
    forged_lines,
    grouped,
    unreadable,
    looped,
    syntax,
]


@pytest.mark.parametrize("fail", KINDS, ids=lambda fail: fail.__name__)
def test_the_remembered_text_is_the_text_formatted_anew(fail) -> None:
    for _ in range(3):  # the first time, then repeats
        exc_info = caught(fail)
        assert traceback_text(exc_info) == escaped_traceback(exc_info)


def test_a_repeated_failure_is_formatted_once() -> None:
    memo = TracebackMemo()
    formatted = []

    def format_text(exc_info) -> str:
        formatted.append(exc_info)
        return escaped_traceback(exc_info)

    texts = {memo.text(caught(from_another), format_text) for _ in range(5)}
    assert len(texts) == 1
    assert len(formatted) == 1


def switched(mode: str) -> None:
    """Fails the way ``mode`` says, always called the same way (see the test below)."""
    if mode == "on another line":
        raise LookupError("no such user")
    error = LookupError("another message" if mode == "with another message" else "no such user")
    if mode == "while handling another":
        error.__context__ = caught(plain)[1]
    raise error


@pytest.mark.parametrize(
    "mode", ["with another message", "on another line", "while handling another"]
)
def test_a_failure_that_differs_in_anything_shown_gets_its_own_text(mode) -> None:
    # Both failures come through the same call path: only how they differ can tell
    # them apart.
    memo = TracebackMemo()
    first = memo.text(caught(partial(switched, "plain")), escaped_traceback)
    other = caught(partial(switched, mode))
    second = memo.text(other, escaped_traceback)
    assert first != second
    assert second == escaped_traceback(other)


@pytest.mark.parametrize("fail", [grouped, unreadable, looped, syntax])
def test_failures_whose_shape_is_not_exact_are_formatted_every_time(fail) -> None:
    assert failure_shape(caught(fail)) is None
    assert failure_shape((None, None, None)) is None


def test_a_chain_deeper_than_the_stack_is_formatted_all_the_same() -> None:
    def deep() -> None:
        error = ValueError("innermost")
        for depth in range(sys.getrecursionlimit() + 100):
            outer = ValueError(f"level {depth}")
            outer.__context__ = error
            error = outer
        raise error

    exc_info = caught(deep)
    assert failure_shape(exc_info) is None
    assert traceback_text(exc_info) == escaped_traceback(exc_info)


def test_the_memo_forgets_the_oldest_shape_beyond_its_size() -> None:
    memo = TracebackMemo(size=2)
    kinds = [plain, elsewhere, from_another]
    for fail in kinds:
        memo.text(caught(fail), escaped_traceback)
    assert len(memo.texts) == 2
    assert failure_shape(caught(plain)) not in memo.texts
    assert memo.text(caught(plain), escaped_traceback) == escaped_traceback(caught(plain))
