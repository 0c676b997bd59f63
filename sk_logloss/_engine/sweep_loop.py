"""The sweep from the host: folds in runs, runs in tasks (serial, lanes, workers), calls, result."""

from typing import NamedTuple

import numpy as np

from .._network import objective as numpy_objective
from . import lanes
from .early_stopping import moving_average
from .host import SharedDraws, as_tensor, epoch_orders, prefetched, read
from .model import tf
from .sweep import Static, SweepCall, SweepData, SweepRules, SweepState, get_trainer
from .sweep import call as sweep_call
from .trainer import initial_optimizer_state
from .types import SWEEP_EPOCHS_PER_CALL, Status, TrainResult, batch_rows, steps_per_epoch


class SweepResult(NamedTuple):
    """Per candidate ``[F, C]``: weights, curves (NaN past a candidate's end), status."""

    coefs: list  # each [F, C, a, b]
    intercepts: list  # each [F, C, b]
    loss_curves: np.ndarray  # [epochs, F, C]
    scores: np.ndarray
    rates: np.ndarray
    status: np.ndarray  # [F, C] Status
    n_iter: np.ndarray  # [F, C]
    lr_scale: np.ndarray  # [F, C] adaptive decay reached
    slots: list  # the optimizer's per-candidate variables, each [F, C, ...]


class Padding(NamedTuple):
    """The shapes every task of one run pads its folds to: a candidate's arithmetic then
    never depends on which other folds and grid points share its task."""

    rows: int  # training rows per fold
    val: int  # validation rows per fold
    batch: int  # rows per step
    folds: int  # folds per task
    grid: int  # grid points per task


def padded(ids, size):
    """``ids`` with its last entry repeated up to ``size``: a task of a run's shape. The
    repeats train as the candidates they copy, and are dropped (:func:`_cut`)."""
    return tuple(ids) + (ids[-1],) * (size - len(ids))


# Candidates (fold x grid point) per task of a run, about: fewer, and a step's fixed cost
# (about 80 us here) is paid by too few candidates (breast cancer, 9 rates x 6 folds, tasks
# of whole folds: one run 1.26 s, two tasks 1.37 s, six 2.03 s; digits 22.7 s, 24.0 s,
# 30.5 s; by the epoch cost of 3 folds x 1, 3, 5, 9 rates, 98, 147, 174, 253 us, tasks of
# fewer rates do not pay either)
TASK_CANDIDATES = 32
# ... except in a short run (tasks padded to one shape): on two lanes, the task of the
# lowest rates runs alone on one while the other takes the rest (breast cancer, 9 rates x 6
# folds, 2-core Xeon, 2026-12-06: 5 + 5 rates warm 0.41-0.43 s, first 1.30 s; 3 + 3 + 3
# 0.33-0.39 s, 1.16-1.25 s; with matrix-vector products, sweep_model.first_layer, 0.27-0.30 s
# against 5 + 5's 0.41-0.47 s, and on one thread 0.41-0.45 s against 0.46-0.49 s)
SHORT_TASK_CANDIDATES = 18

# Bytes of row orders the tasks of one run that train in this process share (each call's
# orders, drawn once; :class:`.host.SharedDraws`): a run's tasks have the same folds, and drew
# the same permutations each. 20,000 x 100, 9 rates x 3 folds, two tasks: its draws took 1.7 s
# of CPU in a 2.2 s warm sweep; shared, warm 2.27-2.65 -> 1.95-2.20 s (three alternating
# rounds, medians); 45 rates (five tasks) 5.1 -> 3.4 s. A call of 20,000 x 100 is 42 MB:
# the budget keeps the first calls, which the most tasks reach.
SHARED_ORDERS_BYTES = 2**27


def train_sweep(config, n_jobs=None):
    """Train every candidate of a :class:`~.types.SweepConfig`; a :class:`SweepResult`.

    Folds are grouped into runs by their number of steps per epoch (the
    optimizer's step count is shared within a run); in cross-validation all
    folds usually have the same. Each run is split into tasks
    (:func:`split_tasks`), each a batched run of its own padded to the run's
    shapes: with ``n_jobs`` None or 1 they train here one after another, else
    on joblib's active backend, ``n_jobs`` at a time. The split never depends on
    ``n_jobs``, so neither does any bit of the result.
    """
    parts, done = {}, 0
    for pad, tasks, at_least in plan(config):
        run, epochs = _train_run(config, tasks, pad, at_least, done, n_jobs)
        parts.update(run)
        done += epochs
    return _merged(config, parts)


