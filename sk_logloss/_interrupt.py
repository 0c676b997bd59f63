"""Ctrl-C during fit: a first interrupt asks training to stop cleanly, a second one aborts."""

import signal
import threading
from contextlib import contextmanager


class StopFlag:
    """Whether a stop was requested; :meth:`request` sets it."""

    def __init__(self):
        self.requested = False

    def request(self):
        self.requested = True


@contextmanager
def graceful_interrupt():
    """Yield a :class:`StopFlag` that a first SIGINT (Ctrl-C) sets.

    Only the main thread can handle signals; elsewhere the flag is never set
    by a signal and Ctrl-C keeps Python's usual behaviour. A process that
    ignores SIGINT (``SIG_IGN``: started in a shell's background, or a worker
    whose parent handles Ctrl-C) keeps ignoring it: a fit there is neither
    stopped nor aborted by one. A second SIGINT while the first is pending
    raises KeyboardInterrupt as usual. The previous handler is restored on exit.
    """
    flag = StopFlag()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):  # no Ctrl-C of ours to take
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if flag.requested:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        flag.request()

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # e.g. an embedded interpreter that forbids it
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
