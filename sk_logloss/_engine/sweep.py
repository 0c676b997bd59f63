"""The candidate axis: every (fold, grid point) fit of one model shape, side by side in one traced loop.

Variables carry two leading axes, ``[F, C, ...]``: F folds (each with its own
training rows, shuffle and validation rows) by C grid points (each with its
own learning rate schedule and L2 penalty). A fold's rows are gathered once
per step and serve all C candidates (:mod:`.sweep_model`: logits ``[F, C, k, B]``,
rows last). Keras' optimizer takes the learning rate as a ``[F, C, 1, 1]`` tensor, which
broadcasts against every variable (intercepts are kept as ``[F, C, 1, k]``).
Each candidate stops on its own rule (convergence, adaptive decay, early
stopping, divergence) and is then frozen: its weights and optimizer slots are
put back to their values at each later epoch's end while the others train on.
Candidates share the optimizer's step counter, so only folds with the same number of
steps per epoch share a run (:func:`.sweep_loop.train_sweep` groups them). The arithmetic
is a plain fit's, in another summation order: a candidate's weights match its own fit to
rounding.
"""

import itertools
import threading
from typing import NamedTuple

import numpy as np

from .. import _xla_cores
from .._backend import flat_tensors, run_with_captures, runs_with_captures, trace
from .._optimizers import build_optimizer
from . import update
from .early_stopping import moving_average
from .host import load, read
from .model import tf
from .sweep_model import (
    BATCH_LOSS_MAX_LOGITS,
    logits,
    sample_losses,
    sigmoid_batch_losses,
    squared_norms,
)
from .types import SWEEP_EPOCHS_PER_CALL, Status

# Keras optimizers whose update is elementwise in the learning rate and the
# variable, so that a [F, C, 1, 1] rate and a candidate axis change nothing;
# Lamb (a per-variable trust ratio) and Adafactor (factored, RMS-scaled
# moments) take norms over a whole variable, which the candidate axis would mix.
SWEEP_OPTIMIZERS = ("adadelta", "adagrad", "adam", "adamax", "adamw", "ftrl", "lion", "nadam",
                    "rmsprop", "sgd")
# ... of which those whose only state shared by all candidates is the step count, so
# that one candidate's optimizer state can be handed to a plain fit (Nadam also
# shares its running momentum-schedule product)
PER_CANDIDATE_STATE = tuple(o for o in SWEEP_OPTIMIZERS if o != "nadam")
# optimizer_params that take norms over a whole variable
NORM_PARAMS = ("clipnorm", "global_clipnorm", "use_ema")


class SweepData(NamedTuple):
    """The tensors of one run: X shared by every fold, and each fold's rows and weights."""

    X: object  # [n, d] the whole data
    Y: object  # [k, n] int8 labels, one row per logit (rows last, as the logits)
    rows: object  # [F, n_max] int32: fold f's training rows (into X), padded with 0
    w: object  # [F, n_max] their weights, 0 on padding
    n: object  # [F] training rows per fold
    batch: object  # [F] rows per batch
    val_rows: object  # [F, v_max] validation rows (v_max = 0 without early stopping)
    val_w: object  # [F, v_max]
    alpha: object  # [C] L2 penalties
    template: object  # [B]: B is the largest batch


class SweepCall(NamedTuple):
    """One call: each epoch's row order per fold, the epoch count, each epoch's rates."""

    orders: object  # int32 [E, F, n_max + 2 B]: positions into each fold's rows
    n_epochs: object  # int32
    rates: object  # float32 [SWEEP_EPOCHS_PER_CALL, C]


class SweepRules(NamedTuple):
    """The stopping settings, shared by all candidates."""

    tol: object
    n_iter_no_change: object
    factor: object  # adaptive decay factor (1 without it)
    min_rate: object


class SweepState(NamedTuple):
    """Per-candidate ``[F, C]`` state carried from epoch to epoch and call to call."""

    lr_scale: object
    best_loss: object
    best_score: object
    no_improve: object
    status: object  # int32 Status


class SweepCarry(NamedTuple):
    epoch: object
    state: SweepState
    losses: object  # [SWEEP_EPOCHS_PER_CALL, F, C]
    scores: object
    rates: object


class Static(NamedTuple):
    early_stopping: bool
    adaptive: bool
    shuffle: bool
    averaging: bool = False  # early stopping scores the weights' moving average
    unit_weights: bool = False  # every training row weighs 1: sigmoid_batch_losses may apply


