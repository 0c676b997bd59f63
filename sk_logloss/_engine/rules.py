"""The end-of-epoch rules: convergence, adaptive decay, and the status they give.

Early stopping's score and divergence's check come from their own modules;
:func:`end_epoch` applies all of them in order, in traced code.
"""

from typing import NamedTuple

import numpy as np

from . import divergence, early_stopping
from .model import tf
from .types import Status


class Rules(NamedTuple):
    """A fit's settings for the epoch rules, as tensors."""

    check_convergence: object  # bool; False in partial_fit
    early_stopping: object  # bool
    adaptive: object  # bool
    factor: object  # float32: the adaptive schedule's decay factor
    min_rate: object  # float32: ... and the rate below which it stops
    tol: object  # model dtype
    n_iter_no_change: object  # int32


class EpochState(NamedTuple):
    """What the rules carry from epoch to epoch, and from one TensorFlow call to the next."""

    lr_scale: object  # float32: the adaptive schedule's scale of the rate so far
    best_loss: object  # model dtype
    best_score: object  # model dtype: the best validation score so far
    no_improve: object  # int32: epochs in a row without improvement


class Static(NamedTuple):
    """What a traced loop is specialized on: the controls a fit does not use run no ops."""

    early_stopping: bool
    adaptive: bool
    shuffle: bool
    averaging: bool = False  # early stopping scores the weights' moving average


def signatures(dtype):
    """The traced signatures of :class:`Rules` and :class:`EpochState`."""
    scalar = tf.TensorSpec([], dtype)
    return (
        Rules(tf.TensorSpec([], tf.bool), tf.TensorSpec([], tf.bool), tf.TensorSpec([], tf.bool),
              tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.float32), scalar,
              tf.TensorSpec([], tf.int32)),
        EpochState(tf.TensorSpec([], tf.float32), scalar, scalar, tf.TensorSpec([], tf.int32)),
    )


def host_rules(config, dtype):
    """The :class:`Rules` tensors of a :class:`~.types.StochasticConfig`."""
    adaptive = config.adaptive
    factor, min_rate = (adaptive.factor, adaptive.min_rate) if adaptive else (1.0, 0.0)
    return Rules(
        tf.constant(bool(config.check_convergence)), tf.constant(config.early_stopping is not None),
        tf.constant(adaptive is not None), tf.constant(factor, tf.float32),
        tf.constant(min_rate, tf.float32), tf.constant(config.tol, dtype),
        tf.constant(config.n_iter_no_change),
    )


def first_state(lr_scale, dtype):
    """The :class:`EpochState` a run starts from: nothing seen yet."""
    return EpochState(tf.constant(lr_scale, tf.float32), tf.constant(np.inf, dtype),
                      tf.constant(-np.inf, dtype), tf.constant(0))


def loss_stalled(loss, best_loss, tol):
    """MLPClassifier's rule: the epoch loss failed to improve on the best by ``tol``."""
    return loss > best_loss - tol


def end_epoch(trainer, loss, rate, validation, rules, state, static):
    """Apply the rules after an epoch; return ``(score, EpochState, status)``.

    Without early stopping, training converges when the epoch loss has
    stalled for more than ``n_iter_no_change`` epochs; with it, when the
    validation score has (the best weights are kept meanwhile). With the
    adaptive schedule a stall multiplies the rate by ``factor`` instead, until
    it would fall below ``min_rate``. A diverged epoch is undone and stops.
    """
    ok = divergence.finite(loss, trainer.state, trainer.coefs)
    trainer.snapshot.restore_unless(ok)
    best_score = state.best_score
    if static.early_stopping:
        score = trainer.validation_score(*validation, averaged=static.averaging)
        trainer.best.keep_if(ok & rules.early_stopping & (score > best_score),
                             early_stopping.moving_average(trainer).values if static.averaging else None)
        stall = tf.where(rules.early_stopping,
                         early_stopping.stalled(score, best_score, rules.tol),
                         loss_stalled(loss, state.best_loss, rules.tol))
        # a diverged epoch is undone: its score never becomes the best (a sweep's rule too)
        best_score = tf.where(rules.early_stopping & ok, tf.maximum(best_score, score),
                              best_score)
    else:
        score = tf.zeros([], trainer.dtype)
        stall = loss_stalled(loss, state.best_loss, rules.tol)
    no_improve = tf.where(stall, state.no_improve + 1, 0)
    stuck = rules.check_convergence & (no_improve > rules.n_iter_no_change)
    lr_scale, decay = state.lr_scale, tf.zeros([], tf.bool)
    if static.adaptive:  # the adaptive schedule: a stall decays the rate instead of stopping
        decay = stuck & rules.adaptive & (rate > rules.min_rate)
        lr_scale = tf.where(decay, lr_scale * rules.factor, lr_scale)
        no_improve = tf.where(decay, 0, no_improve)
    status = tf.where(ok, tf.where(stuck & ~decay, int(Status.CONVERGED), int(Status.RUNNING)),
                      int(Status.DIVERGED))
    new = EpochState(lr_scale, tf.minimum(state.best_loss, loss), best_score, no_improve)
    return score, new, status
