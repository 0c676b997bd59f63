"""The L-BFGS path: scipy's L-BFGS-B on the whole-data loss and gradient that TensorFlow computes."""

import itertools
import threading

import numpy as np

from .._backend import inline_executor, trace
from .._network import objective as numpy_objective
from .._optimizers import lbfgs_options
from .batches import all_rows, all_rows_signature, all_rows_tensors
from .host import as_tensor
from .model import objective, tf
from .types import Status, TrainResult


class FullBatch:
    """Loss and gradient of the whole training set, traced once per spec, in float64.

    The weights travel as one flat float64 vector, the layout scipy needs.
    """

    def __init__(self, spec):
        self.spec = spec
        self.lock = threading.Lock()
        self.trace_count = 0
        sizes = spec.layer_sizes
        self.shapes = [(a, b) for a, b in itertools.pairwise(sizes)] + [(b,) for b in sizes[1:]]
        d, k = sizes[0], sizes[-1]
        # the concrete function skips tf.function's per-call dispatch (about 150 us),
        # which L-BFGS pays once per loss evaluation
        self.fn = trace(tf.function(
            self._value_and_grad, autograph=False,
            input_signature=[
                all_rows_signature(spec.sparse, tf.float64, d), tf.TensorSpec([None, k], tf.int8),
                tf.TensorSpec([None], tf.float64), tf.TensorSpec([], tf.float64),
                tf.TensorSpec([None], tf.float64),
            ],
        ))

    def _value_and_grad(self, x, Y, w, alpha, theta):
        self.trace_count += 1
        with tf.GradientTape() as tape:
            tape.watch(theta)
            coefs, intercepts = self.unflatten(theta, tf.reshape)
            n = tf.cast(tf.shape(Y)[0], tf.float64)
            loss = objective(self.spec, coefs, intercepts, all_rows(x, tf.shape(Y)[0]), Y, w,
                             alpha, n, n, tf.reduce_sum(w))
        return loss, tape.gradient(loss, theta)

    def unflatten(self, theta, reshape=None):
        """``(coefs, intercepts)`` from the flat vector (NumPy copies, or ``reshape``'s views)."""
        parts, offset = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            piece = theta[offset : offset + size]
            parts.append(reshape(piece, shape) if reshape else piece.reshape(shape).copy())
            offset += size
        n_layers = len(self.shapes) // 2
        return parts[:n_layers], parts[n_layers:]


_FULL_BATCH = {}
_FULL_BATCH_LOCK = threading.Lock()


def train_lbfgs(config):
    """Minimize the whole-data objective with L-BFGS-B; a :class:`~.types.TrainResult`.

    A run that overflows keeps the best finite point the search evaluated.
    """
    from scipy.optimize import minimize

    spec = config.spec
    with _FULL_BATCH_LOCK:
        fb = _FULL_BATCH.get(spec)
        if fb is None:
            fb = _FULL_BATCH[spec] = FullBatch(spec)
    X, Y, w = config.data
    tensors = (all_rows_tensors(spec.sparse, X), as_tensor(Y), as_tensor(w),
               tf.constant(config.alpha, tf.float64))
    best = {"loss": np.inf, "theta": None}  # the best point with a finite loss and gradient

    def fun(theta):
        loss, grad = fb.fn(*tensors, tf.constant(theta))
        loss, grad = float(loss), grad.numpy()
        if loss < best["loss"] and np.isfinite(grad).all() and np.isfinite(theta).all():
            best.update(loss=loss, theta=theta.copy())
        return loss, grad

    curve, stopped = [], []

    def callback(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if config.on_epoch is not None and config.on_epoch(
                len(curve), curve[-1], None, float("nan"),
                lambda: fb.unflatten(intermediate_result.x)):
            stopped.append(True)
            raise StopIteration
        if config.stop is not None and config.stop.requested:
            raise StopIteration

    theta0 = np.concatenate([np.ravel(a) for a in (*config.coefs, *config.intercepts)])
    with fb.lock, inline_executor():
        res = minimize(
            fun, theta0.astype(np.float64), jac=True, method="L-BFGS-B", callback=callback,
            options={**lbfgs_options(config.options), "maxiter": config.max_iter,
                     "gtol": config.tol},
        )
    theta, loss, status = _outcome(res, best, theta0, config, bool(stopped))
    coefs, intercepts = fb.unflatten(theta)
    if not np.isfinite(loss):  # no finite point was evaluated: NumPy's saturating objective
        loss = numpy_objective(X, Y, w, coefs, intercepts, spec.activation, config.alpha,
                               spec.loss)
    return TrainResult(
        coefs, intercepts, np.asarray([c for c in curve if np.isfinite(c)]), np.empty(0),
        np.empty(0), loss, status, message=str(res.message),
    )


def _outcome(res, best, theta0, config, stopped):
    """``(theta, loss, status)`` of a finished run; an overflow falls back to ``best``."""
    if not (np.isfinite(res.fun) and np.isfinite(res.x).all()):
        if best["theta"] is None:
            return theta0, np.nan, Status.DIVERGED
        return best["theta"], best["loss"], Status.DIVERGED
    if stopped:
        status = Status.STOPPED
    elif res.status == 0:
        status = Status.CONVERGED
    elif config.stop is not None and config.stop.requested:
        status = Status.INTERRUPTED
    elif res.status == 1:
        status = Status.MAX_ITER if res.nit >= config.max_iter else Status.MAX_FUN
    else:  # an abnormal line-search end at a finite point: as far as L-BFGS gets
        status = Status.CONVERGED
    return res.x, float(res.fun), status
