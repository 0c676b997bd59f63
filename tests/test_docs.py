"""Every public name has a numpydoc docstring that numpydoc's validator accepts.

The Examples sections themselves run as doctests (``--doctest-modules``).
"""

import inspect

import numpydoc.validate as numpydoc_validate
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

import sk_logloss


def public_names():
    names = [f"sk_logloss.{name}" for name in sk_logloss.__all__ if name != "__version__"]
    inherited = set(dir(BaseEstimator)) | set(dir(ClassifierMixin))
    for name in sk_logloss.__all__:
        obj = getattr(sk_logloss, name)
        if inspect.isclass(obj):
            names += [
                f"sk_logloss.{name}.{attr}" for attr, value in vars(obj).items()
                if (callable(value) or hasattr(value, "fn"))  # fn: an available_if method
                and not attr.startswith("_") and attr not in inherited
            ]
    return names


def test_public_names_are_found():
    names = public_names()
    assert "sk_logloss.LogLossClassifier.fit" in names
    assert "sk_logloss.LogLossClassifier.to_keras" in names
    assert "sk_logloss.LogLossClassifier.partial_fit" in names
    assert len(names) >= 9


# GL01 asks for the summary on the line after the opening quotes; we follow PEP
# 257 (summary on the opening line), which numpydoc 1.11 accepts and 1.8 does not.
IGNORED = {"GL01"}


@pytest.mark.parametrize("name", public_names())
def test_numpydoc_docstring_is_valid(name):
    result = numpydoc_validate.validate(name)
    errors = [(code, msg) for code, msg in result["errors"] if code not in IGNORED]
    assert errors == [], "\n".join(f"{code}: {msg}" for code, msg in errors)
    assert "Examples" in result["docstring"]
