"""What the estimator and the engine exchange: model spec, configs, result, status (no TensorFlow)."""

import enum
from dataclasses import dataclass, field

import numpy as np

# Epochs per TensorFlow call at most: the per-epoch buffers have this fixed
# length, so neither max_iter nor verbose changes a compiled shape.
# LogLossClassifierCV's sweep: a call costs a few ms on the host (binding its
# arguments, reading back its curves); breast cancer's sweep, 2 tasks of 1000
# epochs, 0.90 s warm at 32 epochs a call, 0.76 s at 256. verbose reports per call.
SWEEP_EPOCHS_PER_CALL = 256

# A plain fit's calls: the first asks for FIT_FIRST_CALL_EPOCHS, or as many as
# hold FIT_FIRST_CALL_ROWS permuted rows if more, each next one twice as many,
# up to FIT_EPOCHS_PER_CALL (the buffers' length). A call costs about 2 ms on
# the host (binding its arguments, drawing its permutations): at 32 epochs a
# call, breast cancer's XLA epochs took 100 us, at 256 39 us. A small first call
# keeps a short run on large data from drawing permutations it never uses; on
# small data they cost less than a call (2**16 rows: about 1 ms), so a fit of
# 200 rows and 50 epochs is one call, not two (bench (a): 27 -> 25 ms).
# Epoch e's permutation depends on e only, so how the calls split a run
# changes no bit of it.
FIT_FIRST_CALL_EPOCHS = 32
FIT_FIRST_CALL_ROWS = 2**16
FIT_EPOCHS_PER_CALL = 256

# XLA compiles one program per shape. On the XLA path dense X is padded with
# zero-weight rows up to its bucket, at most 1/8 more rows (8 buckets per
# octave), so the folds of one search (455 and 456 rows: both 480) share one
# compiled program; no batch reads a padding row (see epochs.Data).
ROW_BUCKETS_PER_OCTAVE = 8


