"""The stochastic path: where XLA or host streaming is chosen, and the calls that run the epochs."""

import contextlib
import functools
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from .. import _xla_cores
from .._backend import first_xla_compile, inline_executor
from .._network import objective as numpy_objective
from . import early_stopping, epochs, rules, streaming
from .batches import all_rows_tensors, no_rows, x_tensors
from .host import as_tensor, data_bytes, epoch_orders, padded_tensor, prefetched, weight_sum
from .model import tf
from .trainer import get_trainer
from .types import (
    FIT_EPOCHS_PER_CALL,
    FIT_FIRST_CALL_EPOCHS,
    FIT_FIRST_CALL_ROWS,
    Status,
    TrainResult,
    batch_rows,
    padded_rows,
    steps_per_epoch,
)


class Path(NamedTuple):
    """How a run executes: compiled with XLA or not; streamed from the host or in-graph."""

    xla: bool
    stream: bool


def choose_path(config, X):
    """XLA for long runs or large data, streaming for large dense X (see :class:`~.types.Paths`).

    Depends only on the settings and the data's size, so a given random_state
    always gives the same bits.
    """
    paths, sparse = config.paths, config.spec.sparse
    n = X.shape[0]
    steps = len(config.rates) * steps_per_epoch(config.batch_size, n)
    xla = steps >= paths.xla_min_steps or data_bytes(X, sparse) >= paths.xla_min_bytes
    return Path(xla=xla, stream=not sparse and X.nbytes >= paths.stream_min_bytes)


@dataclass
class RunLog:
    """Per-epoch records of a training run, and the callback that reports them."""

    early: bool
    on_epoch: object
    weights: object = None  # () -> (coefs, intercepts) now, for on_epoch
    curve: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    rates: list = field(default_factory=list)
    diverged_rate: float | None = None  # the learning rate of a diverged epoch
    stopped: bool = False  # on_epoch asked to stop

    def record(self, losses, scores, rates):
        self.curve.extend(np.asarray(losses).tolist())
        self.rates.extend(np.asarray(rates).tolist())
        if self.early:
            self.scores.extend(np.asarray(scores).tolist())
        if self.on_epoch is not None and len(losses):
            score = self.scores[-1] if self.early else None
            self.stopped = bool(self.on_epoch(len(self.curve), self.curve[-1], score,
                                              self.rates[-1], self.weights))


def train_stochastic(config):
    """Train ``config.spec``'s model with its Keras optimizer; a :class:`~.types.TrainResult`."""
    spec = config.spec
    trainer = get_trainer(spec)
    data, validation = config.data, None
    if config.early_stopping is not None:
        data, validation = early_stopping.split(config.data, config.early_stopping)
    X, Y, w = data
    path = choose_path(config, X)
    batch = batch_rows(config.batch_size, X.shape[0])
    dtype, d = trainer.dtype, spec.layer_sizes[0]
    alpha, template = tf.constant(config.alpha, dtype), tf.zeros([batch], dtype)
    if validation is not None:
        val = (all_rows_tensors(spec.sparse, validation[0]),
               *(as_tensor(a) for a in validation[1:]))
    else:
        val = (no_rows(spec.sparse, dtype, d), tf.zeros([0, Y.shape[1]], tf.int8),
               tf.zeros([0], dtype))
    epoch_rules = rules.host_rules(config, dtype)
    log = RunLog(early=validation is not None, on_epoch=config.on_epoch, weights=trainer.weights)
    with (first_xla_compile() if path.xla else contextlib.nullcontext(), trainer.lock,
          inline_executor(optimize=False) if trainer.inline(path.xla) else contextlib.nullcontext()):
        trainer.reset(config.coefs, config.intercepts, config.optimizer_state)
        if early_stopping.averages(config):
            early_stopping.moving_average(trainer).reset()
        state = rules.first_state(config.lr_scale, dtype)
        if path.stream:
            status, state = streaming.run(trainer, replace(config, data=data), path.xla,
                                          template, alpha, val, epoch_rules, state, log)
        else:
            data_args = _in_graph_data(config, path, data, template, alpha)
            status, state = _run_in_graph(trainer, config, path, data_args,
                                          epochs.Validation(*val), epoch_rules, state, log)
        if validation is not None and np.isfinite(float(state.best_score)):
            trainer.restore_best()
        coefs, intercepts = trainer.weights()
        optimizer_state = trainer.optimizer_state()
    return TrainResult(
        coefs, intercepts, np.asarray(log.curve), np.asarray(log.scores), np.asarray(log.rates),
        numpy_objective(X, Y, w, coefs, intercepts, spec.activation, config.alpha, spec.loss),
        status, optimizer_state, float(state.lr_scale), diverged_rate=log.diverged_rate,
    )


