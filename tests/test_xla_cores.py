"""XLA compilations planned for one core: unsplit loops, the same bits, every thread's cores kept."""

import os
import subprocess
import sys
import threading
from dataclasses import replace

import numpy as np
import pytest
from test_engine import config, problem

from sk_logloss import _xla_cores
from sk_logloss._backend import tensorflow
from sk_logloss._engine import loop
from sk_logloss._engine.types import Paths

tf = tensorflow()
multicore = pytest.mark.skipif(
    not _xla_cores.CAN_NARROW or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux and a thread allowed on two cores or more",
)


def loop_plan():
    """XLA's plan for a loop over 2,000 x 64 float64 values: split over cores or not."""
    double = tf.function(lambda X: 2 * X, jit_compile=True, autograph=False)
    ir = double.experimental_get_compiler_ir(tf.TensorSpec([2000, 64], tf.float64))
    return "outer_dimension_partitions" in ir(stage="optimized_hlo")


@multicore
def test_a_compilation_on_one_core_leaves_loops_unsplit():
    assert loop_plan()  # XLA splits this loop over the thread's two cores or more ...
    with _xla_cores._one_core():
        assert loop_plan() is False  # ... and not when the thread may run on one


@multicore
def test_the_caller_and_the_threads_started_meanwhile_get_their_cores_back():
    mask = os.sched_getaffinity(0)
    started, release = [], threading.Event()
    with pytest.raises(RuntimeError), _xla_cores._one_core():
        assert len(os.sched_getaffinity(0)) == 1
        thread = threading.Thread(target=release.wait)
        thread.start()
        started.append(thread)
        assert len(os.sched_getaffinity(thread.native_id)) == 1  # it inherited one core
        raise RuntimeError("the call failed")
    assert os.sched_getaffinity(0) == mask
    assert os.sched_getaffinity(started[0].native_id) == mask
    release.set()
    started[0].join()


def test_only_a_call_on_new_shapes_narrows(monkeypatch):
    narrowed = []
    monkeypatch.setattr(_xla_cores, "CAN_NARROW", True)
    monkeypatch.setattr(_xla_cores, "_one_core", lambda: _count(narrowed))
    monkeypatch.setattr(_xla_cores, "_SEEN", set())

    def function(x):
        return x

    for rows in (5, 5, 6, 5):
        with _xla_cores.compiling(function, (np.zeros((rows, 3)), tf.zeros([2])), True):
            pass
    assert len(narrowed) == 2
    with _xla_cores.compiling(lambda x: x, (np.zeros((5, 3)), tf.zeros([2])), True):
        pass  # another function: its own compilation
    assert len(narrowed) == 3
    with _xla_cores.compiling(lambda x: x, (np.zeros((7, 3)),), False):
        pass  # not XLA-compiled: nothing to plan
    assert len(narrowed) == 3


class _count:
    def __init__(self, calls):
        calls.append(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@multicore
@pytest.mark.bitwise
def test_a_fit_compiled_on_one_core_has_the_bits_of_one_compiled_for_two(monkeypatch):
    # 2,000 x 40 float64 rows: XLA would split the row gather over two cores; padding
    # (on, off) gives each run its own shapes, so each compiles anew, and padding
    # changes no bit (test_engine)
    X, Y = problem(2000, 40)
    cfg = config(X, Y, hidden=(16,), batch_size=200, paths=Paths(xla_min_steps=0))
    narrowed = loop.train_stochastic(cfg)
    monkeypatch.setattr(_xla_cores, "CAN_NARROW", False)
    split = loop.train_stochastic(replace(cfg, paths=replace(cfg.paths, pad_max_bytes=0)))
    assert len(narrowed.loss_curve) == len(split.loss_curve) > 1
    for a, b in zip(narrowed.coefs + narrowed.intercepts, split.coefs + split.intercepts):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(narrowed.loss_curve, split.loss_curve)


POOLS_STARTED = """
import os
import subprocess
import sys
from sk_logloss import _xla_cores
from sk_logloss._backend import tensorflow
tf = tensorflow()
with _xla_cores._one_core():  # the first narrowing starts XLA's pools beforehand
    pass
before = set(os.listdir("/proc/self/task"))
double = tf.function(lambda x: 2 * x, jit_compile=True, autograph=False)
double(tf.ones([300, 300], tf.float64))  # a compilation and a run: no pool left to start
print(len(set(os.listdir("/proc/self/task")) - before))
"""


@multicore
def test_xla_starts_its_thread_pools_before_a_compilation_on_one_core():
    # pools started on one core would keep one thread: every later compilation's code
    # generation on one core (a first sweep 1.3 -> 1.8 s)
    out = subprocess.run([sys.executable, "-c", POOLS_STARTED], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "0"


@multicore
def test_a_refused_narrowing_compiles_as_xla_would(monkeypatch):
    mask, calls = os.sched_getaffinity(0), []
    real = os.sched_setaffinity

    def refuse_one_core(pid, cpus):
        calls.append(set(cpus))
        if len(cpus) == 1:
            raise PermissionError("not here")
        real(pid, cpus)

    monkeypatch.setattr(os, "sched_setaffinity", refuse_one_core)
    with _xla_cores._one_core():
        assert os.sched_getaffinity(0) == mask
    assert os.sched_getaffinity(0) == mask and len(calls[0]) == 1
