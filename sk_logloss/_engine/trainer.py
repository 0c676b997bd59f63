"""The trainer of one model structure: its variables, its Keras optimizer, and one optimizer step."""

import dataclasses
import functools
import itertools
import threading

import numpy as np

from .._backend import Traced, keras, trace
from .._optimizers import build_optimizer
from . import early_stopping, update
from .batches import all_rows
from .divergence import Snapshot
from .host import load, read
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


def shared_spec(spec):
    """The spec of the trainer that fits ``spec``: its input width and logit count left open
    (None), so that one trace serves every width.

    Open in either executor: graph-mode kernels take their shapes at run time,
    and the default executor's graph optimizer, which rewrites float32 runs (not
    inline, :func:`runs_inline`), fuses their products the same with the widths
    open as with them fixed: 22 float32 fits (binary, multiclass, multilabel,
    softmax, hidden layers, sparse, sample weights, early stopping, averaging,
    Adam, Nadam, SGD) trained to the same bits either way. XLA compiles each
    shape at its first call either way. A binary model keeps its one logit,
    which ``model.sample_losses`` reads. The optimizer must be one of
    INLINE_OPTIMIZERS, whose slots every supported Keras builds through
    ``add_variable_from_reference`` (Keras 3.7's Adagrad does not).
    """
    if spec.optimizer not in INLINE_OPTIMIZERS:
        return spec
    *hidden, out = spec.layer_sizes[1:]
    return dataclasses.replace(spec, layer_sizes=(None, *hidden, out if out == 1 else None))


def _layer_shapes(sizes):
    """The static shapes of a network's coefficient and intercept variables."""
    coefs = [tf.TensorShape([a, b]) for a, b in itertools.pairwise(sizes)]
    return coefs, [tf.TensorShape([b]) for b in sizes[1:]]


def _variable(shape, dtype, name):
    """A variable of static ``shape``, whose open (None) dimensions take any size on assign."""
    return tf.Variable(_stand_in(shape, dtype), shape=shape, name=name)


def _stand_in(shape, dtype):
    """Zeros of ``shape``, size 1 in its open dimensions."""
    return tf.zeros([1 if size is None else size for size in shape], dtype)


def _build_open(optimizer, variables):
    """Build ``optimizer``'s slots for ``variables``, open where their shapes are.

    Keras builds a slot with its reference variable's shape, which must be
    fully defined; each slot is built on a stand-in of size 1 in the open
    dimensions, then holds a variable of the reference's own static shape.
    """
    make_slot = optimizer.add_variable_from_reference

    def add(reference_variable, name=None, initializer="zeros"):
        shape = reference_variable.shape
        if shape.is_fully_defined():
            return make_slot(reference_variable, name=name, initializer=initializer)
        stand_in = tf.Variable(_stand_in(shape, reference_variable.dtype),
                               name=reference_variable.name.split(":")[0])
        slot = make_slot(stand_in, name=name, initializer=initializer)
        slot._value = tf.Variable(slot.value, shape=shape, trainable=False, name=slot.name)
        return slot

    optimizer.add_variable_from_reference = add
    try:
        optimizer.build(variables)
    finally:
        del optimizer.add_variable_from_reference


def native(variable):
    """The tf.Variable under a Keras variable (``variable`` itself if it is one)."""
    return variable.value if isinstance(variable, keras().Variable) else variable