def _in_graph_data(config, path, data, template, alpha):
    """The :class:`~.epochs.Data` of an in-graph run; on the XLA path, dense X padded to its bucket.

    The weight sum is taken on the host (``host.weight_sum``, as streaming
    takes it), so that padding rows (weight zero) change no bit of it.
    """
    X, Y, w = data
    n, spec = X.shape[0], config.spec
    rows = padded_rows(n)
    if path.xla and not spec.sparse and rows * X[:1].nbytes <= config.paths.pad_max_bytes:
        tensors = [padded_tensor(a, rows) for a in data]
    else:
        tensors = [x_tensors(spec.sparse, X, int(template.shape[0])), as_tensor(Y), as_tensor(w)]
    return epochs.Data(*tensors, template, alpha, tf.constant(n, tf.int32),
                       weight_sum(w, spec.dtype))


def _run_in_graph(trainer, config, path, data, validation, epoch_rules, state, log):
    """Calls of the traced epoch loop; ``(status, state)``.

    The first call asks for FIT_FIRST_CALL_EPOCHS epochs (more on small data:
    FIT_FIRST_CALL_ROWS), each next one for
    twice as many, up to FIT_EPOCHS_PER_CALL; a call runs at most
    ``paths.steps_per_call`` steps (one epoch at least), so a requested stop
    (Ctrl-C) is honoured between calls; with a progress callback, one epoch
    per call.
    """
    n, rows = int(data.n), int(tf.shape(data.w)[0])  # real rows, and X's (padded)
    steps = -(-n // int(data.template.shape[0]))
    n_epochs, paths = len(config.rates), config.paths
    per_call = 1 if config.on_epoch else max(
        1, min(FIT_EPOCHS_PER_CALL, paths.steps_per_call // steps,
               paths.order_rows_per_call // rows)
    )
    ask = min(per_call, max(FIT_FIRST_CALL_EPOCHS, FIT_FIRST_CALL_ROWS // rows))
    static = rules.Static(early_stopping=log.early, adaptive=config.adaptive is not None,
                          shuffle=bool(config.shuffle), averaging=early_stopping.averages(config))
    run = epochs.function(trainer, static, path.xla)
    plan = _call_plan(n_epochs, ask, per_call)
    draw = functools.partial(_orders, config, per_call=per_call, rows=rows, n=n)
    # each call's permutations drawn on a thread during the call before, where they cost
    # more than a thread (a call of 20,000 rows x 26 epochs: 20-30 ms)
    ahead = config.shuffle and len(plan) > 1 and per_call * n >= FIT_FIRST_CALL_ROWS
    draws = prefetched(draw, plan) if ahead else (draw(call) for call in plan)
    status = Status.RUNNING
    with contextlib.closing(draws):
        for (done, k), orders in zip(plan, draws):
            if config.stop is not None and config.stop.requested:
                return Status.INTERRUPTED, state
            rates = np.zeros(FIT_EPOCHS_PER_CALL, np.float32)
            rates[:k] = config.rates[done : done + k]
            args = (data, validation, epochs.Call(tf.constant(orders), tf.constant(k),
                                                  tf.constant(rates)), epoch_rules, state)
            with _xla_cores.compiling(run, args, path.xla):
                end = run(*args)
            state, status, ran = end.state, Status(int(end.status)), int(end.epoch)
            used = end.rates.numpy()
            if status == Status.DIVERGED:  # its last epoch: undone, and not recorded
                ran -= 1
                log.diverged_rate = float(used[ran])
            log.record(end.losses.numpy()[:ran], end.scores.numpy()[:ran], used[:ran])
            if log.stopped and status == Status.RUNNING:
                status = Status.STOPPED
            if status != Status.RUNNING:
                break
    return status, state


def _call_plan(n_epochs, first, per_call):
    """``[(first epoch, epochs)]`` of each call of a run that lasts ``n_epochs``: the first
    asks for ``first``, each next one for twice as many, up to ``per_call``."""
    plan, done, ask = [], 0, first
    while done < n_epochs:
        k = min(ask, n_epochs - done)
        plan.append((done, k))
        done, ask = done + k, min(per_call, 2 * ask)
    return plan


def _orders(config, call, per_call, rows, n):
    """A call's row permutations, ``[per_call, rows]`` whatever its epochs (zeros past
    them and past X's real rows: a new shape would recompile under XLA); empty without
    shuffling."""
    if not config.shuffle:
        return np.zeros((0, 0), np.int32)
    done, k = call
    orders = np.zeros((per_call, rows), np.int32)
    orders[:k, :n] = epoch_orders(config.seed, config.epoch0 + done, k, n)
    return orders