def plan(config):
    """``[(Padding, tasks, at_least)]``: the sweep's runs (folds with equal steps per
    epoch), each with the shapes its tasks pad to, its :func:`split_tasks` and its
    :func:`.lanes.min_tasks`."""
    folds = config.folds
    batches = [batch_rows(config.batch_size, len(f.train)) for f in folds]
    runs = {}
    for i, f in enumerate(folds):
        runs.setdefault(steps_per_epoch(config.batch_size, len(f.train)), []).append(i)
    out = []
    for members in runs.values():
        at_least = lanes.min_tasks(config, members)
        tasks = split_tasks(members, len(config.alphas), at_least,
                            lanes.first_grid_points(config, at_least))
        out.append((Padding(max(len(folds[i].train) for i in members),
                            max(len(folds[i].val) for i in members) if config.early_stopping
                            else 0,
                            max(batches[i] for i in members),
                            max(len(f) for f, _ in tasks), max(len(c) for _, c in tasks)),
                    tasks, at_least))
    return out


def serial(n_jobs):
    """Whether joblib would run ``n_jobs`` tasks one at a time (its active context counts)."""
    from joblib import effective_n_jobs

    return effective_n_jobs(n_jobs) == 1


def epoch_budget(config, n_jobs=None):
    """The most epochs ``on_epoch`` can report: ``max_iter`` per task (serially) or per
    run (in parallel, each run of several tasks is reported once it ends)."""
    units = plan(config)
    if serial(n_jobs):
        units = [task for _, tasks, _ in units for task in tasks]
    return len(units) * np.asarray(config.rates).shape[1]


def _train_run(config, tasks, pad, at_least, before, n_jobs):
    """One run's parts keyed by task ``(folds, grid points)``, and the epochs reported.

    With ``n_jobs`` None or 1 (and for a run of one task, which no worker would speed
    up), the tasks train here, two at a time on threads (:func:`.lanes.train`; no more
    than :func:`.lanes.usable_threads`; lanes of one shape run one program) or one after
    another, and each call is reported to ``on_epoch`` (the epochs of the tasks trained
    so far). ``at_least`` (:func:`.lanes.min_tasks`) only says whether each task keeps
    its own shape (:func:`own_shapes`). In parallel only arrays travel (no hooks), and
    ``on_epoch`` hears of the run once it ends, as long as its longest task.
    """
    from dataclasses import replace

    here = serial(n_jobs) or len(tasks) == 1  # one task: no worker would add anything
    bare = config if here else replace(config, on_epoch=None)
    shaped = tasks if own_shapes(len(tasks), at_least) else [
        (padded(folds, pad.folds), padded(cands, pad.grid)) for folds, cands in tasks]
    configs = [replace(bare, folds=[config.folds[i] for i in folds],
                       rates=np.asarray(config.rates)[list(cands)],
                       alphas=np.asarray(config.alphas)[list(cands)])
               for folds, cands in shaped]
    # lanes share a program per shape (sweep.call), so any run of several tasks takes them
    threads = min(lanes.LANES, len(tasks), lanes.usable_threads())
    shared = SharedDraws(SHARED_ORDERS_BYTES) if here else None
    if here and threads > 1:
        def train(i, lane, report):
            sub = replace(configs[i], on_epoch=report)
            return _cut(_train_group(sub, pad, 0, lane, shared), tasks[i])

        parts = lanes.train(train, len(tasks), config.on_epoch, before, threads)
        return dict(zip(tasks, parts, strict=True)), sum(p["losses"].shape[0] for p in parts)
    if here:
        parts, done = {}, 0
        for task, sub in zip(tasks, configs, strict=True):
            parts[task] = part = _cut(_train_group(sub, pad, before + done, shared=shared),
                                      task)
            done += part["losses"].shape[0]
        return parts, done
    from joblib import Parallel, delayed

    # X and Y travel as arguments of their own, the same objects in every task: joblib's
    # Dask backend scatters them to the cluster once, loky memory-maps them
    X, Y = config.X, config.Y
    parts = Parallel(n_jobs=n_jobs)(delayed(_train_task)(X, Y, replace(c, X=None, Y=None), pad)
                                    for c in configs)
    parts = [_cut(part, task) for part, task in zip(parts, tasks, strict=True)]
    epochs = max(part["losses"].shape[0] for part in parts)
    if config.on_epoch is not None:
        config.on_epoch(before + epochs, 0)
    return dict(zip(tasks, parts, strict=True)), epochs


