"""The one door to scikit-learn's private API: every private name we use, across supported versions."""

import copy
import functools
import inspect

import numpy as np

# scikit-learn >= 1.6 (the floor in pyproject.toml, tested in CI) has each of
# these; a version that moves or changes one is handled here and nowhere else.
from sklearn.base import _fit_context
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "_fit_context",
    "check_sample_weight",
    "cpu_threads",
    "log_loss_log",
    "scorer_accepts",
    "scorer_with_labels",
]

# scikit-learn 1.8 added a check that refuses all-zero weights with its own
# message; the caller makes that check itself, the same on every version.
_ALL_ZERO_OK = (
    {"allow_all_zero_weights": True}
    if "allow_all_zero_weights" in inspect.signature(_check_sample_weight).parameters
    else {}
)


def log_loss_log(p):
    """``log(p)`` as the installed scikit-learn's ``log_loss`` takes it: with its own
    ``_xlogy`` (NumPy's log) from the version whose ``sklearn.metrics._classification``
    has it, before with SciPy's ``xlogy`` (the C library's log). On a CPU with AVX-512
    the two differ in the last bit for some values (sklearn 1.6.0 on a Xeon: 1 ulp)."""
    return _log_loss_logarithm()(p)


@functools.cache
def _log_loss_logarithm():
    from sklearn.metrics import _classification

    if hasattr(_classification, "_xlogy"):
        return np.log
    from scipy.special import xlogy

    return functools.partial(xlogy, 1.0)


def check_sample_weight(sample_weight, X, dtype):
    """``sample_weight`` as a 1-D array of finite non-negative values (ones for None).

    All-zero weights pass here on every scikit-learn version.
    """
    return _check_sample_weight(
        sample_weight, X, dtype=dtype, ensure_non_negative=True, **_ALL_ZERO_OK
    )


def _metric(scorer):
    """The metric behind a scorer from ``get_scorer`` / ``make_scorer`` (private
    ``_score_func``), or the callable itself."""
    return getattr(scorer, "_score_func", scorer)


def scorer_accepts(scorer, name):
    """Whether ``scorer``'s metric takes the keyword ``name``."""
    params = inspect.signature(_metric(scorer)).parameters
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def scorer_with_labels(scorer, labels):
    """``scorer`` told every class label when its metric takes ``labels`` and has none
    yet (a test fold may lack a class; LogisticRegressionCV does the same); any other
    scorer as it is. The label keyword lives in the private ``_kwargs``."""
    kwargs = getattr(scorer, "_kwargs", None)
    if kwargs is None or "labels" in kwargs or "labels" not in inspect.signature(
            _metric(scorer)).parameters:
        return scorer
    told = copy.copy(scorer)
    told._kwargs = {**kwargs, "labels": labels}
    return told


def cpu_threads():
    """The threads this process should run at once: scikit-learn's own count (the CPUs it
    may use, and no more than ``OMP_NUM_THREADS``, which joblib's loky workers set to
    their share of the machine)."""
    return _openmp_effective_n_threads()
