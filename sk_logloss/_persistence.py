"""Pickle version stamp: a pickled estimator records the package version; a different one warns."""

import warnings

from ._version import __version__

_KEY = "_sk_logloss_version"


class InconsistentVersionWarning(UserWarning):
    """Warns that an unpickled estimator was pickled by another version of sk_logloss.

    Every pickle (and skops file) of an estimator records the version that
    wrote it; loading it with another version issues this warning, as
    scikit-learn does for its own estimators.

    Parameters
    ----------
    estimator_name : str
        Class name of the unpickled estimator.
    current_version : str
        The installed version of sk_logloss.
    original_version : str
        The version that pickled the estimator.

    See Also
    --------
    sklearn.exceptions.InconsistentVersionWarning : The counterpart for scikit-learn's own estimators.

    Examples
    --------
    >>> import pickle, warnings
    >>> from sk_logloss import InconsistentVersionWarning, LogLossClassifier
    >>> state = LogLossClassifier().__getstate__()
    >>> state["_sk_logloss_version"] = "0.0.1"
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     LogLossClassifier.__new__(LogLossClassifier).__setstate__(state)
    >>> caught[0].category is InconsistentVersionWarning
    True
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        super().__init__(estimator_name, current_version, original_version)
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to unpickle {self.estimator_name} made by sk_logloss "
            f"{self.original_version} with sk_logloss {self.current_version}. This might "
            f"break or give invalid results: refit it with this version, or load it with "
            f"sk_logloss {self.original_version}."
        )


def stamp(state):
    """``state`` with the package version added."""
    return {**state, _KEY: __version__}


def check(state, estimator_name):
    """Remove the version stamp from ``state``; warn if it is not this version's."""
    original = state.pop(_KEY, "unknown (no version stamp)")
    if original != __version__:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name, current_version=__version__,
                original_version=original,
            ),
            stacklevel=3,
        )
    return state
