"""How many cores XLA splits a compiled program's loops over: one, decided when a call compiles.

XLA's CPU compiler splits a fused loop over as many threads as the compiling
thread may run on (its CPU affinity, read at compile time) when the loop touches
more than 256 KB by its cost model, which charges a row gather with the whole of
X: a 200-row batch of digits is gathered by two threads. The engine's loops are
that small, and handing half of each to the other core costs more than it saves:
a plain digits fit's step 96 -> 75 us in float64, a digits sweep 4.1 -> 3.3 s, with
the same bits (a loop computes each element alike on either thread; products are
not split this way). So :func:`compiling` runs the call that compiles a program for
new shapes with its thread's affinity narrowed to one of its cores (Linux; calls
compiling at once get different cores), and gives threads started meanwhile the
caller's cores back. XLA sizes its own thread pools (the runtime's and the one its
code generator compiles on) by the affinity of the thread that starts them, so
:func:`_start_runtime` starts them first, with the caller's full affinity.
"""

import contextlib
import os
import threading

_SEEN = set()  # (function, argument shapes) whose compiling call is done
_LOCK = threading.Lock()
_BUSY = []  # the cores of the calls compiling now
_RUNTIME = []
_TASKS = "/proc/self/task"
CAN_NARROW = hasattr(os, "sched_setaffinity") and os.path.isdir(_TASKS)


@contextlib.contextmanager
def compiling(function, args, xla):
    """Meanwhile, a call of ``function`` on ``args``: if it is XLA-compiled (``xla``) and the
    first call on these shapes (the call that compiles), its loops are planned for one core."""
    key = (function, _shapes(args)) if xla and CAN_NARROW else None
    if key is None or key in _SEEN:
        yield
        return
    with _one_core():
        yield
    with _LOCK:
        _SEEN.add(key)


def _shapes(args):
    from tensorflow import nest

    return tuple(tuple(getattr(a, "shape", ())) for a in nest.flatten(args))


@contextlib.contextmanager
def _one_core():
    """This thread on one of its cores meanwhile; threads started meanwhile get its cores back."""
    mask = os.sched_getaffinity(0)
    if len(mask) < 2:
        yield
        return
    _start_runtime()
    with _LOCK:  # threads compiling at once (lanes) take different cores
        core = min(mask, key=lambda c: (_BUSY.count(c), c))
        _BUSY.append(core)
    one, before = {core}, set(os.listdir(_TASKS))
    try:
        os.sched_setaffinity(0, one)
    except OSError:  # a sandbox that refuses it: compile as XLA would
        one = mask
    try:
        yield
    finally:
        os.sched_setaffinity(0, mask)
        with _LOCK:
            _BUSY.remove(core)
        for tid in set(os.listdir(_TASKS)) - before:
            with contextlib.suppress(OSError):  # the thread may have ended
                if os.sched_getaffinity(int(tid)) == one:
                    os.sched_setaffinity(int(tid), mask)


def _start_runtime():
    """Start XLA's CPU runtime and compiler with this thread's full affinity: a program
    compiled and run starts the thread pools XLA keeps. Once per process."""
    if _RUNTIME:
        return
    with _LOCK:
        if _RUNTIME:
            return
        from ._backend import tensorflow

        tf = tensorflow()
        probe = tf.function(lambda x: x + 1, jit_compile=True, autograph=False)
        probe(tf.zeros([1], tf.float64))  # compiled and run: every pool XLA keeps is started
        _RUNTIME.append(True)
