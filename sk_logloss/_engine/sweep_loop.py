"""The sweep's host side: folds grouped into runs, each run's calls, and the merged result."""

from typing import NamedTuple

import numpy as np

from .host import as_tensor, epoch_orders
from .model import tf
from .sweep import Static, SweepCall, SweepData, SweepRules, SweepState, get_trainer
from .types import EPOCHS_PER_CALL, Status, batch_rows


class SweepResult(NamedTuple):
    """Per candidate ``[F, C]``: weights, curves (NaN past a candidate's end), status."""

    coefs: list  # each [F, C, a, b]
    intercepts: list  # each [F, C, b]
    loss_curves: np.ndarray  # [epochs, F, C]
    scores: np.ndarray
    rates: np.ndarray
    status: np.ndarray  # [F, C] Status
    n_iter: np.ndarray  # [F, C]


def train_sweep(config):
    """Train every candidate of a :class:`~.types.SweepConfig`; a :class:`SweepResult`.

    Folds are grouped by their number of steps per epoch (the optimizer's
    step count is shared within a run); in cross-validation all folds usually
    have the same and train in one run.
    """
    folds = config.folds
    batches = [batch_rows(config.batch_size, len(f.train)) for f in folds]
    steps = [-(-len(f.train) // b) for f, b in zip(folds, batches)]
    groups = {}
    for i, s in enumerate(steps):
        groups.setdefault(s, []).append(i)
    parts = {}
    for members in groups.values():
        parts[tuple(members)] = _train_group(config, members, [batches[i] for i in members])
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
    status, n_iter = np.empty((F, C), np.int64), np.empty((F, C), np.int64)
    for members, part in parts.items():
        for k, curve in curves.items():
            curve[: part[k].shape[0], list(members)] = part[k]
        status[list(members)] = part["status"]
        n_iter[list(members)] = part["n_iter"]
    return SweepResult(out["coefs"], out["intercepts"], curves["losses"], curves["scores"],
                       curves["rates"], status, n_iter)


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


def _train_group(config, members, batches):
    """Train the folds ``members`` (equal steps per epoch) and every grid point in one run."""
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
                config.on_epoch(done, running)
            if not running:
                break
        final = [v.numpy() for v in trainer.variables]
        if config.early_stopping:  # the best validation weights, where there were any
            kept = np.isfinite(state.best_score.numpy())
            final = [np.where(_expand_np(kept, v.shape), b.numpy(), v)
                     for v, b in zip(final, trainer.best)]
    k = len(trainer.coefs)
    losses = np.concatenate(logs["losses"])
    return {"coefs": final[:k], "intercepts": final[k:], "losses": losses,
            "scores": np.concatenate(logs["scores"]), "rates": np.concatenate(logs["rates"]),
            "status": state.status.numpy(), "n_iter": np.sum(np.isfinite(losses), axis=0)}


def _expand_np(mask, shape):
    return mask.reshape(mask.shape + (1,) * (len(shape) - 2))
