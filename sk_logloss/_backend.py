"""Loads TensorFlow and Keras on first use, quietly; how engine functions are traced and run."""

import contextlib
import copy
import gc
import os
import re
import sys
import tempfile
import threading
import warnings

from . import _xla_emitters

_LOAD_LOCK = threading.Lock()
_LOADED = []

# TensorFlow's native start-up messages go straight to file descriptor 2, before
# its logging is initialized, so TF_CPP_MIN_LOG_LEVEL does not hold them back.
# Lines at a level below TF_CPP_MIN_LOG_LEVEL (I=0, W=1, E=2, F=3) are dropped,
# as TensorFlow's own logging would, and so is the error CUDA reports on a
# machine without a GPU; everything else is written back to stderr.
_LEVELS = "IWEF"
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ \S+:\d+\] ")
_NO_GPU = ("failed call to cuInit", "Could not find cuda drivers")
_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"
_CONTINUATION = "To enable the following instructions:"


def _min_level():
    value = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")
    return int(value) if value.isdigit() else 0


def _kept(lines, min_level):
    """The captured lines to write back: those TensorFlow's log level would show."""
    kept, dropping = [], False
    for line in lines:
        match = _ABSL_LINE.match(line)
        if match:
            level = _LEVELS.index(match.group(1))
            dropping = level < min_level or any(text in line for text in _NO_GPU)
        elif line.startswith(_PREAMBLE):
            dropping = min_level > 0
        elif not line.startswith(_CONTINUATION):  # continuations follow their line's fate
            dropping = False
        if not dropping:
            kept.append(line)
    return kept


@contextlib.contextmanager
def _native_logs_filtered():
    """Capture what native code writes to stderr meanwhile; write back all but the noise.

    Process-wide (a file descriptor is): other threads' stderr is captured too
    and written back when the block ends. Only :func:`tensorflow` uses it,
    under its lock, so captures never overlap.
    """
    min_level = _min_level()
    if min_level == 0:  # the user asked for everything
        yield
        return
    _flush_stderr()
    try:  # no stderr to capture (a closed fd 2) or nowhere to put it: filter nothing
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        capture = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the with below)
    except OSError:
        os.close(saved)
        yield
        return
    with capture:  # a temporary file is unlinked at once: nothing is left behind
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = _kept(text.splitlines(keepends=True), min_level)
            if kept and sys.stderr is not None:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def _flush_stderr():
    if sys.stderr is not None:  # None under pythonw
        sys.stderr.flush()


def _size_thread_pools(tf):
    """Size TensorFlow's thread pools from OMP_NUM_THREADS when it is set.

    joblib's process workers (and Dask's worker nannies) set OMP_NUM_THREADS
    to their share of the cores; TensorFlow ignores it and would start one
    thread per core in every worker. An explicit TF_NUM_INTRAOP_THREADS /
    TF_NUM_INTEROP_THREADS, or a runtime already started, wins.
    """
    n = os.environ.get("OMP_NUM_THREADS", "")
    if not n.isdigit() or int(n) < 1:
        return
    try:
        if "TF_NUM_INTRAOP_THREADS" not in os.environ:
            tf.config.threading.set_intra_op_parallelism_threads(int(n))
        if "TF_NUM_INTEROP_THREADS" not in os.environ:
            tf.config.threading.set_inter_op_parallelism_threads(int(n))
    except RuntimeError:  # TensorFlow's runtime was already initialized
        pass


def tensorflow():
    """The ``tensorflow`` module, loaded (with Keras) and its runtime started on the first call."""
    if _LOADED:
        return _LOADED[0]
    with _LOAD_LOCK:
        if not _LOADED:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # a user's value wins
            tf_already_imported = _xla_emitters.loaded_before()
            # Python warnings raised while the two load are theirs and their
            # dependencies' (Keras imports matplotlib where it is installed, and
            # matplotlib < 3.11 warns under pyparsing >= 3.3), not the user's
            with _native_logs_filtered(), warnings.catch_warnings(), gc_paused():
                warnings.simplefilter("ignore")
                import keras  # noqa: F401
                import tensorflow as tf

                _size_thread_pools(tf)
                tf.config.list_logical_devices()  # starts the runtime: its device probe logs
            _xla_emitters.choose(tf_already_imported, tf)
            # loading left about 480,000 objects in the collector's young generations: one
            # full collection now (about 0.2 s) instead of two walks of them during the
            # first fits (a warm breast cancer sweep 0.44 -> 0.54 s where one landed).
            # Where the user imported TensorFlow, its objects went through the collector
            # then, and only a few hundred are young: collecting the young generations
            # takes 1 ms (a full collection 0.17 s, walking only old objects) and no walk
            # lands in the fits after (five breast cancer sweeps, gc.callbacks)
            if gc.isenabled():
                gc.collect(1 if tf_already_imported else 2)
            _LOADED.append(tf)
    return _LOADED[0]


