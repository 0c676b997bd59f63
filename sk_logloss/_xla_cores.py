"""How many cores XLA splits a compiled program's loops over: one, decided when a call compiles.

XLA's CPU compiler splits a fused loop over as many threads as the compiling
thread may run on (its CPU affinity, read at compile time), when the loop touches
more than 256 KB by its cost model, which charges a row gather with the whole of
X: a 200-row batch of digits is gathered by two threads. The engine's loops are
that small, and handing half of each to the other core costs more than it saves:
a plain digits fit's step 96 -> 75 us in float64 and 57 -> 42 us in float32,
with the same bits (a loop computes each element alike on either thread; products
are not split this way). So :func:`compiling` runs a call that compiles with its
thread's affinity narrowed to one of its cores (Linux), and gives the threads XLA
starts meanwhile the caller's affinity back. XLA's own thread pool, sized by
the affinity when it starts, is started first (:func:`_start_runtime`).
"""

import contextlib
import os
import threading

_SEEN = set()  # (function, argument shapes) whose compiling call is done
_LOCK = threading.Lock()
_RUNTIME = []
_TASKS = "/proc/self/task"
CAN_NARROW = hasattr(os, "sched_setaffinity") and os.path.isdir(_TASKS)


@contextlib.contextmanager
def compiling(function, args):
    """Meanwhile, a call of XLA-compiled ``function`` on ``args``: if it is the first on
    these shapes (the call that compiles), its loops are planned for one core."""
    key = (function, _shapes(args))
    if not CAN_NARROW or key in _SEEN:
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
    one = {min(mask)}
    before = set(os.listdir(_TASKS))
    os.sched_setaffinity(0, one)
    try:
        yield
    finally:
        os.sched_setaffinity(0, mask)
        for tid in set(os.listdir(_TASKS)) - before:
            with contextlib.suppress(OSError):  # the thread may have ended
                if os.sched_getaffinity(int(tid)) == one:
                    os.sched_setaffinity(int(tid), mask)


def _start_runtime():
    """Start XLA's CPU runtime with this thread's full affinity: its thread pool is sized
    by the cores the thread that starts it may use. Once per process."""
    if _RUNTIME:
        return
    with _LOCK:
        if _RUNTIME:
            return
        from ._backend import tensorflow

        tf = tensorflow()
        probe = tf.function(lambda x: x + 1, jit_compile=True, autograph=False)
        probe.experimental_get_compiler_ir(tf.TensorSpec([1], tf.float64))(stage="hlo")
        _RUNTIME.append(True)
