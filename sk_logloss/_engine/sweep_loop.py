"""The sweep's host side: folds grouped into runs, each run's calls, and the merged result."""

from typing import NamedTuple

import numpy as np

from .._network import objective as numpy_objective
from .host import as_tensor, epoch_orders
from .model import tf
from .sweep import Static, SweepCall, SweepData, SweepRules, SweepState, get_trainer
from .trainer import get_trainer as get_plain_trainer
from .types import EPOCHS_PER_CALL, Status, TrainResult, batch_rows, steps_per_epoch


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


def train_sweep(config):
    """Train every candidate of a :class:`~.types.SweepConfig`; a :class:`SweepResult`.

    Folds are grouped by their number of steps per epoch (the optimizer's
    step count is shared within a run); in cross-validation all folds usually
    have the same and train in one run.
    """
    folds = config.folds
    batches = [batch_rows(config.batch_size, len(f.train)) for f in folds]
    steps = [steps_per_epoch(config.batch_size, len(f.train)) for f in folds]
    groups = {}
    for i, s in enumerate(steps):
        groups.setdefault(s, []).append(i)
    parts, done = {}, 0
    for members in groups.values():
        part = _train_group(config, members, [batches[i] for i in members], done)
        parts[tuple(members)] = part
        done += part["losses"].shape[0]
    F, C = len(folds), len(config.alphas)
    out = {}
    for key in ("coefs", "intercepts"):
        layers = len(next(iter(parts.values()))[key])
        merged = []
        for j in range(layers):
            shape = next(iter(parts.values()))[key][j].shape[2:]
            arr = np.empty((F, C, *shape), dtype=np.dtype(config.spec.dtype))
            for members, part in parts.items():
                arr[list(members)] = part[key][j]
            merged.append(arr if key == "coefs" else arr[:, :, 0, :])
        out[key] = merged
    epochs = max(part["losses"].shape[0] for part in parts.values())
    curves = {k: np.full((epochs, F, C), np.nan) for k in ("losses", "scores", "rates")}
    per = {k: np.empty((F, C), dtype) for k, dtype in
           (("status", np.int64), ("n_iter", np.int64), ("lr_scale", np.float32))}
    first = next(iter(parts.values()))["slots"]
    slots = [np.empty((F, C, *v.shape[2:]), v.dtype) for v in first]
    for members, part in parts.items():
        for k, curve in curves.items():
            curve[: part[k].shape[0], list(members)] = part[k]
        for k, arr in per.items():
            arr[list(members)] = part[k]
        for arr, v in zip(slots, part["slots"]):
            arr[list(members)] = v
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
    step, rate, *slots = get_plain_trainer(spec).initial_optimizer_state()
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


def _sweep_data(config, folds, batches):
    """The :class:`~.sweep.SweepData` of the folds of one run."""
    dtype = np.dtype(config.spec.dtype)
    n = np.array([len(f.train) for f in folds], np.int32)
    n_max, F = int(n.max()), len(folds)
    early = config.early_stopping
    v_max = max(len(f.val) for f in folds) if early else 0
    return SweepData(
        as_tensor(config.X), as_tensor(config.Y),
        tf.constant(_pad([f.train for f in folds], n_max, np.int32)),
        tf.constant(_pad([f.w_train for f in folds], n_max, dtype)),
        tf.constant(n), tf.constant(np.array(batches, np.int32)),
        tf.constant(_pad([f.val for f in folds] if early else [[]] * F, v_max, np.int32)),
        tf.constant(_pad([f.w_val for f in folds] if early else [[]] * F, v_max, dtype)),
        tf.constant(np.asarray(config.alphas, dtype)), tf.zeros([max(batches)], dtype),
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


def _orders(config, n, done, E, width):
    """Each fold's row order (positions into its rows) for epochs ``done .. done + E - 1``:
    the permutations a plain fit of that fold draws, padded to ``width``."""
    if not config.shuffle:
        orders = np.zeros((1, len(n), width), np.int32)
        for f, k in enumerate(n):
            orders[0, f, :k] = np.arange(k)
        return orders
    orders = np.zeros((E, len(n), width), np.int32)
    for f, k in enumerate(n):
        orders[:, f, :k] = epoch_orders(config.seed, done, E, int(k))
    return orders


def _train_group(config, members, batches, before):
    """Train the folds ``members`` (equal steps per epoch) and every grid point in one run,
    after ``before`` epochs of the sweep's earlier runs (for ``on_epoch``'s count)."""
    folds = [config.folds[i] for i in members]
    F, C = len(folds), len(config.alphas)
    dtype = np.dtype(config.spec.dtype)
    data = _sweep_data(config, folds, batches)
    n = data.n.numpy()
    width = int(n.max()) + 2 * max(batches)  # room to slice one batch past the end
    static = Static(early_stopping=bool(config.early_stopping),
                    adaptive=config.adaptive is not None, shuffle=bool(config.shuffle))
    trainer = get_trainer(config.spec, F, C)
    rules, state = _rules(config, dtype), _first_state(F, C, dtype)
    rates_all = np.asarray(config.rates, np.float32)  # [C, max_iter]
    max_iter = rates_all.shape[1]
    run_fn = trainer.function(static, xla=config.xla)
    logs = {"losses": [], "scores": [], "rates": []}
    with trainer.lock:
        trainer.reset(config.coefs, [b[None, :] for b in config.intercepts])
        done = 0
        while done < max_iter:
            E = min(EPOCHS_PER_CALL, max_iter - done)
            rates = np.zeros((EPOCHS_PER_CALL, C), np.float32)
            rates[:E] = rates_all[:, done:done + E].T
            call = SweepCall(tf.constant(_orders(config, n, done, E, width)),
                             tf.constant(E, tf.int32), tf.constant(rates))
            end = run_fn(data, call, rules, state)
            ran, state = int(end.epoch), end.state
            for key, log in logs.items():
                log.append(getattr(end, key).numpy()[:ran])
            done += ran
            running = int(np.sum(state.status.numpy() == int(Status.RUNNING)))
            if config.on_epoch is not None:
                config.on_epoch(before + done, running)
            if not running:
                break
        final = [v.numpy() for v in trainer.variables]
        slots = [v.numpy() for v in trainer.slots]
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
