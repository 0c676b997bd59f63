"""LogLossClassifier: the scikit-learn estimator; its training runs in the TensorFlow engine."""

import warnings
from numbers import Integral, Real
from typing import ClassVar, NamedTuple

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _callbacks, _network, _optimizers, _persistence, _schedules
from ._callbacks import CallbackSupportMixin
from ._compat import Interval, Options, StrOptions, _fit_context
from ._engine.types import (
    Adaptive,
    EarlyStopping,
    LbfgsConfig,
    ModelSpec,
    Status,
    StochasticConfig,
    freeze_params,
)
from ._interrupt import graceful_interrupt
from ._progress import EpochReport
from ._validation import (
    as_precision,
    can_hold_out,
    check_sparse_columns,
    encode_targets,
    fit_weights,
    make_rng,
)


def _quiet_finite_check():
    """Silence NumPy's overflow warnings while scikit-learn checks that X is finite.

    Its fast path sums X first, which overflows for large finite float32
    values, before it checks them one by one.
    """
    return np.errstate(over="ignore", invalid="ignore")


def _per_sample_terms(spec):
    """How many cross-entropies a row's loss averages: one per logit for the sigmoid, else one.

    ``tol`` and ``alpha="auto"`` are stated for their sum, the loss of
    LogisticRegression's one-vs-rest problems taken together.
    """
    return spec.layer_sizes[-1] if spec.loss == "sigmoid" else 1


# The "auto" values of the settings whose best value differs between a linear model and a
# network (hidden layers): (linear, network). Measured by benchmarks/quality.py, the linear
# ones in issue 14, the network ones in issue 24 (README, "The defaults, and why").
_AUTO = {
    "learning_rate": (0.1, 0.003),  # a network's softmax output: SOFTMAX_NETWORK_RATE
    "early_stopping": (False, True),  # a network's only with 10 held-out rows or more
    "n_iter_no_change": (10, 20),
    "average_weights": (False, True),  # early stopping on the weights' moving average
    # over the cross-entropies a row's loss averages (_per_sample_terms); a network's is
    # further divided by its number of logits to the power NETWORK_ALPHA_POWER (see _alpha)
    "alpha": (1.0, 3.0),
}


# 3 / n_outputs**(2/3): 3 for one logit (breast cancer 1.0499 times MLPClassifier's CV log loss
# at 2.5, 1.039 at 3), the same as 2.5 / sqrt(3) for 3 (wine's softmax 1.09x at 2.5)
NETWORK_ALPHA_POWER = 2 / 3

# a network's "auto" learning rate with the softmax loss over 3 classes or more: at 0.003 its
# validation score stops it past its best on small noisy sets (10class_500_noisy 1.051 times
# MLPClassifier's CV log loss, 1.038 at 0.002), see _learning_rate
SOFTMAX_NETWORK_RATE = 0.002

# "auto" early stopping holds out at least this many rows (validation_fraction * n): a
# validation score over fewer is noise (5 rows stopped a class-weighted network early)
AUTO_EARLY_STOPPING_MIN_ROWS = 10


def _model_attributes(coefs, intercepts, classes, multilabel, loss):
    """The fitted attributes that prediction reads, for weights ``coefs`` and ``intercepts``."""
    model = {
        "classes_": classes, "coefs_": coefs, "intercepts_": intercepts,
        "n_layers_": len(coefs) + 1, "n_outputs_": coefs[-1].shape[1],
        "out_activation_": "softmax" if loss == "softmax" else "logistic",
        "_multilabel": multilabel,
    }
    if len(coefs) == 1:
        model.update(coef_=coefs[0].T, intercept_=intercepts[0])
    return model


class _FitInputs(NamedTuple):
    """What a fit trains from, once its data and parameters are checked."""

    data: tuple  # (X, Y, weights) in the training dtype; Y the 0/1 label matrix
    y: object  # y as validated (what the callbacks' scores compare against)
    classes: object
    multilabel: bool
    continuing: bool  # warm_start or partial_fit from the fitted weights
    spec: ModelSpec
    coefs: list  # the starting weights
    intercepts: list
    seed: int  # the shuffle's
    epoch0: int  # the first epoch's number (a continued fit counts on)
    rng: object  # random_state's generator, after the draws of the weights and the seed
    alpha: float
    optimizer_params: dict
    schedule_params: dict


class LogLossClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Classifier trained by TensorFlow on mean sigmoid cross-entropy (log loss).

    ``fit`` builds a TensorFlow logits model (linear by default; dense hidden
    layers with ``hidden_layer_sizes``), casts the labels to float, and
    minimizes ``tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(...))``
    plus an L2 penalty with a Keras optimizer, or with full-batch L-BFGS.
    Binary targets get one logit; ``K`` classes get ``K`` one-vs-rest logits
    whose sigmoids are normalized to sum to 1 (or, with ``loss="softmax"``, a
    softmax over ``K`` logits); multilabel indicator targets get one logit per
    label.

    The fitted model is plain NumPy arrays: prediction, pickling and
    unpickling never import TensorFlow. Training runs in ``precision``, by
    default X's float dtype (float32 stays float32; anything else becomes
    float64); L-BFGS always runs in float64.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=()
        Width of each hidden layer; ``()`` is a linear (logistic-regression)
        model.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers.
    loss : {"sigmoid", "softmax"}, default="sigmoid"
        ``"sigmoid"``: the mean over the logits of
        ``tf.nn.sigmoid_cross_entropy_with_logits``, one logit per class
        (one-vs-rest), as the seed lesson trains it. ``"softmax"``:
        ``tf.nn.softmax_cross_entropy_with_logits`` over the ``n_classes``
        logits of a multiclass target, the multinomial model of
        LogisticRegression and MLPClassifier. Binary and multilabel targets
        always use the sigmoid (for two classes the two are the same model).
    optimizer : str, default="adam"
        ``"adadelta"``, ``"adafactor"``, ``"adagrad"``, ``"adam"``,
        ``"adamax"``, ``"adamw"``, ``"ftrl"``, ``"lamb"``, ``"lion"``,
        ``"nadam"``, ``"rmsprop"`` or ``"sgd"`` (plain gradient descent,
        momentum with ``optimizer_params``): the Keras optimizer of that name,
        trained on minibatches. ``"lbfgs"``: full-batch L-BFGS-B through
        ``scipy.optimize.minimize`` on the loss and gradient computed by
        TensorFlow in float64; it ignores ``learning_rate``, its schedule,
        ``batch_size``, ``shuffle`` and ``early_stopping``, runs at most
        ``max_iter`` iterations and stops when the largest gradient entry is
        below ``tol``.
    learning_rate : float or "auto", default="auto"
        Initial step size of the optimizer; sweep it from 0.001 to 0.1. The
        default schedule lowers it once the loss stalls (see Notes).
        ``"auto"``: 0.1 for a linear model, 0.003 with hidden layers (0.002
        with ``loss="softmax"`` on 3 classes or more).
    optimizer_params : dict, default=None
        Extra arguments of the optimizer, such as ``{"momentum": 0.9,
        "nesterov": True}`` for ``"sgd"``, ``{"beta_1": 0.8}`` for
        ``"adam"`` or ``{"weight_decay": 1e-4}``; for ``"lbfgs"`` the
        L-BFGS-B options ``maxcor``, ``maxls``, ``ftol`` and ``maxfun``. An
        unknown key raises a ValueError that lists the valid ones. Each new
        combination of values traces a new TensorFlow graph (once per process).
    learning_rate_schedule : {"constant", "invscaling", "exponential", \
            "cosine", "adaptive"}, default="adaptive"
        How the rate changes, once per epoch ``t`` (counted from 0 since the
        optimizer was created): ``"constant"``; ``"invscaling"``:
        ``learning_rate / (t + 1) ** power_t``; ``"exponential"`` and
        ``"cosine"``: Keras' ``ExponentialDecay`` and ``CosineDecay``
        schedules evaluated at ``t``; ``"adaptive"``: as in MLPClassifier,
        constant until the loss (or validation score) stalls for more than
        ``n_iter_no_change`` epochs, then multiplied by ``factor``; training
        stops when the rate is already below ``min_learning_rate``.
    schedule_params : dict, default=None
        Parameters of the schedule, over these defaults: invscaling
        ``{"power_t": 0.5}``; exponential ``{"decay_steps": 10,
        "decay_rate": 0.5, "staircase": False}``; cosine
        ``{"decay_steps": max_iter, "alpha": 0.0}`` (and Keras' warmup
        arguments); adaptive ``{"factor": 0.2, "min_learning_rate": 1e-4}``.
    batch_size : int or "auto", default="auto"
        Minibatch size. ``"auto"``: all ``n`` training rows up to 200 (one
        exact step per epoch); above, ``ceil(n / 4)`` rounded up to one of 8
        sizes per octave (at most 1/8 more; XLA compiles one program per
        batch size) and at most 200: four steps per epoch at least.
    max_iter : int, default=1000
        Maximum number of epochs (L-BFGS: iterations).
    tol : float, default=1e-5
        Minimum improvement of the epoch loss (or of the validation score,
        with early stopping) that counts as progress, summed over the logits
        for the sigmoid loss (which averages ``n_outputs_`` cross-entropies
        per row), so that a tolerance means the same for any number of
        classes; for L-BFGS the gradient tolerance.
    n_iter_no_change : int, np.inf or "auto", default="auto"
        Training stops once the loss (or validation score) has not improved
        by ``tol`` for more than this many epochs in a row; ``np.inf`` never
        stops on it (as in MLPClassifier). ``"auto"``: 10 for a linear model,
        20 with hidden layers.
    early_stopping : bool or "auto", default="auto"
        ``"auto"``: False for a linear model, True with hidden layers (a
        network regularized by its validation score; see Notes) when
        ``validation_fraction * n_samples`` is at least 10 rows. True: hold
        out ``validation_fraction`` of the training data and stop when
        its validation score (minus its weighted mean sigmoid cross-entropy,
        like scikit-learn's ``neg_log_loss``) stops improving by ``tol``; the
        weights of the best validation score are restored. The split is stratified by class and
        by sample weight, and copies of a row always fall on the same side,
        so integer sample weights stay equivalent to repeated rows.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    average_weights : bool or "auto", default="auto"
        With early stopping, score (and restore the best of) an exponential
        moving average of the weights over the optimizer's steps, instead of
        the weights themselves: the average smooths the jitter of the last
        steps, which a validation score would otherwise pick the top of. Its
        momentum at step ``t`` is ``min(0.998, (1 + t) / (3 + t))`` (the
        schedule of TensorFlow's ``ExponentialMovingAverage``, there with 10
        for 3), counted from each fit's start. ``"auto"``: True with hidden
        layers, False for a linear model. No effect without early stopping.
    alpha : float or "auto", default="auto"
        L2 penalty on the weights (not the intercepts). ``"auto"``, for a
        linear model, is the penalty of ``LogisticRegression()`` (``C=1``) in
        this objective: ``1 / n_outputs_`` for the sigmoid loss, ``1`` for the
        softmax loss (MLPClassifier's default is ``1e-4``); with hidden layers
        ``3 / n_outputs_ ** (2 / 3)`` times that (see Notes). The objective is
        ``(sum_i w_i l_i + 0.5 * alpha * ||W||^2) / sum_i w_i`` over the
        training set, with ``w_i`` the sample weights (times the class
        weights) and ``l_i`` the mean sigmoid cross-entropy of row ``i``. A
        minibatch of ``b`` of the ``n`` rows estimates it without bias by
        scaling its weighted loss by ``n / b`` (as SGDClassifier does), so a
        sample weight counts against the whole data at any batch size, and
        every optimizer minimizes the same objective as L-BFGS. With
        ``optimizer="lbfgs"``, ``alpha = 1 / C`` gives
        ``LogisticRegression(C=C)``'s objective for binary targets and, with
        ``loss="softmax"``, for multiclass targets (the multinomial model);
        with the sigmoid loss, ``alpha = 1 / (n_classes * C)`` gives that of
        each one-vs-rest ``LogisticRegression(C=C)`` (the loss is the mean
        over the ``n_classes`` logits).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplying ``sample_weight``, as in
        LogisticRegression; ``"balanced"`` gives
        ``n_samples / (n_classes * weighted class count)``. For multilabel
        targets only ``"balanced"``, as ``compute_sample_weight`` defines it
        for multi-output targets (the product over labels of each label's
        balanced 0/1 weight). ``partial_fit`` needs a dict.
    shuffle : bool, default=True
        Shuffle the samples at every epoch.
    precision : {"auto", "float32", "float64"}, default="auto"
        The float type training computes in (the fitted weights' dtype).
        ``"auto"``: X's own, float32 for float32 X and float64 for anything
        else. ``"float32"`` trains a float64 X on a float32 copy: its
        products and exponentials run about twice as fast, to float32's
        rounding (about 1e-7 relative); X with values beyond float32's
        range (about 3.4e38) is refused with a ValueError. L-BFGS always
        trains in float64. Prediction computes in the dtypes of X and the
        weights, whichever is wider.
    warm_start : bool, default=False
        Start ``fit`` from the weights of the previous fit (with a fresh
        optimizer), appending to ``loss_curve_`` and ``n_iter_``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling and the validation split. The
        same int gives bitwise-identical fitted arrays, in any process.
        Global random state (NumPy, Python, TensorFlow) is never used nor
        changed.
    verbose : int, default=0
        At 1 or more, report every epoch: loss, validation score, learning
        rate and elapsed time; a Keras progress bar when standard output is a
        terminal, one line per epoch otherwise.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``arange(n_labels)`` for multilabel targets).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when X has string column names.
    coefs_ : list of ndarray
        Weight matrix of each layer, ``coefs_[i]`` of shape ``(fan_in, fan_out)``.
    intercepts_ : list of ndarray
        Intercept vector of each layer.
    coef_ : ndarray of shape (n_outputs, n_features)
        ``coefs_[0].T``, for a linear model only.
    intercept_ : ndarray of shape (n_outputs,)
        ``intercepts_[0]``, for a linear model only.
    loss_ : float
        Training objective (weighted mean loss, sigmoid or softmax
        cross-entropy, plus the L2 term over the training set) at the
        fitted weights.
    loss_curve_ : ndarray of shape (n_iter_,)
        Mean minibatch loss of each epoch (L-BFGS: objective after each
        iteration).
    learning_rate_curve_ : ndarray of shape (n_iter_,) or None
        Learning rate of each epoch (NaN for the iterations of an L-BFGS fit
        that a warm start continued); None when the last fit used L-BFGS.
    best_loss_ : float or None
        Smallest value in ``loss_curve_``; None with early stopping.
    validation_scores_ : list of float or None
        Validation score after each epoch (minus the weighted mean loss of
        the held-out set, without the L2 term), with early stopping; else None.
    best_validation_score_ : float or None
        Best validation score of the last fit, whose weights were kept; else
        None. With ``warm_start``, each fit keeps the best weights of its own
        epochs, while ``validation_scores_`` spans every fit.
    alpha_ : float
        The L2 penalty of the last fit: ``alpha``, or its ``"auto"`` value.
    n_iter_ : int
        Number of epochs (L-BFGS: iterations) run, over all warm-started
        fits and ``partial_fit`` calls.
    n_outputs_ : int
        Number of logits.
    n_layers_ : int
        Number of layers, input and output included.
    out_activation_ : str
        ``"softmax"`` when the softmax loss was fitted (multiclass targets
        with ``loss="softmax"``), else ``"logistic"``.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : NumPy-trained network classifier.
    sklearn.linear_model.LogisticRegression : Exact solver for the linear model.

    Notes
    -----
    The defaults were chosen by measurement (``benchmarks/quality.py``: 5-fold
    CV log loss in ``make_pipeline(StandardScaler(), ...)`` on the data sets
    scikit-learn ships and on synthetic ones of 150 to 20,000 rows and 2 to 10
    classes, noisy and clean). They fit LogisticRegression's model: they reach
    its CV log loss within 6% on every set. MLPClassifier's defaults (Adam at
    0.001, ``alpha=1e-4``, batches of ``min(200, n)``, 200 epochs, ``tol=1e-4``
    on the epoch loss) stop far from it on small data: one full-batch step
    per epoch for fewer than 200 rows, and a penalty that barely regularizes.
    Here, ``alpha="auto"`` is LogisticRegression's penalty; ``batch_size="auto"``
    gives at least four steps per epoch above 200 rows; Adam starts at 0.1 and the
    ``"adaptive"`` schedule divides the rate by 5 each time the loss stalls
    (a constant rate leaves the weights at the minibatch noise floor, a small
    one moves too slowly along flat directions); ``tol`` is taken on the loss
    summed over the logits, so the sigmoid loss's mean over K classes does
    not stop training K times too early. A network (hidden layers) has its
    own "auto" values, chosen on the same sets plus nonlinear ones
    (``benchmarks/quality.py --hidden``, against ``MLPClassifier``): Adam at
    0.003 (0.002 for a softmax output, which otherwise stops past its best
    on small noisy sets), early stopping with a patience of 20 epochs, and
    ``alpha`` ``3 / n_outputs_ ** (2 / 3)`` times the linear one.
    Overfitting is what decides a network's log loss: a fixed penalty suits
    some sets and not others, while the validation score stops each where it
    starts to overfit; the penalty on top keeps small sets (breast cancer)
    from stopping on a noisy validation score. Early stopping scores a moving
    average of the weights (``average_weights``): Adam's steps at 0.003 jitter
    the weights, and the best score of jittering weights picks lucky ones
    (3class_2000_clean: 1.137 times MLPClassifier's log loss without the
    average, 1.03 with it).

    Ctrl-C during ``fit`` (in the main thread) stops training at the end of
    the current call into TensorFlow (at most 20,000 optimizer steps, or one
    epoch) and keeps the weights learned so far as a usable fitted model,
    with a ConvergenceWarning; a second Ctrl-C aborts the fit and leaves the
    estimator as it was. A process that ignores SIGINT keeps ignoring it
    during ``fit``. An epoch that diverges (a far too large learning
    rate, or X of huge scale: a non-finite loss, weight, L2 norm or optimizer
    slot after its last step) is undone and not counted, training stops with
    the weights and optimizer state of the epoch before (with early stopping,
    the best validation weights of the epochs before), and a
    ConvergenceWarning names the epoch and its learning rate.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer, load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_logloss import LogLossClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = LogLossClassifier(random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.97
    True
    >>> model.predict_proba(X[:2]).round(3)
    array([[1., 0.],
           [1., 0.]])

    Momentum SGD with an inverse-scaling schedule, and early stopping:

    >>> sgd = LogLossClassifier(
    ...     optimizer="sgd", learning_rate=0.1,
    ...     optimizer_params={"momentum": 0.9, "nesterov": True},
    ...     learning_rate_schedule="invscaling", schedule_params={"power_t": 0.25},
    ...     early_stopping=True, random_state=0,
    ... ).fit(X, y)
    >>> sgd.n_iter_ < sgd.max_iter, sgd.best_validation_score_ > -0.2, sgd.score(X, y) > 0.97
    (True, True, True)

    L-BFGS reaches LogisticRegression's solution (``alpha = 1 / C``):

    >>> from sklearn.linear_model import LogisticRegression
    >>> lbfgs = LogLossClassifier(optimizer="lbfgs", alpha=1.0, tol=1e-8).fit(X, y)
    >>> logreg = LogisticRegression(C=1.0, tol=1e-8).fit(X, y)
    >>> bool(abs(lbfgs.coef_ - logreg.coef_).max() < 1e-4)
    True

    A warm start continues from the previous weights:

    >>> import warnings
    >>> warm = LogLossClassifier(max_iter=20, tol=0.0, warm_start=True, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # max_iter is reached on purpose
    ...     warm = warm.fit(X, y).fit(X, y)
    >>> warm.n_iter_
    40

    Balanced class weights, and streaming with ``partial_fit``:

    >>> Xi, yi = load_iris(return_X_y=True)
    >>> LogLossClassifier(class_weight="balanced", random_state=0).fit(Xi, yi).score(Xi, yi) > 0.9
    True
    >>> stream = LogLossClassifier(learning_rate=0.05, random_state=0)
    >>> for epoch in range(100):
    ...     for rows in (slice(0, 75), slice(75, 150)):
    ...         _ = stream.partial_fit(Xi[rows], yi[rows], classes=[0, 1, 2])
    >>> stream.n_iter_, stream.score(Xi, yi) > 0.9
    (200, True)
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_network.ACTIVATIONS))],
        "loss": [StrOptions({"sigmoid", "softmax"})],
        "optimizer": [StrOptions(set(_optimizers.OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "optimizer_params": [dict, None],
        "learning_rate_schedule": [StrOptions(set(_schedules.SCHEDULES))],
        "schedule_params": [dict, None],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf}),
                             StrOptions({"auto"})],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "average_weights": ["boolean", StrOptions({"auto"})],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "shuffle": ["boolean"],
        "precision": [StrOptions({"auto", "float32", "float64"})],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(),
        activation="relu",
        loss="sigmoid",
        optimizer="adam",
        learning_rate="auto",
        optimizer_params=None,
        learning_rate_schedule="adaptive",
        schedule_params=None,
        batch_size="auto",
        max_iter=1000,
        tol=1e-5,
        n_iter_no_change="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        average_weights="auto",
        alpha="auto",
        class_weight=None,
        shuffle=True,
        precision="auto",
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.optimizer_params = optimizer_params
        self.learning_rate_schedule = learning_rate_schedule
        self.schedule_params = schedule_params
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.average_weights = average_weights
        self.alpha = alpha
        self.class_weight = class_weight
        self.shuffle = shuffle
        self.precision = precision
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags

    def __getstate__(self):
        return _persistence.stamp(super().__getstate__())

    def __setstate__(self, state):
        state = _persistence.check(dict(state), type(self).__name__)
        state.setdefault("loss", "sigmoid")  # pickled before the loss parameter existed
        state.setdefault("precision", "auto")  # ... before precision (it trained in X's dtype)
        super().__setstate__(state)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Training starts from fresh weights (or, with ``warm_start=True``, from
        the previous fit's) and runs up to ``max_iter`` epochs with the chosen
        optimizer, or L-BFGS iterations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (ints, strings, bools), or a 0/1 multilabel indicator
            matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; the loss is their weighted mean (see
            ``alpha``). A zero weight equals an absent row exactly for L-BFGS
            and a full batch (the default up to 200 samples), and in
            expectation for minibatches.

        Returns
        -------
        LogLossClassifier
            The fitted estimator (``self``).

        See Also
        --------
        partial_fit : One epoch at a time, for data that arrives in chunks.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sk_logloss import LogLossClassifier
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = LogLossClassifier(random_state=0).fit(X, y)
        >>> clf.n_iter_ < clf.max_iter, clf.score(X, y) > 0.98
        (True, True)
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _incremental_ok(self):
        if self.optimizer == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers; "
                "optimizer='lbfgs' is not one."
            )
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            raise AttributeError(
                "partial_fit is not available with class_weight='balanced', which needs "
                "the whole target; pass a dict computed on it, e.g. dict(zip(classes, "
                "compute_class_weight('balanced', classes=classes, y=y_all)))."
            )
        return True

    @available_if(_incremental_ok)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over (X, y), continuing from the current weights and optimizer state.

        The first call initializes the model as ``fit`` would (same weights
        and shuffling for the same ``random_state``); later calls continue
        the same optimizer, so ``partial_fit`` on the same data ``k`` times
        matches ``fit`` with ``max_iter=k`` and no convergence stop. There is
        no convergence check and no early stopping, so the ``"adaptive"``
        schedule keeps ``learning_rate``. As in MLPClassifier, the L2 term
        counts against the rows of each call: streaming data in ``k`` chunks
        penalizes ``k`` times as much as one fit on all of it (``alpha="auto"``
        included), so pass ``alpha`` divided by ``k`` to match that fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data of this chunk.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 multilabel indicator matrix.
        classes : array-like of shape (n_classes,), default=None
            Every class label of the whole stream. Required on the first
            call for single-label targets; later calls may omit it.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows of this chunk.

        Returns
        -------
        LogLossClassifier
            The updated estimator (``self``).

        See Also
        --------
        fit : Train to convergence on the whole data.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_logloss import LogLossClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogLossClassifier(learning_rate=0.05, random_state=0)
        >>> for epoch in range(50):
        ...     for chunk in np.array_split(np.random.default_rng(0).permutation(150), 3):
        ...         clf = clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        >>> clf.n_iter_, clf.score(X, y) > 0.9
        (150, True)
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    # -- training ---------------------------------------------------------
    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        """Fit or continue; on any error the estimator is left exactly as it was."""
        state = dict(self.__dict__)
        try:
            return self._fit_unguarded(X, y, sample_weight, incremental, classes)
        except BaseException:
            # validate_data sets n_features_in_ (and feature names) before later checks fail;
            # the callbacks' context stays for their teardown
            kept = {k: self.__dict__[k] for k in _callbacks.MANAGEMENT_KEYS if k in self.__dict__}
            self.__dict__.clear()
            self.__dict__.update(state)
            self.__dict__.update(kept)
            raise

    def _fit_unguarded(self, X, y, sample_weight, incremental, classes):
        fit = self._fit_inputs(X, y, sample_weight, incremental, classes)
        X, Y, weights = fit.data
        lbfgs = self.optimizer == "lbfgs"
        early = not (incremental or lbfgs) and self._early_stopping(
            X.shape[0], lambda: (X, Y, weights, fit.multilabel))
        tasks, on_epoch = self._epoch_hooks(
            1 if incremental else self.max_iter, fit.epoch0, (X, fit.y, sample_weight),
            (fit.classes, fit.multilabel, fit.spec.loss, fit.continuing, early))
        with graceful_interrupt() as stop:
            result, optimizer_epochs = self._train(fit, incremental, stop, on_epoch, early)
        self._set_fitted(result, fit.classes, fit.multilabel, fit.continuing, fit.seed, lbfgs,
                         fit.spec.loss, early)
        self.alpha_ = fit.alpha
        self._optimizer_epochs = optimizer_epochs
        self._warn(result, incremental, lbfgs)
        if tasks is not None:
            tasks.close()
        return self

    def _fit_inputs(self, X, y, sample_weight, incremental, classes):
        """The checked data (in the training dtype), targets and starting point of a fit."""
        if incremental and hasattr(self, "coefs_"):
            # _fit_context skips this for partial_fit on a fitted estimator; a
            # parameter set since (a negative learning_rate, say) must not pass
            self._validate_params()
        hidden = self._hidden_sizes()
        continuing = (incremental or self.warm_start) and hasattr(self, "coefs_")
        with _quiet_finite_check():
            X, y = validate_data(
                self, X, y, reset=not continuing, multi_output=True, accept_sparse="csr",
                dtype=(np.float64, np.float32), y_numeric=False,
            )
        X = check_sparse_columns(X)
        if continuing:
            classes = self._continued_classes(classes, incremental)
        elif incremental and classes is None and getattr(y, "ndim", 1) == 1:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: every class "
                "label the stream will contain, e.g. classes=np.unique(y_all)."
            )
        classes, Y, multilabel = encode_targets(y, classes)
        if continuing and multilabel != self._multilabel:
            raise ValueError(
                "y switches between multilabel and single-label targets; the model was "
                "fitted on the other kind. Refit without warm_start."
            )
        weights = fit_weights(sample_weight, self.class_weight, X, y, (classes, Y, multilabel),
                              require_two=not incremental)
        optimizer_params = _optimizers.check_params(self.optimizer, self.optimizer_params)
        schedule_params = _schedules.check_params(
            self.learning_rate_schedule, self.schedule_params
        )
        dtype = self._training_dtype(X)
        X, weights = as_precision(X, dtype), as_precision(weights, dtype, "sample_weight")
        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        rng = make_rng(self.random_state)
        coefs, intercepts, seed, epoch0 = self._starting_point(layer_sizes, dtype, rng,
                                                               continuing)
        spec = ModelSpec(layer_sizes, self.activation, self.optimizer,
                         freeze_params(optimizer_params), dtype.name, sparse=issparse(X),
                         loss=self._training_loss(Y, multilabel))
        return _FitInputs((X, Y, weights), y, classes, multilabel, continuing, spec, coefs,
                          intercepts, seed, epoch0, rng, self._alpha(spec), optimizer_params,
                          schedule_params)

    def _training_loss(self, Y, multilabel):
        """The loss a fit on the 0/1 label matrix ``Y`` minimizes: the softmax only for
        ``loss="softmax"`` over two logits or more of single-label targets (a binary or
        multilabel model is the sigmoid's)."""
        return "softmax" if self.loss == "softmax" and Y.shape[1] > 1 and not multilabel else (
            "sigmoid")

    def _starting_point(self, layer_sizes, dtype, rng, continuing):
        """``(coefs, intercepts, shuffle seed, first epoch)``: the fitted ones where a fit
        continues (warm_start, partial_fit), else new weights and a seed drawn from ``rng``."""
        if continuing:
            self._check_continued_shape(layer_sizes)
            coefs = [c.astype(dtype) for c in self.coefs_]
            intercepts = [b.astype(dtype) for b in self.intercepts_]
            return coefs, intercepts, self._shuffle_seed, self.n_iter_
        coefs, intercepts = _network.init_weights(layer_sizes, self.activation, rng, dtype)
        return coefs, intercepts, int(rng.integers(0, 2**64, dtype=np.uint64)), 0

    def _train(self, fit, incremental, stop, on_epoch, early):
        """Run the engine on ``fit`` (:class:`_FitInputs`): the result, and the optimizer's
        epoch count after it (the schedules' clock; L-BFGS has none)."""
        if self.optimizer == "lbfgs":
            from ._engine.lbfgs import train_lbfgs  # TensorFlow loads on the first fit only

            result = train_lbfgs(LbfgsConfig(
                fit.spec, fit.coefs, fit.intercepts, fit.data, alpha=fit.alpha,
                max_iter=self.max_iter, tol=self.tol, options=fit.optimizer_params, stop=stop,
                on_epoch=on_epoch,
            ))
            return result, 0
        from ._engine.loop import train_stochastic  # likewise

        config, first = self._stochastic_config(fit, incremental, stop, on_epoch, early)
        result = train_stochastic(config)
        return result, first + len(result.loss_curve)

    def _epoch_hooks(self, n_epochs, epoch0, data, model):
        """``(tasks, on_epoch)``: the callbacks' :class:`~._callbacks.FitTasks` (None without
        callbacks) and the engine's epoch hook, which also drives ``verbose``'s report;
        ``data`` is the fit's ``(X, y, sample_weight)``, ``model`` the arguments of
        :meth:`_epoch_attributes`."""
        tasks = None
        if _callbacks.has_callbacks(self):
            tasks = _callbacks.FitTasks(self, n_epochs, *data, self._epoch_attributes(*model))
        on_epoch = _callbacks.chain(EpochReport(n_epochs, epoch0) if self.verbose else None,
                                    tasks and tasks.on_epoch)
        return tasks, on_epoch

    def _epoch_attributes(self, classes, multilabel, loss, continuing, early):
        """For callbacks: ``(coefs, intercepts, losses, scores) -> fitted attributes`` of the
        model with those weights after this fit's epochs so far (see ``_set_fitted``)."""
        old_curve = self.loss_curve_ if continuing else np.empty(0)
        old_scores = list(self.validation_scores_ or []) if continuing and early else []

        def attributes(coefs, intercepts, losses, scores):
            curve = np.concatenate([old_curve, losses])
            return {
                **_model_attributes(coefs, intercepts, classes, multilabel, loss),
                "loss_curve_": curve, "n_iter_": len(curve),
                "validation_scores_": old_scores + list(scores) if early else None,
            }

        return attributes

    def _stochastic_config(self, fit, incremental, stop, on_epoch, early):
        """The engine's config for the whole fit (:class:`_FitInputs`), or one partial_fit
        epoch; and its first epoch.

        Epochs are counted from the optimizer's creation (a partial_fit stream
        continues its count), which the schedules read.
        """
        spec, state, lr_scale, first = fit.spec, None, 1.0, 0
        if incremental and fit.continuing and getattr(self, "_optimizer_state", None) is not None:
            state, lr_scale, first = self._optimizer_state, self._lr_scale, self._optimizer_epochs
        epochs = np.array([first]) if incremental else np.arange(self.max_iter)
        rates = _schedules.rates(
            self.learning_rate_schedule, fit.schedule_params, self._learning_rate(spec.loss),
            epochs, self.max_iter,
        )
        adaptive = None
        if self.learning_rate_schedule == "adaptive":
            adaptive = Adaptive(fit.schedule_params["factor"],
                                fit.schedule_params["min_learning_rate"])
        stopping = None
        if early:  # its split key follows the shuffle seed
            key = int(fit.rng.integers(0, 2**64, dtype=np.uint64))
            stopping = EarlyStopping(self.validation_fraction, key, fit.multilabel,
                                     average=bool(self._setting("average_weights")))
        config = StochasticConfig(
            spec, fit.coefs, fit.intercepts, fit.data, rates=rates, alpha=fit.alpha,
            batch_size=None if self.batch_size == "auto" else self.batch_size,
            tol=self.tol / _per_sample_terms(spec),
            n_iter_no_change=self._patience(),
            check_convergence=not incremental, shuffle=self.shuffle, seed=fit.seed,
            epoch0=fit.epoch0, adaptive=adaptive, early_stopping=stopping, optimizer_state=state,
            lr_scale=lr_scale, on_epoch=on_epoch, stop=stop,
        )
        return config, int(epochs[0])

    def _continued_classes(self, classes, incremental):
        if classes is not None and incremental:
            given = np.unique(np.asarray(classes))
            if not np.array_equal(given, self.classes_):
                raise ValueError(
                    f"classes={given.tolist()!r} differs from the classes of the first "
                    f"partial_fit call, {self.classes_.tolist()!r}; pass the same classes "
                    f"or refit."
                )
        return None if self._multilabel else self.classes_

    def _check_continued_shape(self, layer_sizes):
        fitted = (self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_))
        if fitted != tuple(layer_sizes):
            raise ValueError(
                f"warm_start / partial_fit needs the same layer sizes as the fitted model: "
                f"it has {fitted}, this fit needs {tuple(layer_sizes)}. Refit with "
                f"warm_start=False."
            )

    def _alpha(self, spec):
        """The L2 penalty used: ``alpha``, or its "auto" value (see the class docstring)."""
        if self.alpha == "auto":
            if len(spec.layer_sizes) == 2:  # linear: LogisticRegression(C=1)'s penalty
                return _AUTO["alpha"][0] / _per_sample_terms(spec)
            outputs = spec.layer_sizes[-1]
            return _AUTO["alpha"][1] / (outputs**NETWORK_ALPHA_POWER * _per_sample_terms(spec))
        return float(self.alpha)

    def _learning_rate(self, loss):
        """The initial learning rate of a fit on ``loss`` (the engine's: "softmax" only for 3
        classes or more): ``learning_rate``, or its "auto" value (see the class docstring)."""
        if self.learning_rate == "auto" and loss == "softmax" and self._hidden_sizes():
            return SOFTMAX_NETWORK_RATE
        return self._setting("learning_rate")

    def _training_dtype(self, X):
        """The dtype a fit on (validated) ``X`` trains in: ``precision``, "auto" being X's
        own; L-BFGS always float64."""
        if self.optimizer == "lbfgs":
            return np.dtype(np.float64)
        return X.dtype if self.precision == "auto" else np.dtype(self.precision)

    def _patience(self):
        """``n_iter_no_change`` as the engine takes it: "auto" resolved for this
        architecture, ``np.inf`` as the largest int32."""
        return int(min(self._setting("n_iter_no_change"), np.iinfo(np.int32).max))

    def _early_stopping(self, n_samples, data):
        """Whether a fit on ``n_samples`` rows stops early: ``early_stopping``, or for "auto"
        a network's, given enough rows to hold out and a class to split; ``data()`` gives
        the fit's ``(X, Y, weights, multilabel)``, asked only for that last check."""
        if not (isinstance(self.early_stopping, str) and self.early_stopping == "auto"):
            return bool(self.early_stopping)
        if not self._setting("early_stopping") or (
                self.validation_fraction * n_samples < AUTO_EARLY_STOPPING_MIN_ROWS):
            return False
        return can_hold_out(*data(), self.validation_fraction)

    def _setting(self, name):
        """Parameter ``name``'s value for a fit: as given, or its "auto" value for this
        architecture (linear or network)."""
        value = getattr(self, name)
        if isinstance(value, str) and value == "auto":
            return _AUTO[name][len(self._hidden_sizes()) > 0]
        return value

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(s) for s in sizes)

    def _set_fitted(self, result, classes, multilabel, continuing, seed, lbfgs, loss, early):
        """Store a run's outcome; ``early``: whether it stopped early (on a validation split)."""
        if continuing:
            curve = np.concatenate([self.loss_curve_, result.loss_curve])
            old_rates = self.learning_rate_curve_
            old_scores = self.validation_scores_ if early else None
        else:
            curve, old_rates, old_scores = result.loss_curve, None, None
        self.__dict__.update(_model_attributes(result.coefs, result.intercepts, classes,
                                               multilabel, loss))
        if len(result.coefs) > 1:
            for name in ("coef_", "intercept_"):
                self.__dict__.pop(name, None)
        self.loss_ = result.loss
        self.loss_curve_ = curve
        self.n_iter_ = len(curve)
        if lbfgs:
            self.learning_rate_curve_ = None
        elif continuing:  # an L-BFGS fit before this one has no learning rates
            if old_rates is None:
                old_rates = np.full(len(curve) - len(result.loss_curve), np.nan)
            self.learning_rate_curve_ = np.concatenate([old_rates, result.learning_rates])
        else:
            self.learning_rate_curve_ = result.learning_rates
        if early:
            scores = list(old_scores or []) + result.validation_scores.tolist()
            self.validation_scores_ = scores
            this_fit = result.validation_scores
            self.best_validation_score_ = float(this_fit.max()) if this_fit.size else None
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = float(curve.min()) if curve.size else float(result.loss)
        self._shuffle_seed = seed
        self._optimizer_state = result.optimizer_state
        self._lr_scale = result.lr_scale

    def _warn(self, result, incremental, lbfgs):
        """The ConvergenceWarning, if any, of a fit that ended with ``result``."""
        rate_given = self._learning_rate(self._fitted_loss())  # "auto" resolved
        if result.status == Status.DIVERGED:
            warnings.warn(self._divergence_message(result, lbfgs, rate_given),
                          ConvergenceWarning)
        elif result.status == Status.INTERRUPTED:
            warnings.warn(
                f"Training was interrupted (Ctrl-C) after {self.n_iter_} epochs; the "
                f"model keeps the weights learned so far and is usable, but did not "
                f"converge.",
                ConvergenceWarning,
            )
        elif result.status == Status.MAX_ITER and lbfgs:
            warnings.warn(
                f"L-BFGS stopped after max_iter={self.max_iter} iterations before the "
                f"gradient fell below tol={self.tol} ({result.message}); raise max_iter "
                f"or tol.",
                ConvergenceWarning,
            )
        elif result.status == Status.MAX_FUN:
            maxfun = _optimizers.lbfgs_options(self.optimizer_params or {})["maxfun"]
            warnings.warn(
                f"L-BFGS stopped after maxfun={maxfun} loss evaluations, at iteration "
                f"{len(result.loss_curve)} of max_iter={self.max_iter}, before the gradient "
                f"fell below tol={self.tol} ({result.message}); raise "
                f"optimizer_params['maxfun'] or tol.",
                ConvergenceWarning,
            )
        elif (
            result.status == Status.CONVERGED and not lbfgs
            and result.loss_curve.size > 1 and result.loss_curve[-1] > result.loss_curve[0]
        ):
            warnings.warn(
                f"Training stopped because the loss no longer improved, but it ended higher "
                f"than it started (epoch loss {result.loss_curve[0]:.6g} first, "
                f"{result.loss_curve[-1]:.6g} last): learning_rate="
                f"{rate_given} is probably too large. Lower learning_rate.",
                ConvergenceWarning,
            )
        elif result.status == Status.RUNNING and not incremental:
            warnings.warn(
                f"Reached max_iter={self.max_iter} epochs before the loss converged "
                f"(tol={self.tol}, n_iter_no_change={self._setting('n_iter_no_change')}); "
                f"raise max_iter or learning_rate.",
                ConvergenceWarning,
            )

    def _divergence_message(self, result, lbfgs, rate_given):
        """Where a diverged fit stopped, at what rate, and which weights it kept."""
        step = "iteration" if lbfgs else "epoch"
        at = self.n_iter_ + 1
        kept = f"those of {step} {at - 1}" if at > 1 and not lbfgs else (
            "the best finite ones L-BFGS evaluated" if lbfgs else "the initial weights"
        )
        scores = np.asarray(result.validation_scores)  # this fit's epochs
        if not lbfgs and np.isfinite(scores).any():  # early stopping restored its best
            best = np.argmax(np.where(np.isfinite(scores), scores, -np.inf))
            kept = f"the best validation weights, of {step} {at - scores.size + best}"
        rate = "" if lbfgs else (
            f" at learning rate {result.diverged_rate:.6g} (learning_rate="
            f"{rate_given}, schedule {self.learning_rate_schedule!r})"
        )
        return (
            f"Training diverged at {step} {at}{rate}: the loss, the weights or the "
            f"optimizer's state overflowed to a non-finite value. Training stopped; "
            f"that {step} was undone and the weights kept are {kept}. Lower "
            f"learning_rate, or standardize X (StandardScaler) if its values are large."
        )

    def _fitted_loss(self):
        """The loss the fitted model was trained on, which its probabilities follow."""
        return "softmax" if self.out_activation_ == "softmax" else "sigmoid"

    def _logits(self, X):
        check_is_fitted(self)
        with _quiet_finite_check():
            X = validate_data(
                self, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32)
            )
        return _network.forward(X, self.coefs_, self.intercepts_, self.activation)

    def decision_function(self, X):
        """Compute the logits of the model.

        The model's output before the sigmoid: positive where the positive
        class (or a label) is more likely than not.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The positive-class logit for binary targets, else one logit per
            class or label.

        See Also
        --------
        predict_proba : The probabilities these logits give.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_logloss import LogLossClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogLossClassifier(learning_rate=0.05, random_state=0).fit(X, y)
        >>> clf.decision_function(X[:2]).shape
        (2, 3)
        """
        z = self._logits(X)
        return z[:, 0] if z.shape[1] == 1 and not self._multilabel else z

    def predict_proba(self, X):
        """Estimate the probability of each class (or label).

        One logit gives ``[1 - sigmoid(z), sigmoid(z)]``; several one-vs-rest
        logits give their sigmoids normalized to sum to 1; multilabel logits
        give one sigmoid per label.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_``, rows summing to
            1; for multilabel targets, each label's probability.

        See Also
        --------
        predict_log_proba : Their logarithm, without underflow.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_logloss import LogLossClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogLossClassifier(learning_rate=0.05, random_state=0).fit(X, y)
        >>> proba = clf.predict_proba(X[[0, 60, 120]])
        >>> proba.argmax(axis=1), np.allclose(proba.sum(axis=1), 1)
        (array([0, 1, 2]), True)
        """
        return _network.proba(self._logits(X), self._multilabel, self._fitted_loss())

    def predict_log_proba(self, X):
        """Compute the logarithm of the probability estimates, without underflow.

        Computed in log space from the logits, so a probability too small for
        a float still has a finite logarithm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log of :meth:`predict_proba`.

        See Also
        --------
        predict_proba : The probabilities themselves.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_logloss import LogLossClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogLossClassifier(learning_rate=0.05, random_state=0).fit(X, y)
        >>> bool(np.isfinite(clf.predict_log_proba(X * 1000)).all())
        True
        """
        return _network.log_proba(self._logits(X), self._multilabel, self._fitted_loss())

    def predict(self, X):
        """Predict class labels (an indicator matrix for multilabel targets).

        The class of the largest logit; for one logit, the positive class
        where it is positive; for multilabel targets, every positive logit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.

        See Also
        --------
        predict_proba : The probability of each class.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_logloss import LogLossClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogLossClassifier(learning_rate=0.05, random_state=0).fit(X, y)
        >>> clf.predict(X[[0, 60, 120]])
        array([0, 1, 2])
        """
        z = self._logits(X)
        if self._multilabel:
            return (z > 0).astype(int)
        if z.shape[1] == 1:
            return self.classes_[(z[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]

    def to_keras(self):
        """Build an equivalent Keras model, for serving with TensorFlow (SavedModel, TF Serving).

        The model maps rows of X (dense, in the training dtype) to the
        probabilities of :meth:`predict_proba`, built from standard Keras
        layers only: ``model.export(path)`` writes a SavedModel for TF
        Serving, and ``model.save("model.keras")`` a Keras file that loads
        without custom objects. TensorFlow is imported here, not before.

        Returns
        -------
        keras.Model
            Inputs of shape ``(None, n_features_in_)``; outputs of shape
            ``(None, n_classes)`` (binary and multiclass, rows summing to 1) or
            ``(None, n_labels)`` (multilabel).

        See Also
        --------
        predict_proba : The probabilities the Keras model reproduces.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from sk_logloss import LogLossClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogLossClassifier(learning_rate=0.05, random_state=0).fit(X, y)
        >>> model = clf.to_keras()
        >>> proba = np.asarray(model(X[:5]))
        >>> bool(np.abs(proba - clf.predict_proba(X[:5])).max() < 1e-6)
        True
        """
        check_is_fitted(self)
        from ._export import keras_model

        return keras_model(
            self.coefs_, self.intercepts_, self.activation, self._multilabel,
            self.coefs_[0].dtype.name, self._fitted_loss(),
        )
