"""scikit-learn classifier trained by TensorFlow on mean sigmoid cross-entropy.

``import sk_logloss`` is light: the estimator module, and scikit-learn with it,
loads on first use of ``sk_logloss.LogLossClassifier`` (lazy loading as in
Scientific Python's SPEC 1); TensorFlow loads in the first fit.
"""

import importlib

from ._persistence import InconsistentVersionWarning
from ._version import __version__

__all__ = ["InconsistentVersionWarning", "LogLossClassifier", "LogLossClassifierCV", "__version__"]

_LAZY = {"LogLossClassifier": "._classifier", "LogLossClassifierCV": "._classifier_cv"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
