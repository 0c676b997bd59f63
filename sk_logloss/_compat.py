"""The one door to scikit-learn's private API: every private name we use, across supported versions."""

import inspect

# scikit-learn >= 1.6 (the floor in pyproject.toml, tested in CI) has each of
# these; a version that moves or changes one is handled here and nowhere else.
from sklearn.base import _fit_context
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
]

# scikit-learn 1.8 added a check that refuses all-zero weights with its own
# message; the caller makes that check itself, the same on every version.
_ALL_ZERO_OK = (
    {"allow_all_zero_weights": True}
    if "allow_all_zero_weights" in inspect.signature(_check_sample_weight).parameters
    else {}
)


def check_sample_weight(sample_weight, X, dtype):
    """``sample_weight`` as a 1-D array of finite non-negative values (ones for None).

    All-zero weights pass here on every scikit-learn version.
    """
    return _check_sample_weight(
        sample_weight, X, dtype=dtype, ensure_non_negative=True, **_ALL_ZERO_OK
    )