class Trainer:
    """Variables, Keras optimizer and traced functions of one :class:`~.types.ModelSpec`.

    Built once per process and :func:`shared_spec` (:func:`get_trainer`): where
    the spec leaves a width open, its variables take each fit's shapes. Every
    fit loads its initial weights and either the optimizer's just-built state
    (exactly what a newly built optimizer would hold) or the state a previous
    ``partial_fit`` left. ``lock`` serializes the fits of one trainer across
    threads.
    """

    def __init__(self, spec):
        self.spec = spec
        self.dtype = tf.as_dtype(spec.dtype)
        self.lock = threading.Lock()
        self.trace_count = 0
        self._inline = runs_inline(spec)
        coef_shapes, intercept_shapes = _layer_shapes(spec.layer_sizes)
        self.coefs = [_variable(shape, self.dtype, f"coef_{i}")
                      for i, shape in enumerate(coef_shapes)]
        self.intercepts = [_variable(shape, self.dtype, f"intercept_{i}")
                           for i, shape in enumerate(intercept_shapes)]
        self.variables = self.coefs + self.intercepts
        self.best = early_stopping.BestWeights(self.variables)
        self.optimizer = new_optimizer(spec)
        _build_open(self.optimizer, self.variables)
        self.slots = [native(v) for v in self.optimizer.variables]
        # what an epoch changes: the weights and the optimizer's state (its
        # slots and step count), saved at each epoch's start
        self.state = self.variables + self.slots
        self.snapshot = Snapshot(self.state)
        self.average = None  # early_stopping.moving_average builds it on first use
        self._traced = {}

    def traced(self, key, fn, signature, xla=False):
        """``fn(self, *args)`` as a tf.function, traced once per trainer and ``key``, and
        called through that trace (:class:`~sk_logloss._backend.Traced`).

        functools.partial gives each trainer its own key in TensorFlow's
        retracing detector (it keys methods by code object), so tracing a new
        spec is not reported as a retrace of an old one.
        """
        traced = self._traced.get(key)
        if traced is None:
            function = tf.function(
                functools.partial(fn, self), input_signature=signature, jit_compile=xla,
                autograph=False,
            )
            traced = self._traced[key] = Traced(function, trace(function))  # the collector paused
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
        if optimizer_state is None:
            sizes = (np.shape(coefs[0])[0], *(np.shape(b)[0] for b in intercepts))
            optimizer_state = initial_optimizer_state(self.spec, sizes)
        values = [*coefs, *intercepts, *optimizer_state]
        load(self.state, values)
        # the copies take the fit's shapes before a compiled run assigns them (XLA
        # fixes a variable's shape for a call): the snapshot holds the state, the
        # best weights the weights, as just loaded
        self.snapshot.load(values)
        self.best.load(values[: len(self.variables)])

    def restore_best(self):
        """Make the best validation weights the current ones (the optimizer state stays)."""
        self.reset(*self.split(self.best.values()), self.optimizer_state())

    def optimizer_state(self):
        return read(self.slots)

    def weights(self):
        return self.split(read(self.variables))

    def split(self, values):
        return values[: len(self.coefs)], values[len(self.coefs):]


def new_optimizer(spec):
    """A Keras optimizer of ``spec``'s kind and parameters, not yet built."""
    return build_optimizer(spec.optimizer, dict(spec.optimizer_params), learning_rate=1e-3)


_INITIAL_STATES = {}
_INITIAL_STATES_LOCK = threading.Lock()


def initial_optimizer_state(spec, sizes):
    """The optimizer's variables as a fresh run of ``spec``'s optimizer on a network of
    ``sizes`` starts them (NumPy arrays): those of an optimizer just built on variables
    of its shapes. Built once per optimizer, dtype and sizes, without a :class:`Trainer`
    (a sweep's refit needs the layout only; building a trainer for it cost a process's
    first sweep about 40 ms)."""
    sizes = tuple(int(size) for size in sizes)
    key = (spec.optimizer, spec.optimizer_params, spec.dtype, sizes)
    with _INITIAL_STATES_LOCK:
        state = _INITIAL_STATES.get(key)
        if state is None:
            coef_shapes, intercept_shapes = _layer_shapes(sizes)
            optimizer = new_optimizer(spec)
            dtype = tf.as_dtype(spec.dtype)
            optimizer.build([tf.Variable(tf.zeros(shape, dtype))
                             for shape in coef_shapes + intercept_shapes])
            state = _INITIAL_STATES[key] = read(optimizer.variables)
    return list(state)


_TRAINERS = {}
_TRAINERS_LOCK = threading.Lock()


def get_trainer(spec):
    """The process-wide :class:`Trainer` of ``spec``'s :func:`shared_spec`, built on first use."""
    shared = shared_spec(spec)
    with _TRAINERS_LOCK:
        trainer = _TRAINERS.get(shared)
        if trainer is None:
            trainer = _TRAINERS[shared] = Trainer(shared)
        return trainer