class SweepTrainer:
    """Variables ``[F, C, ...]``, Keras optimizer and traced loop for one spec and axis size."""

    def __init__(self, spec, folds, grid, source=None):
        self.spec, self.F, self.C = spec, folds, grid
        self.source = source  # lane 0's trainer of this shape, whose traced program this one runs
        self.dtype = tf.as_dtype(spec.dtype)
        self.lock = threading.Lock()
        self.trace_count = 0
        sizes = spec.layer_sizes
        self.coefs = [tf.Variable(tf.zeros((folds, grid, a, b), self.dtype))
                      for a, b in itertools.pairwise(sizes)]
        self.intercepts = [tf.Variable(tf.zeros((folds, grid, 1, b), self.dtype))
                           for b in sizes[1:]]
        self.variables = self.coefs + self.intercepts
        self.rate = tf.Variable(tf.zeros((folds, grid, 1, 1), tf.float32), trainable=False)
        self.optimizer = build_optimizer(spec.optimizer, dict(spec.optimizer_params),
                                         learning_rate=lambda: self.rate)
        self.optimizer.build(self.variables)
        self._optimizer_init = read(self.optimizer.variables)
        # per-candidate state: what freezing and divergence restore (shared scalars,
        # such as the step count, are left alone: a stopped candidate never resumes)
        self.slots = [v for v in self.optimizer.variables
                      if len(v.shape) >= 2 and tuple(v.shape[:2]) == (folds, grid)]
        self.state = self.variables + self.slots
        self.saved = [tf.Variable(v, trainable=False) for v in self.state]
        self.best = [tf.Variable(v, trainable=False) for v in self.variables]
        self.average = None  # early_stopping.moving_average builds it on first use
        self._traced, self._captures = {}, {}

    def reset(self, coefs, intercepts):
        load(self.variables, [np.broadcast_to(value, var.shape) for var, value
                              in zip(self.variables, [*coefs, *intercepts], strict=True)])
        load(self.optimizer.variables, self._optimizer_init)
        for var, value in zip(self.best, self.variables):
            var.assign(value)

    def function(self, static, xla):
        key = (static, xla)
        with _LOCK:  # a lane may ask for its source's while the source's own lane does
            if key not in self._traced:
                self._traced[key] = tf.function(
                    lambda *args: run(self, static, *args), jit_compile=xla, autograph=False,
                    reduce_retracing=True,
                )
            return self._traced[key]

    def owned(self):
        """Every variable the traced loop reads or writes, in the order they were built."""
        average = [] if self.average is None else [*self.average.values, self.average.steps]
        return [*self.variables, self.rate, *self.optimizer.variables, *self.saved, *self.best,
                *average]

    def captures(self, concrete):
        """What ``concrete`` (traced on :attr:`source`) captured, with this trainer's
        variables in place of the source's."""
        if concrete not in self._captures:
            if self.source.average is not None:  # the source's variables list it: so must ours
                moving_average(self)
            mine = {id(a.handle): b.handle
                    for a, b in zip(self.source.owned(), self.owned(), strict=True)}
            captured = concrete.captured_inputs
            if any(c.dtype == tf.resource and id(c) not in mine for c in captured):
                raise RuntimeError("a lane's program captured a variable its trainer lacks")
            self._captures[concrete] = [mine.get(id(c), c) for c in captured]
        return self._captures[concrete]

    # -- traced code ----------------------------------------------------------
    def objective(self, x, Y, bw, count, n, total_w, alpha, weights=None, unit=False):
        """``[F, C]`` objective estimates of a batch: :func:`.model.objective`, per candidate,
        of the weights (or of ``weights``, ``(coefs, intercepts)``), for the rows ``x``
        (``[F, B, d]``) and their labels ``Y`` (``[k, F, B]``: each row's labels lie
        along the rows, as the logits); ``unit``: every weight ``bw`` is 0 or 1."""
        coefs, intercepts = weights or (self.coefs, self.intercepts)
        h = logits(coefs, intercepts, self.spec.activation, x)
        labels = tf.transpose(tf.cast(Y, self.dtype), [1, 0, 2])[:, None]  # [F, 1, k, B]
        if unit and self.spec.loss == "sigmoid" and h.shape[2] <= BATCH_LOSS_MAX_LOGITS:
            batch = sigmoid_batch_losses(tf.broadcast_to(labels, tf.shape(h)), h, bw)
        else:
            batch = tf.reduce_sum(bw[:, None, :] * sample_losses(self.spec.loss, labels, h),
                                  axis=-1)
        data = batch * (n / count)[:, None]
        return (data + 0.5 * alpha[None, :] * squared_norms(coefs)) / total_w[:, None]

    def step(self, x, Y, bw, count, n, total_w, alpha, running, unit=False):
        """One optimizer step of every running candidate; ``[F, C]`` losses times rows."""
        with tf.GradientTape() as tape:
            losses = self.objective(x, Y, bw, count, n, total_w, alpha, unit=unit)
            total = tf.reduce_sum(tf.where(running, losses, tf.zeros_like(losses)))
        grads = tape.gradient(total, self.variables)
        # a stopped candidate steps on (its gradient is zero, its momentum is not) and is
        # put back at the epoch's end (end_epoch): no copy of every variable per step
        update.apply(self.optimizer, grads, self.variables)
        return losses * count[:, None]

    def finite(self, loss):
        """``[F, C]``: whether a candidate's loss, weights, slots and L2 norm are finite
        (the weights and slots in one reduction: one kernel to compile, not one each)."""
        values = [tf.reshape(v, [self.F, self.C, -1]) for v in self.state
                  if tf.as_dtype(v.dtype).is_floating]
        return (tf.math.is_finite(loss) & tf.math.is_finite(squared_norms(self.coefs))
                & tf.reduce_all(tf.math.is_finite(tf.concat(values, axis=2)), axis=2))


