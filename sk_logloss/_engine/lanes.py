"""Lanes: the tasks of one sweep run trained at once on threads of this process, each on its own variables."""

import itertools
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Tasks of one run that train at once: a TensorFlow call releases the interpreter, and a
# sweep's step runs on about one core (its kernels are too small to split)
LANES = 2
# Multiply-adds of a run's products (candidates x max_iter x training rows x weights a row
# meets) from which it is cut into at least LANES tasks, each in its own shape: each shape
# costs a process's first sweep one trace and one XLA compilation more (2-core AMD EPYC,
# 2026-12-06: breast cancer's sweep, 7e8, first 1.6 -> 2.8 s, warm 0.45 -> 0.37 s;
# digits', 4e10, first 16.7 -> 14.9 s, warm 12.3 -> 8.8 s). A shorter run keeps its cut,
# tasks padded to one shape, and its tasks still take the lanes, on one program.
LANE_WORK = 1e10

# A long run whose first layer has one unit (a binary linear model) takes one
# matrix-vector product per grid point (:func:`.sweep_model.first_layer`), so its step costs
# mostly what is fixed per fold (the row gather, some 40 small kernels) and a little per
# grid point, while its lowest rates run longest. So its first task takes only the lowest
# LOWEST_SHARE of the grid points (at least one), alone on one lane while the other lane trains
# the rest. 20,000 x 100, 9 rates x 3 folds, warm, 2-core AMD EPYC, 2026-12-07, five
# alternating rounds (medians): 3 + 3 + 3 rates 3.05 s (one shape, one compilation), 2 + 7
# 2.31 s, 1 + 8 2.13 s (its 8 take the batched product), 3 + 6 2.40 s; another round 2.42,
# 1.83 s for 3 + 3 + 3 and 2 + 7; on the 2-core Xeon of 2026-12-06: 3 + 3 + 3 2.35-2.71 s,
# 2 + 7 2.38 s, 4 + 5 2.93-3.04 s. Digits' (ten logits, its steps cost by candidates, its four
# lowest rates all reach max_iter) keeps near-equal tasks, the smaller first. With no more
# grid points than lanes, it takes LANES + 1 tasks, so the folds are cut too, which spreads
# the lowest rate over both lanes (80,000 x 100, 2 rates x 3 folds: 4 tasks of 2 + 1 folds,
# warm 5.8-6.3 s, against 6.5-7.3 s for LANES tasks of one rate each)
LOWEST_SHARE = 1 / 4


def min_tasks(config, members):
    """How many tasks the run of folds ``members`` of a sweep ``config`` is cut into at
    least, each in its own shape: LANES (LANES + 1 with a first layer of one unit and
    no more grid points than lanes) where its products make it long enough to pay for
    a compilation per task, else 1 (tasks padded to one shape). It sets the cut, so it
    depends on the sweep alone, never on the machine."""
    C, epochs = np.asarray(config.rates).shape
    rows = sum(len(config.folds[i].train) for i in members)
    sizes = config.spec.layer_sizes
    if products(C, epochs, rows, sizes) < LANE_WORK:
        return 1
    return LANES + 1 if sizes[1] == 1 and C <= LANES else LANES


def first_grid_points(config, at_least):
    """The grid points of a run's first task where a run cut into ``at_least`` tasks
    (:func:`min_tasks`) puts its lowest rates alone on a lane (LANES tasks with a first
    layer of one unit, so more grid points than lanes: LOWEST_SHARE of them), else None
    (near-equal tasks)."""
    if at_least == LANES and config.spec.layer_sizes[1] == 1:
        return max(1, int(np.asarray(config.rates).shape[0] * LOWEST_SHARE))
    return None


def products(grid_points, epochs, rows, layer_sizes):
    """Multiply-adds of a run's products at most: ``grid_points`` candidates on each of
    ``rows`` training rows (summed over its folds) for ``epochs``, each row meeting every
    weight of ``layer_sizes`` once."""
    return grid_points * epochs * rows * sum(a * b for a, b in itertools.pairwise(layer_sizes))


def usable_threads():
    """The threads this process should run at once (scikit-learn's count: its CPUs, capped
    by ``OMP_NUM_THREADS``, as in a joblib worker, which gets its share of the machine)."""
    from .._compat import cpu_threads

    return cpu_threads()


class Cancelled(Exception):
    """A lane's task stops: the caller's ``on_epoch`` raised."""


def train(task, n_tasks, on_epoch, before, threads):
    """``[task(i, lane, report) for i in range(n_tasks)]``, ``threads`` at a time.

    ``task`` trains task ``i`` on ``lane``'s trainer (its own variables; the program
    traced on lane 0's trainer of its shape: :func:`.sweep.call`; with no more tasks
    than threads, task ``i`` takes lane ``i``, so that fit after fit a run's tasks
    take the same trainers), so no bit depends on the lane or on the task beside it,
    and calls
    ``report(epochs, running)`` after each of its calls. ``on_epoch`` hears those on
    this thread, as the epochs of every task so far after ``before`` (the serial
    count); if it raises, each lane stops at its next call and the error reaches the
    caller once both have.
    """
    lanes, events, cancel = queue.Queue(), queue.Queue(), threading.Event()
    for lane in range(threads):
        lanes.put(lane)

    def work(i):
        def report(epochs, running):
            if cancel.is_set():
                raise Cancelled
            events.put((i, epochs, running))

        if cancel.is_set():
            raise Cancelled
        lane = i if n_tasks <= threads else lanes.get()
        try:
            return task(i, lane, report)
        finally:
            if n_tasks > threads:
                lanes.put(lane)
            events.put((i, None, 0))

    done, running, left = [0] * n_tasks, [0] * n_tasks, n_tasks
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(work, i) for i in range(n_tasks)]
        try:
            while left:
                i, epochs, running[i] = events.get()
                if epochs is None:
                    left -= 1
                    continue
                done[i] = epochs
                if on_epoch is not None:
                    on_epoch(before + sum(done), sum(running))
        except BaseException:
            cancel.set()
            for future in futures:
                future.cancel()
            raise
        return [future.result() for future in futures]
