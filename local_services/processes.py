"""Child processes that do not outlive the process that started them."""

import ctypes
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def dies_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when we die.

    A test run stopped hard (SIGKILL, a timeout) never reaches its clean-up code;
    without this its servers would run on, orphaned. It is set after the child
    changed user (which clears it), just before exec.
    """

    def request_signal() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return request_signal