def _expand(mask):
    """An ``[F, C]`` mask shaped to broadcast against ``[F, C, a, b]`` variables."""
    return mask[:, :, None, None]


def take(data, order, i, dtype):
    """Each fold's batch ``i``: rows of X, labels, weights (0 on padding) and row counts."""
    slot = tf.range(tf.shape(data.template)[0])
    pos = (i * data.batch)[:, None] + slot[None, :]
    valid = (slot[None, :] < data.batch[:, None]) & (pos < data.n[:, None])
    local = tf.gather(order, tf.minimum(pos, tf.shape(order)[1] - 1), batch_dims=1)
    rows = tf.gather(data.rows, local, batch_dims=1)
    bw = tf.gather(data.w, local, batch_dims=1) * tf.cast(valid, dtype)
    # the valid slots' count, sum(valid) as arithmetic: no reduction to compile
    count = tf.cast(tf.clip_by_value(tf.minimum(data.batch, data.n - i * data.batch), 0,
                                     tf.shape(slot)[0]), dtype)
    return tf.gather(data.X, rows), tf.gather(data.Y, rows, axis=1), bw, count


def end_epoch(trainer, static, data, rules, st, loss, rate, running):
    """The epoch rules of every candidate (as :func:`.rules.end_epoch`, on ``[F, C]``).

    Returns ``(score, new state, ok)``; a diverged candidate's epoch is undone.
    """
    ok = trainer.finite(loss)
    keep = _expand(ok & running)  # undo a diverged epoch, and a stopped candidate's steps
    for v, s in zip(trainer.state, trainer.saved):
        v.assign(tf.where(keep, v, s))
    best_score = st.best_score
    if static.early_stopping:
        x, Y = tf.gather(data.X, data.val_rows), tf.gather(data.Y, data.val_rows, axis=1)
        scored = moving_average(trainer).values if static.averaging else trainer.variables
        k = len(trainer.coefs)
        score = -trainer_objective_no_l2(trainer, x, Y, data.val_w, (scored[:k], scored[k:]))
        better = running & ok & (score > best_score)
        for b, v in zip(trainer.best, scored):
            b.assign(tf.where(_expand(better), v, b))
        stall = score < best_score + rules.tol
        # a diverged epoch is undone: its score never becomes the best (a plain fit's rule)
        best_score = tf.where(running & ok, tf.maximum(best_score, score), best_score)
    else:
        score = tf.zeros_like(loss)
        stall = loss > st.best_loss - rules.tol
    no_improve = tf.where(stall, st.no_improve + 1, 0)
    stuck = no_improve > rules.n_iter_no_change
    lr_scale, decay = st.lr_scale, tf.zeros_like(stuck)
    if static.adaptive:  # a stall decays the rate instead of stopping
        decay = stuck & (rate > rules.min_rate)
        lr_scale = tf.where(decay & running, lr_scale * rules.factor, lr_scale)
        no_improve = tf.where(decay, 0, no_improve)
    status = tf.where(ok, tf.where(stuck & ~decay, int(Status.CONVERGED), int(Status.RUNNING)),
                      int(Status.DIVERGED))
    new = SweepState(
        lr_scale, tf.where(running, tf.minimum(st.best_loss, loss), st.best_loss), best_score,
        tf.where(running, no_improve, st.no_improve), tf.where(running, status, st.status),
    )
    return score, new, ok


