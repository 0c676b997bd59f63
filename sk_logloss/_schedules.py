"""Registry of learning-rate schedules: the rate of each epoch, from Keras' schedules or MLP's rules."""

import inspect

import numpy as np

from . import _backend

# Name -> default parameters. The rate is set once per epoch (as Keras'
# LearningRateScheduler callback does), from the epoch count since the
# optimizer was created; ``learning_rate`` is the initial rate.
SCHEDULES = {
    # the same rate every epoch
    "constant": {},
    # MLPClassifier/SGDClassifier's inverse scaling: learning_rate / (epoch + 1) ** power_t
    "invscaling": {"power_t": 0.5},
    # keras.optimizers.schedules.ExponentialDecay: learning_rate * decay_rate ** (epoch / decay_steps)
    "exponential": {"decay_steps": 10, "decay_rate": 0.5, "staircase": False},
    # keras.optimizers.schedules.CosineDecay over decay_steps epochs (max_iter when None)
    "cosine": {"decay_steps": None, "alpha": 0.0},
    # MLPClassifier's "adaptive": constant until the loss (or validation score) stalls
    # for more than n_iter_no_change epochs, then multiplied by factor; a stall stops
    # training once the rate is already at or below min_learning_rate (rules.end_epoch).
    # MLPClassifier stops at 1e-6, 1000 times under its 0.001; 1e-4 is 1000 times under
    # our 0.1, and the decays below it changed no CV log loss of benchmarks/quality.py
    # while they took a quarter of a search's epochs.
    "adaptive": {"factor": 0.2, "min_learning_rate": 1e-4},
}

_KERAS = {"exponential": "ExponentialDecay", "cosine": "CosineDecay"}


def _keras_class(name):
    keras = _backend.keras()

    return getattr(keras.optimizers.schedules, _KERAS[name])


def check_params(name, params):
    """Validate ``schedule_params`` for schedule ``name``; return the full parameter dict."""
    params = dict(params or {})
    valid = set(SCHEDULES[name])
    if name in _KERAS:
        signature = inspect.signature(_keras_class(name).__init__).parameters
        valid |= set(signature) - {"self", "initial_learning_rate", "name"}
    for key in params:
        if key not in valid:
            raise ValueError(
                f"schedule_params key {key!r} is not a parameter of "
                f"learning_rate_schedule={name!r}; valid keys: {sorted(valid) or 'none'}."
            )
    full = {**SCHEDULES[name], **params}
    if name == "adaptive" and not 0 < full["factor"] < 1:
        raise ValueError(
            f"schedule_params['factor'] must be in (0, 1) for the adaptive schedule, "
            f"got {full['factor']!r}."
        )
    return full


def rates(name, params, learning_rate, epochs, max_iter):
    """Learning rate of each epoch in ``epochs`` (an int array), as float64."""
    epochs = np.asarray(epochs, dtype=np.int64)
    if name in ("constant", "adaptive"):
        return np.full(epochs.shape, float(learning_rate))
    if name == "invscaling":
        return learning_rate / (epochs + 1.0) ** params["power_t"]
    kwargs = dict(params)
    if name == "cosine" and kwargs["decay_steps"] is None:
        kwargs["decay_steps"] = max_iter
    try:
        schedule = _keras_class(name)(initial_learning_rate=float(learning_rate), **kwargs)
        out = np.asarray(schedule(epochs), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"learning_rate_schedule={name!r} rejected schedule_params={params!r}: {exc}"
        ) from exc
    return np.broadcast_to(out, epochs.shape).copy()
