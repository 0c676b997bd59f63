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


def _train_group(config, members, batches):
    spec = config.spec
    folds = [config.folds[i] for i in members]
    F, C = len(folds), len(config.alphas)
    dtype = np.dtype(spec.dtype)
    n = np.array([len(f.train) for f in folds], np.int32)
    B, n_max = max(batches), int(n.max())
    early = config.early_stopping
    v_max = max(len(f.val) for f in folds) if early else 0
    data = SweepData(
        as_tensor(config.X), as_tensor(config.Y),
        tf.constant(_pad([f.train for f in folds], n_max, np.int32)),
        tf.constant(_pad([f.w_train for f in folds], n_max, dtype)),
        tf.constant(n), tf.constant(np.array(batches, np.int32)),
        tf.constant(_pad([f.val for f in folds] if early else [[]] * F, v_max, np.int32)),
        tf.constant(_pad([f.w_val for f in folds] if early else [[]] * F, v_max, dtype)),
        tf.constant(np.asarray(config.alphas, dtype)), tf.zeros([B], dtype),
    )
    adaptive = config.adaptive
    rules = SweepRules(tf.constant(config.tol, dtype), tf.constant(config.n_iter_no_change),
                       tf.constant(adaptive.factor if adaptive else 1.0, tf.float32),
                       tf.constant(adaptive.min_rate if adaptive else 0.0, tf.float32))
    static = Static(early_stopping=bool(early), adaptive=adaptive is not None,
                    shuffle=bool(config.shuffle))
    trainer = get_trainer(spec, F, C)
    state = SweepState(tf.ones([F, C], tf.float32), tf.fill([F, C], tf.constant(np.inf, dtype)),
                       tf.fill([F, C], tf.constant(-np.inf, dtype)), tf.zeros([F, C], tf.int32),
                       tf.fill([F, C], int(Status.RUNNING)))
    rates_all = np.asarray(config.rates, np.float32)  # [C, max_iter]
    max_iter = rates_all.shape[1]
    run_fn = trainer.function(static, xla=config.xla)
    logs = {"losses": [], "scores": [], "rates": []}
    with trainer.lock:
        trainer.reset(config.coefs, [b[None, :] for b in config.intercepts])
        done = 0
        while done < max_iter:
            E = min(EPOCHS_PER_CALL, max_iter - done)
            width = n_max + 2 * B  # room to slice one batch past the end
            if config.shuffle:
                orders = np.zeros((E, F, width), np.int32)
                for f, k in enumerate(n):
                    orders[:, f, :k] = epoch_orders(config.seed, done, E, int(k))
            else:
                orders = np.zeros((1, F, width), np.int32)
                for f, k in enumerate(n):
                    orders[0, f, :k] = np.arange(k)
            rates = np.zeros((EPOCHS_PER_CALL, C), np.float32)
            rates[:E] = rates_all[:, done:done + E].T
            end = run_fn(data, SweepCall(tf.constant(orders), tf.constant(E, tf.int32),
                                         tf.constant(rates)), rules, state)
            ran = int(end.epoch)
            for key, values in (("losses", end.losses), ("scores", end.scores),
                                ("rates", end.rates)):
                logs[key].append(values.numpy()[:ran])
            state = end.state
            done += ran
            if config.on_epoch is not None:
                config.on_epoch(done, int(np.sum(state.status.numpy() == int(Status.RUNNING))))
            if not np.any(state.status.numpy() == int(Status.RUNNING)):
                break
        if early:
            final = [np.where(_expand_np(np.isfinite(state.best_score.numpy()), v.shape),
                              b.numpy(), v.numpy()) for v, b in zip(trainer.variables,
                                                                    trainer.best)]
        else:
            final = [v.numpy() for v in trainer.variables]
    k = len(trainer.coefs)
    losses = np.concatenate(logs["losses"]) if logs["losses"] else np.empty((0, F, C))
    n_iter = np.sum(np.isfinite(losses), axis=0)
    return {"coefs": final[:k], "intercepts": final[k:], "losses": losses,
            "scores": np.concatenate(logs["scores"]), "rates": np.concatenate(logs["rates"]),
            "status": state.status.numpy(), "n_iter": n_iter}


def _expand_np(mask, shape):
    return mask.reshape(mask.shape + (1,) * (len(shape) - 2))