def run(trainer, static, data, call, rules, state):
    """Up to ``call.n_epochs`` epochs of every candidate; stops when none is running."""
    trainer.trace_count += 1
    dtype = trainer.dtype
    n_f = tf.cast(data.n, dtype)
    total_w = tf.reduce_sum(data.w, axis=1)
    steps = (data.n[0] + data.batch[0] - 1) // data.batch[0]  # equal for every fold of a run

    def epoch(carry):
        e, st = carry.epoch, carry.state
        running = st.status == int(Status.RUNNING)
        rate = call.rates[e][None, :] * st.lr_scale  # [F, C]
        for s, v in zip(trainer.saved, trainer.state):
            s.assign(v)
        trainer.rate.assign(tf.cast(rate, tf.float32)[:, :, None, None])
        order = call.orders[e] if static.shuffle else call.orders[0]

        def one(i, acc):
            x, Y, bw, count = take(data, order, i, dtype)
            losses = trainer.step(x, Y, bw, count, n_f, total_w, data.alpha, running,
                                  static.unit_weights)
            if static.averaging:
                moving_average(trainer).update()
            return i + 1, acc + losses

        zero = tf.zeros([trainer.F, trainer.C], dtype)
        loss = tf.while_loop(lambda i, acc: i < steps, one, (0, zero))[1] / n_f[:, None]
        score, new, ok = end_epoch(trainer, static, data, rules, st, loss, rate, running)
        # NaN where a candidate ran no such epoch: it had stopped, or this epoch
        # diverged and was undone (a plain fit records neither)
        recorded = running & ok
        nan = tf.fill(tf.shape(loss), tf.constant(np.nan, dtype))
        at = [[e]]
        return (SweepCarry(
            e + 1, new,
            tf.tensor_scatter_nd_update(carry.losses, at, [tf.where(recorded, loss, nan)]),
            tf.tensor_scatter_nd_update(carry.scores, at, [tf.where(recorded, score, nan)]),
            tf.tensor_scatter_nd_update(carry.rates, at, [tf.cast(rate, tf.float32)]),
        ),)

    shape = [SWEEP_EPOCHS_PER_CALL, trainer.F, trainer.C]
    empty = tf.fill(shape, tf.constant(np.nan, dtype))
    start = SweepCarry(0, state, empty, empty, tf.zeros(shape, tf.float32))
    (end,) = tf.while_loop(
        lambda c: (c.epoch < call.n_epochs) & tf.reduce_any(c.state.status == int(Status.RUNNING)),
        epoch, (start,),
    )
    return end


def trainer_objective_no_l2(trainer, x, Y, w, weights=None):
    """``[F, C]`` weighted mean loss of the validation rows, no L2 term (early stopping's)."""
    ones = tf.ones([trainer.F], trainer.dtype)  # a full batch: no n / count scaling
    return trainer.objective(x, Y, w, ones, ones, tf.reduce_sum(w, axis=1),
                             tf.zeros([trainer.C], trainer.dtype), weights)


_TRAINERS = {}
_LOCK = threading.Lock()


def get_trainer(spec, folds, grid, lane=0):
    """The process-wide :class:`SweepTrainer` of ``spec`` and axis sizes on ``lane`` (tasks
    that train at once each take their own lane's variables, and run lane 0's program:
    :func:`call`), built on first use."""
    with _LOCK:
        return _trainer(spec, folds, grid, lane)


def _trainer(spec, folds, grid, lane):
    key = (spec, folds, grid, lane)
    if key not in _TRAINERS:
        source = _trainer(spec, folds, grid, 0) if lane else None
        _TRAINERS[key] = SweepTrainer(spec, folds, grid, source)
    return _TRAINERS[key]


def call(trainer, static, xla, args):
    """``run(trainer, static, *args)``: traced (the collector paused) on lane 0's trainer
    of its shape, whose program another lane's trainer runs on its own variables, so
    that lanes share one trace and one XLA compilation per shape."""
    owner = trainer.source or trainer
    if static.averaging:  # the loop reads the average: built here, not inside the trace
        moving_average(owner)
    fn = owner.function(static, xla)
    if fn.experimental_get_tracing_count() == 0:
        trace(fn, *args)
    with _xla_cores.compiling(fn, args, xla):
        if owner is not trainer:
            concrete = fn.get_concrete_function(*args)
            if runs_with_captures(concrete):
                return run_with_captures(concrete, flat_tensors(args), trainer.captures(concrete))
            fn = trainer.function(static, xla)  # a TensorFlow without it: a trace of its own
        return fn(*args)