_GC_LOCK = threading.Lock()
_GC_PAUSES = [0]  # blocks inside gc_paused, all threads; collection resumes when none is


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector meanwhile, if it runs (process-wide).

    Loading TensorFlow and tracing a graph allocate hundreds of thousands of
    long-lived objects; each full collection meanwhile walks all of
    TensorFlow's (loading 3.0 s -> 2.4 s, a new model's trace 0.18 s -> 0.15 s
    on a 2-core CPU). Nothing is freed later than the block's end, and a
    collector the user disabled stays disabled.
    """
    with _GC_LOCK:
        first = _GC_PAUSES[0] == 0
        if first and not gc.isenabled():  # the user's choice: leave it alone
            paused = False
        else:
            paused = True
            _GC_PAUSES[0] += 1
            if first:
                gc.disable()
    try:
        yield
    finally:
        if paused:
            with _GC_LOCK:
                _GC_PAUSES[0] -= 1
                if _GC_PAUSES[0] == 0:
                    gc.enable()


def trace(function, *args):
    """``function.get_concrete_function(*args)``: a tf.function traced now, the collector
    paused meanwhile (:func:`gc_paused`); a later call with such arguments runs that trace."""
    with gc_paused():
        return function.get_concrete_function(*args)


def runs_with_captures(concrete):
    """Whether :func:`run_with_captures` can run ``concrete``: it calls TensorFlow's private
    ``ConcreteFunction._call_flat`` (the same from 2.16 to 2.21); without it, callers
    trace a function of their own."""
    return callable(getattr(concrete, "_call_flat", None))


def flat_tensors(args):
    """``args`` flattened as a traced function takes them (composites expanded)."""
    from tensorflow import nest

    return nest.flatten(args, expand_composites=True)


def run_with_captures(concrete, flat, captures):
    """Run the traced ``concrete`` function on ``flat`` (:func:`flat_tensors` of its
    arguments) with ``captures`` in place of what it captured (the same tensors and
    variable handles, in its order): one trace, and one XLA compilation, then serve
    variables of another owner alike."""
    return concrete._call_flat(flat, captures)


class Traced:
    """A tf.function traced on its input signature, called through that one trace.

    A call hands its tensors straight to the trace (:func:`run_with_captures`
    with the trace's own captures), skipping tf.function's binding of the
    arguments to its signature: a one-epoch call of the plain loop 1.46 ->
    0.40 ms on a 2-core CPU. Arguments that are not all tensors, or a
    TensorFlow without ``_call_flat``, go through the tf.function.
    """

    def __init__(self, function, concrete):
        self.function = function
        self._concrete = concrete if runs_with_captures(concrete) else None
        self._captures = concrete.captured_inputs

    def __call__(self, *args):
        if self._concrete is not None:
            from tensorflow import Tensor

            flat = flat_tensors(args)
            if all(isinstance(t, Tensor) for t in flat):
                return run_with_captures(self._concrete, flat, self._captures)
        return self.function(*args)


_XLA_STARTED = []


@contextlib.contextmanager
def first_xla_compile():
    """Filter the native lines of the process's first XLA compilation, as at start-up.

    TensorFlow before 2.17 logs XLA's service start and its first compiled
    cluster at level I through the same uninitialized logger, so
    TF_CPP_MIN_LOG_LEVEL does not hold them back either. Later calls do nothing.
    """
    if _XLA_STARTED:
        yield
        return
    with _LOAD_LOCK:
        if _XLA_STARTED:  # another thread compiled first
            yield
            return
        with _native_logs_filtered():
            yield
        _XLA_STARTED.append(True)


@contextlib.contextmanager
def inline_executor(optimize=True):
    """Run the traced functions called meanwhile (this thread) in the single-threaded executor.

    The default executor hands every ready operation to the inter-op thread
    pool; the engine's steps are chains of small operations, for which those
    hand-offs cost more than the operations (a plain fit of 200 x 20 rows,
    350 steps in the graph executor: 35 ms -> 26 ms). Kernels still use the
    intra-op pool, so large products keep both cores. Loop bodies escape the
    default executor's graph optimizer here, which can change bits: the
    engine uses it only where it does not (``_engine.trainer.runs_inline``).
    Thread-local: other threads' calls are not affected.

    ``optimize=False`` also skips the graph optimizer (Grappler) for functions
    first called meanwhile: where it rewrites only loop bodies, which it leaves
    alone here anyway, it costs a new model's first call 45 ms for nothing.
    """
    tf = tensorflow()
    with tf.experimental.function_executor_type("SINGLE_THREADED_EXECUTOR"):
        if optimize:
            yield
            return
        from tensorflow.core.protobuf import config_pb2
        from tensorflow.python.eager import context

        ctx = context.context()
        options = ctx.function_call_options  # this thread's
        saved = copy.copy(options)  # restored as function_executor_type restores them
        config = config_pb2.ConfigProto()
        config.ParseFromString(options.config_proto_serialized)
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        options.config_proto_serialized = config
        try:
            yield
        finally:
            ctx.function_call_options = saved


def keras():
    """The ``keras`` module, loaded as :func:`tensorflow` does."""
    tensorflow()
    import keras

    return keras
