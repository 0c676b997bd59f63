"""LogLossClassifier: the scikit-learn estimator; its training runs in the TensorFlow engine."""

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _network
from ._optimizers import OPTIMIZERS
from ._validation import check_weights, encode_targets, make_rng


class LogLossClassifier(ClassifierMixin, BaseEstimator):
    """Classifier trained by TensorFlow on mean sigmoid cross-entropy (log loss).

    ``fit`` builds a TensorFlow logits model (linear by default; dense hidden
    layers with ``hidden_layer_sizes``), casts the labels to float, and
    minimizes ``tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(...))``
    plus an L2 penalty with a Keras optimizer. Binary targets get one logit;
    ``K`` classes get ``K`` one-vs-rest logits whose sigmoids are normalized
    to sum to 1; multilabel indicator targets get one logit per label.

    The fitted model is plain NumPy arrays: prediction, pickling and
    unpickling never import TensorFlow. Training runs in X's float dtype
    (float32 stays float32; anything else becomes float64).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=()
        Width of each hidden layer; ``()`` is a linear (logistic-regression)
        model.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers.
    optimizer : {"adam", "sgd"}, default="adam"
        Keras optimizer that minimizes the loss; ``"sgd"`` is plain gradient
        descent.
    learning_rate : float, default=0.01
        Step size of the optimizer; sweep it from 0.001 to 0.1.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default=200
        Maximum number of epochs.
    tol : float, default=1e-4
        Minimum improvement of the epoch loss that counts as progress.
    n_iter_no_change : int, default=10
        Training stops once the epoch loss has not improved by ``tol`` for
        more than this many epochs in a row.
    alpha : float, default=1e-4
        L2 penalty on the weights (not the intercepts): the loss of a batch
        gains ``0.5 * alpha * ||W||^2 / sum(batch sample weights)``, as in
        MLPClassifier.
    shuffle : bool, default=True
        Shuffle the samples at every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization and shuffling. The same int gives
        bitwise-identical fitted arrays, in any process. Global random state
        (NumPy, Python, TensorFlow) is never used nor changed.
    verbose : int, default=0
        Print the loss after every epoch when positive.

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
        Training objective (weighted mean sigmoid cross-entropy plus the L2
        term over the whole training set) at the fitted weights.
    loss_curve_ : ndarray of shape (n_iter_,)
        Mean minibatch loss of each epoch.
    best_loss_ : float
        Smallest value in ``loss_curve_``.
    n_iter_ : int
        Number of epochs run.
    n_outputs_ : int
        Number of logits.
    n_layers_ : int
        Number of layers, input and output included.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : NumPy-trained network classifier.
    sklearn.linear_model.LogisticRegression : Exact solver for the linear model.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_logloss import LogLossClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LogLossClassifier(random_state=0))
    >>> model.fit(X, y).score(X, y) > 0.97
    True
    >>> model[-1].predict_proba(model[0].transform(X[:2])).round(3)
    array([[1., 0.],
           [1., 0.]])
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_network.ACTIVATIONS))],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(),
        activation="relu",
        optimizer="adam",
        learning_rate=0.01,
        batch_size="auto",
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        alpha=1e-4,
        shuffle=True,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.alpha = alpha
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (ints, strings, bools), or a 0/1 multilabel indicator
            matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; the loss is their weighted mean.

        Returns
        -------
        self : LogLossClassifier
            The fitted estimator.
        """
        hidden = self._hidden_sizes()
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32), y_numeric=False
        )
        classes, Y, multilabel = encode_targets(y)
        weights = check_weights(sample_weight, X, Y, multilabel)

        from . import _engine  # TensorFlow loads here, on the first fit only

        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        spec = _engine.ModelSpec(layer_sizes, self.activation, self.optimizer, X.dtype.name)
        rng = make_rng(self.random_state)
        coefs, intercepts = _network.init_weights(layer_sizes, self.activation, rng, X.dtype)
        batch_size = 200 if self.batch_size == "auto" else self.batch_size
        result = _engine.train(
            spec, coefs, intercepts, X, Y, weights,
            learning_rate=self.learning_rate, alpha=self.alpha, batch_size=batch_size,
            max_iter=self.max_iter, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
            shuffle=self.shuffle, seed=int(rng.integers(0, 2**64, dtype=np.uint64)),
            on_epoch=self._print_epoch if self.verbose else None,
        )
        self._set_fitted(result, classes, multilabel)
        if result.status == _engine.DIVERGED:
            warnings.warn(
                f"The training loss became non-finite at epoch {self.n_iter_ + 1} with "
                f"learning_rate={self.learning_rate}; training stopped and the weights of "
                f"the last finite epoch were kept. Lower learning_rate.",
                ConvergenceWarning,
            )
        elif result.status == _engine.RUNNING:
            warnings.warn(
                f"Reached max_iter={self.max_iter} epochs before the loss converged "
                f"(tol={self.tol}, n_iter_no_change={self.n_iter_no_change}); raise "
                f"max_iter or learning_rate.",
                ConvergenceWarning,
            )
        return self

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(s) for s in sizes)

    def _print_epoch(self, epoch, loss):
        print(f"Iteration {epoch}, loss = {loss:.8f}")

    def _set_fitted(self, result, classes, multilabel):
        self.classes_ = classes
        self.coefs_ = result.coefs
        self.intercepts_ = result.intercepts
        self.loss_ = result.loss
        self.loss_curve_ = result.loss_curve
        self.best_loss_ = float(result.loss_curve.min()) if result.loss_curve.size else np.inf
        self.n_iter_ = len(result.loss_curve)
        self.n_layers_ = len(result.coefs) + 1
        self.n_outputs_ = result.coefs[-1].shape[1]
        self.out_activation_ = "logistic"
        self._multilabel = multilabel
        if len(result.coefs) == 1:
            self.coef_ = result.coefs[0].T
            self.intercept_ = result.intercepts[0]
        else:
            for name in ("coef_", "intercept_"):
                self.__dict__.pop(name, None)

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return _network.forward(X, self.coefs_, self.intercepts_, self.activation)

    def decision_function(self, X):
        """Logits of the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The positive-class logit for binary targets, else one logit per
            class or label.
        """
        z = self._logits(X)
        return z[:, 0] if z.shape[1] == 1 and not self._multilabel else z

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_``, rows summing to
            1; for multilabel targets, each label's probability.
        """
        return _network.proba(self._logits(X), self._multilabel)

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates, computed without underflow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log of :meth:`predict_proba`.
        """
        return _network.log_proba(self._logits(X), self._multilabel)

    def predict(self, X):
        """Predict class labels (an indicator matrix for multilabel targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.
        """
        z = self._logits(X)
        if self._multilabel:
            return (z > 0).astype(int)
        if z.shape[1] == 1:
            return self.classes_[(z[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]
