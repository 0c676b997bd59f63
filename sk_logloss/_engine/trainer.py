"""The trainer of one model spec: its variables, its Keras optimizer, and one optimizer step."""

import functools
import itertools
import threading

from .._backend import trace
from .._optimizers import build_optimizer
from . import early_stopping, update
from .batches import all_rows
from .divergence import Snapshot
from .model import objective, tf

# The optimizers whose update TensorFlow's graph optimizer leaves as written, with any
# of their parameters (RMSprop's division by a square root, for one, becomes a product
# with rsqrt; Adagrad and AdamW change too); see runs_inline.
INLINE_OPTIMIZERS = ("adam", "adamax", "nadam", "sgd")


def runs_inline(spec):
    """Whether graph-mode runs of ``spec`` use the single-threaded executor.

    That executor (``_backend.inline_executor``) does not rewrite loop bodies
    as the default executor's graph optimizer does, so it runs only what keeps
    the default executor's bits (tested): float64, whose products the
    optimizer does not fuse into oneDNN kernels as it does float32's; an
    optimizer of INLINE_OPTIMIZERS; the sigmoid loss's gradient summed in the
    optimizer's order (``model.sigmoid_cross_entropy``).
    """
    return spec.dtype == "float64" and spec.optimizer in INLINE_OPTIMIZERS


class Trainer:
    """Variables, Keras optimizer and traced functions of one :class:`~.types.ModelSpec`.

    Built once per process and spec (:func:`get_trainer`). Every fit loads its
    initial weights and either the optimizer's just-built state (exactly what
    a newly built optimizer would hold) or the state a previous
    ``partial_fit`` left. ``lock`` serializes fits of the same spec across
    threads.
    """

    def __init__(self, spec):
        self.spec = spec
        self.dtype = tf.as_dtype(spec.dtype)
        self.lock = threading.Lock()
        self.trace_count = 0
        self._inline = runs_inline(spec)
        sizes = spec.layer_sizes
        self.coefs = [
            tf.Variable(tf.zeros((a, b), self.dtype), name=f"coef_{i}")
            for i, (a, b) in enumerate(itertools.pairwise(sizes))
        ]
        self.intercepts = [
            tf.Variable(tf.zeros((b,), self.dtype), name=f"intercept_{i}")
            for i, b in enumerate(sizes[1:])
        ]
        self.variables = self.coefs + self.intercepts
        self.best = early_stopping.BestWeights(self.variables)
        self.optimizer = build_optimizer(
            spec.optimizer, dict(spec.optimizer_params), learning_rate=1e-3
        )
        self.optimizer.build(self.variables)
        self._optimizer_init = [v.numpy() for v in self.optimizer.variables]
        # what an epoch changes: the weights and the optimizer's state (its
        # slots and step count), saved at each epoch's start
        self.state = self.variables + list(self.optimizer.variables)
        self.snapshot = Snapshot(self.state)
        self.average = None  # early_stopping.moving_average builds it on first use
        self._traced = {}

    def traced(self, key, fn, signature, xla=False):
        """``fn(self, *args)`` as a tf.function, traced once per trainer and ``key``.

        functools.partial gives each trainer its own key in TensorFlow's
        retracing detector (it keys methods by code object), so tracing a new
        spec is not reported as a retrace of an old one.
        """
        traced = self._traced.get(key)
        if traced is None:
            traced = tf.function(
                functools.partial(fn, self), input_signature=signature, jit_compile=xla,
                autograph=False,
            )
            trace(traced)  # now, the collector paused
            self._traced[key] = traced
        return traced

    # -- traced code ----------------------------------------------------------
    def step(self, batch, alpha, n, total_w, xla):
        """One optimizer step on a :class:`~.batches.Batch` in a loop body; returns its loss
        times its rows (``xla``: the loop is compiled)."""
        with tf.GradientTape() as tape:
            loss = objective(self.spec, self.coefs, self.intercepts, batch.x, batch.y, batch.w,
                             alpha, batch.count, n, total_w, inline=self.inline(xla))
        grads = tape.gradient(loss, self.variables)
        update.apply(self.optimizer, grads, self.variables)
        return loss * batch.count

    def inline(self, xla):
        """Whether a run (``xla``: compiled) is called in the single-threaded executor, and
        its steps sum the loss's gradient in the graph optimizer's order (:func:`runs_inline`)."""
        return self._inline and not xla

    def begin_epoch(self, rate):
        """Save the epoch's starting state and set its learning rate."""
        self.snapshot.save()
        self.optimizer.learning_rate.assign(rate)

    def validation_score(self, x, y, w, averaged=False):
        """Early stopping's score of the weights, or of their moving average."""
        weights = self.split(early_stopping.moving_average(self).values) if averaged else (
            self.coefs, self.intercepts)
        return early_stopping.score(self.spec, *weights, all_rows(x, tf.shape(y)[0]), y, w)

    # -- host code ------------------------------------------------------------
    def reset(self, coefs, intercepts, optimizer_state=None):
        """Load weights, and the optimizer state of a previous run or a fresh one."""
        for var, value in zip(self.variables, list(coefs) + list(intercepts)):
            var.assign(value)
        state = self._optimizer_init if optimizer_state is None else optimizer_state
        for var, value in zip(self.optimizer.variables, state):
            var.assign(value)

    def restore_best(self):
        """Make the best validation weights the current ones (the optimizer state stays)."""
        self.reset(*self.split(self.best.values()), self.optimizer_state())

    def initial_optimizer_state(self):
        """The optimizer's variables as a fresh run starts them (NumPy arrays)."""
        return list(self._optimizer_init)

    def optimizer_state(self):
        return [v.numpy() for v in self.optimizer.variables]

    def weights(self):
        return self.split([v.numpy() for v in self.variables])

    def split(self, values):
        return values[: len(self.coefs)], values[len(self.coefs):]


_TRAINERS = {}
_TRAINERS_LOCK = threading.Lock()


def get_trainer(spec):
    """The process-wide :class:`Trainer` of ``spec``, built on first use."""
    with _TRAINERS_LOCK:
        trainer = _TRAINERS.get(spec)
        if trainer is None:
            trainer = _TRAINERS[spec] = Trainer(spec)
        return trainer