def padded_rows(n):
    """``n`` rounded up to the top of its bucket (8 per octave: at most 1/8 more)."""
    octave = n.bit_length() - 1  # 2**octave <= n
    step = 2 ** max(0, octave - (ROW_BUCKETS_PER_OCTAVE.bit_length() - 1))
    return -(-n // step) * step


# batch_size="auto": the whole training set up to AUTO_BATCH_MAX rows (one
# exact step per epoch, so integer sample weights equal repeated rows); above
# it, AUTO_STEPS_PER_EPOCH steps at least, on batches of at most AUTO_BATCH_MAX
# rows. Measured in benchmarks/quality.py: batches of 200 rows on a few hundred
# are too noisy for the optimum LogisticRegression reaches. The batch is rounded
# up to its bucket (padded_rows): the batch size is a compiled shape, so data
# of 201 to 800 rows compile 17 programs per model, not one per row count.
AUTO_STEPS_PER_EPOCH = 4
AUTO_BATCH_MAX = 200


def batch_rows(batch_size, n):
    """Rows per minibatch over ``n`` training rows; ``batch_size=None`` is the "auto" rule."""
    if batch_size is None:
        if n <= AUTO_BATCH_MAX:
            return n
        return min(AUTO_BATCH_MAX, padded_rows(-(-n // AUTO_STEPS_PER_EPOCH)))
    return max(1, min(batch_size, n))


def steps_per_epoch(batch_size, n):
    """Optimizer steps in one epoch over ``n`` rows (the last batch may be short)."""
    return -(-n // batch_rows(batch_size, n))


class Status(enum.IntEnum):
    """How a training run ended. RUNNING at the end means max_iter was reached."""

    RUNNING = 0
    CONVERGED = 1
    DIVERGED = 2
    INTERRUPTED = 3
    MAX_FUN = 4  # L-BFGS: stopped by its budget of loss evaluations
    STOPPED = 5  # an epoch callback asked to stop (scikit-learn's callback API)
    MAX_ITER = 0  # L-BFGS: stopped by max_iter (the same as RUNNING)


@dataclass(frozen=True)
class ModelSpec:
    """What fixes a traced graph: layer sizes, activation, optimizer and its parameters, dtype.

    ``sparse`` marks scipy.sparse input, trained through sparse-dense products;
    ``optimizer_params`` is a sorted tuple of ``(key, value)`` pairs; ``loss``
    is ``"sigmoid"`` (mean sigmoid cross-entropy over the logits) or
    ``"softmax"`` (softmax cross-entropy over them).
    """

    layer_sizes: tuple
    activation: str
    optimizer: str
    optimizer_params: tuple
    dtype: str
    sparse: bool = False
    loss: str = "sigmoid"


def freeze_params(params):
    """``params`` as a hashable, sorted tuple of pairs (lists become tuples)."""

    def freeze(value):
        if isinstance(value, list | tuple):
            return tuple(freeze(v) for v in value)
        if isinstance(value, dict):
            return freeze_params(value)
        return value

    return tuple(sorted((k, freeze(v)) for k, v in params.items()))


@dataclass(frozen=True)
class Paths:
    """When a run is compiled with XLA, streamed from the host, and how it is cut into calls.

    The choice depends only on these numbers, the settings and the data size,
    never on what ran before, so a given random_state always gives the same
    bits. Tests steer the choice by passing other numbers.
    """

    # XLA: 61-78 and 118-182 us/step against 364 and 426 in TensorFlow's graph
    # executor for breast cancer's and digits' batches (2-core CPU), but a first
    # compile costs about 2 s per model, row bucket and batch size (padded_rows),
    # which the fits of a search share. Runs of at least this many optimizer steps (max_iter x
    # steps per epoch: the defaults' 1000 epochs of any data over 200 rows), or
    # on data of at least this many bytes, are compiled; smaller runs never wait
    # for a compilation. The choice never depends on what is compiled already,
    # so a random_state gives the same bits in any process.
    xla_min_steps: int = 2_000
    xla_min_bytes: int = 32 * 2**20
    # X of at least this many bytes is streamed: the host gathers shuffled
    # chunks of chunk_bytes into one reused buffer, so X is never copied whole.
    stream_min_bytes: int = 64 * 2**20
    chunk_bytes: int = 16 * 2**20
    # Optimizer steps per call at most (whole epochs, at least one): training
    # returns to Python this often, where a requested stop (Ctrl-C) is honoured.
    steps_per_call: int = 20_000
    # Rows of the epochs' permutations drawn for one call at most (2 MB of int32):
    # a run that converges early has drawn them all. At 2**22, 13,333 x 100
    # rows drew 256 epochs' for a 128-epoch fit (0.27 s -> 0.34 s).
    order_rows_per_call: int = 2**19
    # Dense X of at most this many bytes, padded, is padded to its row bucket on
    # the XLA path (types.padded_rows); larger X is not copied to share a compile.
    pad_max_bytes: int = 32 * 2**20


@dataclass(frozen=True)
class Adaptive:
    """MLPClassifier's adaptive schedule: on a stall the rate is multiplied by ``factor``."""

    factor: float
    min_rate: float


@dataclass(frozen=True)
class EarlyStopping:
    """Hold out ``fraction`` of the rows (split keyed by ``key``) and stop on their score;
    ``average``: score, and keep, the weights' moving average instead of the weights."""

    fraction: float
    key: int
    multilabel: bool
    average: bool = False


@dataclass
class StochasticConfig:
    """Everything a minibatch training run needs (see ``loop.train_stochastic``).

    ``data`` is ``(X, Y, sample_weight)``: X in ``spec.dtype`` (dense or CSR),
    an int8 0/1 label matrix, float weights. ``rates`` holds the scheduled
    learning rate of each epoch to run (its length is the number of epochs).
    ``seed`` (below 2**64) and the global epoch index from ``epoch0`` drive the
    shuffling. ``on_epoch(epoch, loss, score, rate, weights)`` is called after
    each epoch (``weights()`` gives that epoch's ``(coefs, intercepts)``); a
    true return value stops the run. ``stop`` (with a ``requested``
    attribute) is polled between calls.
    """

    spec: ModelSpec
    coefs: list
    intercepts: list
    data: tuple
    rates: np.ndarray
    alpha: float
    batch_size: int | None  # None: batch_rows' "auto" rule
    tol: float
    n_iter_no_change: int
    check_convergence: bool
    shuffle: bool
    seed: int
    epoch0: int = 0
    adaptive: Adaptive | None = None
    early_stopping: EarlyStopping | None = None
    optimizer_state: list | None = None
    lr_scale: float = 1.0
    on_epoch: object = None
    stop: object = None
    paths: Paths = field(default_factory=Paths)


@dataclass
class LbfgsConfig:
    """Everything a full-batch L-BFGS run needs (see ``lbfgs.train_lbfgs``).

    ``options`` are L-BFGS-B options (``maxcor``, ``maxls``, ``ftol``,
    ``maxfun``); ``max_iter`` and ``tol`` become ``maxiter`` and ``gtol``.
    """

    spec: ModelSpec
    coefs: list
    intercepts: list
    data: tuple
    alpha: float
    max_iter: int
    tol: float
    options: dict
    on_epoch: object = None
    stop: object = None


@dataclass
class TrainResult:
    """Outcome of either path, all NumPy and Python values."""

    coefs: list
    intercepts: list
    loss_curve: np.ndarray
    validation_scores: np.ndarray  # empty without early stopping
    learning_rates: np.ndarray
    loss: float  # the training objective at the returned weights
    status: Status
    optimizer_state: list | None = None
    lr_scale: float = 1.0
    message: str = ""
    diverged_rate: float | None = None  # learning rate of the epoch that diverged, if one did


@dataclass
class Fold:
    """One fold of a sweep: its training rows (into the shared X) and weights, and its
    validation rows for early stopping (empty without it)."""

    train: np.ndarray
    w_train: np.ndarray
    val: np.ndarray
    w_val: np.ndarray


@dataclass
class SweepConfig:
    """Everything a sweep needs (see ``sweep.train_sweep``): every fold x grid point.

    ``rates`` is ``[C, max_iter]``: each grid point's scheduled rate per epoch;
    ``alphas`` is ``[C]``. All candidates start from ``coefs``/``intercepts``
    and shuffle with ``seed``, as plain fits with one ``random_state`` do.
    ``on_epoch(epochs_done, n_running)`` reports progress after each call:
    the epochs of all the sweep's runs so far, and the candidates of this run
    still training.
    """

    spec: ModelSpec
    X: np.ndarray
    Y: np.ndarray
    folds: list
    coefs: list
    intercepts: list
    rates: np.ndarray
    alphas: np.ndarray
    batch_size: int | None
    tol: float
    n_iter_no_change: int
    shuffle: bool
    seed: int
    adaptive: Adaptive | None = None
    early_stopping: bool = False
    average_weights: bool = False  # early stopping scores the weights' moving average
    on_epoch: object = None
    xla: bool = True