def own_shapes(n_tasks, at_least):
    """Whether each of a run's ``n_tasks`` tasks trains in its own shape, unpadded: where
    the run was cut for lanes (``at_least``, :func:`.lanes.min_tasks`) and each task has
    one (a program per shape, compiled once per process)."""
    return at_least > 1 and n_tasks <= at_least


CURVES = ("losses", "scores", "rates")  # a part's [epochs, F, C] arrays; the rest are [F, C, ...]


def _cut(part, task):
    """A task's part without the candidates that only padded it to its run's shape."""
    f, c = len(task[0]), len(task[1])
    return {key: ([v[:f, :c] for v in value] if isinstance(value, list)
                  else value[:, :f, :c] if key in CURVES else value[:f, :c])
            for key, value in part.items()}


def split_tasks(folds, n_candidates, at_least=1, first=None):
    """``[(fold indices, grid indices)]``: one run's folds x grid points as
    ``ceil(F C / TASK_CANDIDATES)`` tasks of near-equal size, and ``at_least`` tasks
    (:func:`.lanes.min_tasks`) where there are as many candidates; a short run
    (``at_least`` 1) by ``SHORT_TASK_CANDIDATES``.

    The split depends on the sweep alone, never on ``n_jobs`` or the backend: a
    candidate trains in a task of the same shape (:func:`padded`, or its own where
    each task has a lane: :func:`own_shapes`), so with the same arithmetic, however
    the tasks are run. The grid is split first, into
    contiguous chunks with every fold: neighbouring grid points (learning rates
    in order) stop at about the same epoch, and a task runs as long as its
    slowest candidate (breast cancer, 9 rates x 6 folds: the tasks of the fast
    rates end after about 400 of the slow ones' 1000 epochs). Only with more
    tasks than grid points are the folds cut too. A task per lane puts the smaller
    chunks first: the first grid points (the lowest rates by default) run longest,
    and a lane's task of its own shape costs by its candidates (digits' warm sweep
    on 5 + 4 rates against 4 + 5, padded to 5 + 5: 8.8 -> 8.0 s; 20,000 x 100's 4.0
    -> 3.6 s). ``first`` (:func:`.lanes.first_grid_points`), where given, is the grid
    points of the first task of such a cut, the rest near-equal.
    """
    folds = [int(f) for f in folds]
    per_task = TASK_CANDIDATES if at_least > 1 else SHORT_TASK_CANDIDATES
    n_tasks = max(1, -(-len(folds) * n_candidates // per_task),
                  min(at_least, len(folds) * n_candidates))
    if n_tasks <= n_candidates:
        own = own_shapes(n_tasks, at_least)
        if own and first is not None:  # the lowest rates alone, the rest near-equal
            rest = np.array_split(np.arange(n_candidates - first), n_tasks - 1)
            sizes = [first] + [len(c) for c in rest]
        else:
            sizes = [len(c) for c in np.array_split(np.arange(n_candidates), n_tasks)]
            if own:  # the smaller first
                sizes.sort()
        ends = np.cumsum(sizes)
        return [(tuple(folds), tuple(range(end - size, end)))
                for size, end in zip(sizes, (int(e) for e in ends), strict=True)]
    groups = np.array_split(np.asarray(folds), min(len(folds), -(-n_tasks // n_candidates)))
    return [(tuple(int(f) for f in group), (c,)) for c in range(n_candidates) for group in groups]


def _merged(config, parts):
    """One :class:`SweepResult` ``[F, C]`` from parts keyed by ``(folds, grid points)``."""
    F, C = len(config.folds), len(config.alphas)
    dtype = np.dtype(config.spec.dtype)
    first = next(iter(parts.values()))
    at = {key: np.ix_(list(key[0]), list(key[1])) for key in parts}
    out = {}
    for key in ("coefs", "intercepts"):
        merged = []
        for j, v in enumerate(first[key]):
            arr = np.empty((F, C, *v.shape[2:]), dtype)
            for k, part in parts.items():
                arr[at[k]] = part[key][j]
            merged.append(arr if key == "coefs" else arr[:, :, 0, :])
        out[key] = merged
    epochs = max(part["losses"].shape[0] for part in parts.values())
    curves = {k: np.full((epochs, F, C), np.nan) for k in ("losses", "scores", "rates")}
    per = {k: np.empty((F, C), dtype) for k, dtype in
           (("status", np.int64), ("n_iter", np.int64), ("lr_scale", np.float32))}
    slots = [np.empty((F, C, *v.shape[2:]), v.dtype) for v in first["slots"]]
    for k, part in parts.items():
        for name, curve in curves.items():
            curve[(slice(0, part[name].shape[0]), *at[k])] = part[name]
        for name, arr in per.items():
            arr[at[k]] = part[name]
        for arr, v in zip(slots, part["slots"]):
            arr[at[k]] = v
    return SweepResult(out["coefs"], out["intercepts"], curves["losses"], curves["scores"],
                       curves["rates"], per["status"], per["n_iter"], per["lr_scale"], slots)


def candidate_result(config, result, f, c, data):
    """Candidate ``(f, c)`` as the :class:`~.types.TrainResult` of a plain fit on ``data``
    (its training rows ``(X, Y, w)``): curves cut at its last epoch, the objective at
    its weights, and an optimizer state in the plain trainer's layout (step count,
    learning rate, then the slots), so that ``partial_fit`` continues it."""
    spec, n = config.spec, int(result.n_iter[f, c])
    coefs = [W[f, c] for W in result.coefs]
    intercepts = [b[f, c] for b in result.intercepts]
    # the plain layout: the step count, the learning rate, then the slots in the
    # order of the sweep's (both optimizers are built on the same variables)
    step, rate, *slots = initial_optimizer_state(spec, spec.layer_sizes)
    if len(slots) != len(result.slots):
        raise RuntimeError(f"{spec.optimizer}: its optimizer state does not map one to one")
    steps = steps_per_epoch(config.batch_size, len(config.folds[f].train))
    state = [np.asarray(n * steps, step.dtype),  # this candidate's own step count
             np.asarray(result.rates[n - 1, f, c], rate.dtype) if n else np.array(rate)]
    state += [s[f, c].reshape(plain.shape) for s, plain in zip(result.slots, slots)]
    status = Status(int(result.status[f, c]))
    diverged = float(result.rates[n, f, c]) if status == Status.DIVERGED else None
    X, Y, w = data
    alpha = float(config.alphas[c])
    return TrainResult(
        coefs, intercepts, result.loss_curves[:n, f, c],
        result.scores[:n, f, c] if config.early_stopping else np.empty(0),
        result.rates[:n, f, c],
        numpy_objective(X, Y, w, coefs, intercepts, spec.activation, alpha, spec.loss),
        status, state, float(result.lr_scale[f, c]), diverged_rate=diverged,
    )


def _pad(arrays, width, dtype):
    out = np.zeros((len(arrays), width), dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def _train_task(X, Y, config, pad):
    """A worker's task: ``config`` (sent without its data) on ``X``, ``Y``."""
    from dataclasses import replace

    return _train_group(replace(config, X=X, Y=Y), pad, 0)


def _sweep_data(config, batches, pad):
    """The :class:`~.sweep.SweepData` of a task's folds, padded to ``pad``."""
    dtype = np.dtype(config.spec.dtype)
    folds = config.folds
    n = np.array([len(f.train) for f in folds], np.int32)
    F, early = len(folds), config.early_stopping
    return SweepData(
        as_tensor(config.X), as_tensor(np.asarray(config.Y).T),
        tf.constant(_pad([f.train for f in folds], pad.rows, np.int32)),
        tf.constant(_pad([f.w_train for f in folds], pad.rows, dtype)),
        tf.constant(n), tf.constant(np.array(batches, np.int32)),
        tf.constant(_pad([f.val for f in folds] if early else [[]] * F, pad.val, np.int32)),
        tf.constant(_pad([f.w_val for f in folds] if early else [[]] * F, pad.val, dtype)),
        tf.constant(np.asarray(config.alphas, dtype)), tf.zeros([pad.batch], dtype),
    )


def _rules(config, dtype):
    adaptive = config.adaptive
    return SweepRules(tf.constant(config.tol, dtype), tf.constant(config.n_iter_no_change),
                      tf.constant(adaptive.factor if adaptive else 1.0, tf.float32),
                      tf.constant(adaptive.min_rate if adaptive else 0.0, tf.float32))


def _first_state(F, C, dtype):
    return SweepState(tf.ones([F, C], tf.float32), tf.fill([F, C], tf.constant(np.inf, dtype)),
                      tf.fill([F, C], tf.constant(-np.inf, dtype)), tf.zeros([F, C], tf.int32),
                      tf.fill([F, C], int(Status.RUNNING)))


def _orders(config, n, done, max_iter, width):
    """Each fold's row order (positions into its rows) for the call that starts at epoch
    ``done``: the permutations a plain fit of that fold draws, padded to ``width``."""
    if not config.shuffle:
        orders = np.zeros((1, len(n), width), np.int32)
        for f, k in enumerate(n):
            orders[0, f, :k] = np.arange(k)
        return orders
    # always SWEEP_EPOCHS_PER_CALL rows (zeros past E): a run's last, shorter call
    # then has the shape of the others, and is neither traced nor compiled again
    E = min(SWEEP_EPOCHS_PER_CALL, max_iter - done)
    orders = np.zeros((SWEEP_EPOCHS_PER_CALL, len(n), width), np.int32)
    drawn = {}  # folds of as many rows draw the same permutations: once
    for f, k in enumerate(n):
        if k not in drawn:
            drawn[k] = epoch_orders(config.seed, done, E, int(k))
        orders[:E, f, :k] = drawn[k]
    return orders


def _call_orders(config, n, max_iter, width, shared):
    """Each call's row orders (:func:`_orders`), drawn a call ahead on a thread, and once
    for the run's tasks through ``shared`` where given."""

    def draw(start):
        if shared is None:
            return _orders(config, n, start, max_iter, width)
        key = (config.seed, config.shuffle, tuple(n.tolist()), start, max_iter, width)
        return shared.get(key, lambda: _orders(config, n, start, max_iter, width))

    return prefetched(draw, range(0, max_iter, SWEEP_EPOCHS_PER_CALL))


def _train_group(config, pad, before, lane=0, shared=None):
    """Train every fold (equal steps per epoch) and grid point of ``config`` in one
    batched run padded to ``pad`` on ``lane``'s trainer, after ``before`` epochs of the
    sweep's earlier runs (for ``on_epoch``'s count); each call's row orders come from
    ``shared`` (:class:`.host.SharedDraws`, the run's other tasks), where given."""
    F, C = len(config.folds), len(config.alphas)
    dtype = np.dtype(config.spec.dtype)
    batches = [batch_rows(config.batch_size, len(f.train)) for f in config.folds]
    data = _sweep_data(config, batches, pad)
    n = data.n.numpy()
    width = pad.rows + 2 * pad.batch  # room to slice one batch past the end
    static = Static(early_stopping=bool(config.early_stopping),
                    adaptive=config.adaptive is not None, shuffle=bool(config.shuffle),
                    averaging=bool(config.early_stopping and config.average_weights),
                    unit_weights=all(np.all(f.w_train == 1) for f in config.folds))
    trainer = get_trainer(config.spec, F, C, lane)
    rules, state = _rules(config, dtype), _first_state(F, C, dtype)
    rates_all = np.asarray(config.rates, np.float32)  # [C, max_iter]
    max_iter = rates_all.shape[1]
    logs = {"losses": [], "scores": [], "rates": []}
    with trainer.lock:
        trainer.reset(config.coefs, [b[None, :] for b in config.intercepts])
        if static.averaging:
            moving_average(trainer).reset()
        done = 0
        orders = _call_orders(config, n, max_iter, width, shared)
        while done < max_iter:
            E = min(SWEEP_EPOCHS_PER_CALL, max_iter - done)
            rates = np.zeros((SWEEP_EPOCHS_PER_CALL, C), np.float32)
            rates[:E] = rates_all[:, done:done + E].T
            call = SweepCall(tf.constant(next(orders)), tf.constant(E, tf.int32),
                             tf.constant(rates))
            end = sweep_call(trainer, static, config.xla, (data, call, rules, state))
            ran, state = int(end.epoch), end.state
            for key, log in logs.items():
                log.append(getattr(end, key).numpy()[:ran])
            done += ran
            running = int(np.sum(state.status.numpy() == int(Status.RUNNING)))
            if config.on_epoch is not None:
                config.on_epoch(before + done, running)
            if not running:
                break
        orders.close()
        final, slots = read(trainer.variables), read(trainer.slots)
        if config.early_stopping:  # the best validation weights, where there were any
            kept = np.isfinite(state.best_score.numpy())
            final = [np.where(_expand_np(kept, v.shape), b.numpy(), v)
                     for v, b in zip(final, trainer.best)]
    k = len(trainer.coefs)
    losses = np.concatenate(logs["losses"])
    return {"coefs": final[:k], "intercepts": final[k:], "losses": losses,
            "scores": np.concatenate(logs["scores"]), "rates": np.concatenate(logs["rates"]),
            "status": state.status.numpy(), "n_iter": np.sum(np.isfinite(losses), axis=0),
            "lr_scale": state.lr_scale.numpy(), "slots": slots}


def _expand_np(mask, shape):
    return mask.reshape(mask.shape + (1,) * (len(shape) - 2))
