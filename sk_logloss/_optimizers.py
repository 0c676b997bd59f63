"""Registry of optimizer names: the Keras optimizers they build, and L-BFGS options."""

import inspect
import math
from numbers import Real

from . import _backend

# Name accepted by ``LogLossClassifier(optimizer=...)`` -> Keras class name.
# Keras is imported only when an optimizer is built, inside fit.
KERAS_OPTIMIZERS = {
    "adadelta": "Adadelta",
    "adafactor": "Adafactor",
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamax": "Adamax",
    "adamw": "AdamW",
    "ftrl": "Ftrl",
    "lamb": "Lamb",
    "lion": "Lion",
    "nadam": "Nadam",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
}

# Full-batch L-BFGS through scipy.optimize.minimize(method="L-BFGS-B"): its
# options and their defaults (LogisticRegression's, plus MLPClassifier's maxfun).
# ``max_iter`` and ``tol`` (as gtol) come from the estimator's own parameters.
LBFGS_DEFAULTS = {"maxcor": 10, "maxls": 50, "ftol": 64 * 2.220446049250313e-16, "maxfun": 15000}

OPTIMIZERS = (*KERAS_OPTIMIZERS, "lbfgs")

# Keras constructor arguments that the estimator sets itself.
_RESERVED = {"learning_rate": "set learning_rate instead", "name": "it is set by the estimator"}


def _keras_class(name):
    keras = _backend.keras()

    return getattr(keras.optimizers, KERAS_OPTIMIZERS[name])


def _defaults(name):
    """The keys ``optimizer_params`` may hold for optimizer ``name``, with their defaults."""
    if name == "lbfgs":
        return dict(LBFGS_DEFAULTS)
    params = inspect.signature(_keras_class(name).__init__).parameters
    return {
        key: p.default for key, p in params.items()
        if key != "self" and key not in _RESERVED and p.kind is p.POSITIONAL_OR_KEYWORD
    }


def _check_type(name, key, value, default):
    """A value of the kind its default has: a flag, a finite number, or a string."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "True or False"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:  # numbers, and the None defaults of Keras' optional numeric arguments
        ok = (default is None and value is None) or (
            isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
        )
        kind = "a finite number" + (" or None" if default is None else "")
    if not ok:
        raise ValueError(
            f"optimizer_params[{key!r}] must be {kind} for optimizer={name!r}, got {value!r}."
        )


def check_params(name, params):
    """Validate ``optimizer_params`` for ``name``; return them as a new dict.

    A number whose default is a float becomes a float (``momentum=0`` gives
    ``0.0``, as Keras requires). An unknown or reserved key raises a ValueError naming the optimizer and
    its valid keys; a value of the wrong kind (a string for a number, say)
    raises one naming the key.
    """
    params = dict(params or {})
    for key in params:
        if not isinstance(key, str):
            raise TypeError(f"optimizer_params keys must be strings, got {key!r}.")
    valid = _defaults(name)
    for key in params:
        if key in _RESERVED:
            raise ValueError(
                f"optimizer_params may not hold {key!r} ({_RESERVED[key]}); valid keys "
                f"for optimizer={name!r}: {sorted(valid)}."
            )
        if key not in valid:
            raise ValueError(
                f"optimizer_params key {key!r} is not a parameter of optimizer={name!r}; "
                f"valid keys: {sorted(valid)}."
            )
    for key, value in params.items():
        _check_type(name, key, value, valid[key])
        if isinstance(valid[key], float) and not isinstance(value, float):
            params[key] = float(value)  # Keras checks some floats by type: momentum=0 fails
    return params


def lbfgs_options(params):
    """L-BFGS-B options from validated ``optimizer_params``."""
    return {**LBFGS_DEFAULTS, **params}


def build_optimizer(name, params, learning_rate):
    """Return a new Keras optimizer ``name`` with ``params`` at ``learning_rate``.

    Keras' own errors for a bad value are re-raised as ValueError naming the
    optimizer and the parameters.
    """
    try:
        return _keras_class(name)(learning_rate=learning_rate, **params)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"optimizer={name!r} rejected optimizer_params={params!r}: {exc}"
        ) from exc
