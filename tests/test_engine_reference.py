"""The engine trains to the single-module engine's saved bits, or within a tolerance on another platform.

What decides the bits besides the code is recorded with the arrays
(``reference_fits.platform``: library versions, BLAS kernels, the CPU's vector
instructions, oneDNN's cap, cores). Where it all matches, the fits must equal the
saved arrays bit for bit. Anywhere else they must agree within ``ULPS`` units of
the training precision, taken at the scale of each array (its largest magnitude):

- measured platform spread: at most 2.6 ulps (the saving machine, AVX-512,
  against a 2-core AMD EPYC with AVX2) and 4.2 ulps (OpenBLAS' Sandybridge and
  Prescott kernels for SciPy's L-BFGS-B; oneDNN capped at AVX or SSE4.1 for the
  float32 network) after up to 60 epochs: rounding, not drift;
- smallest real change measured: one epoch fewer of a converged adaptive SGD,
  2.9e-8 of the scale in float64 (1.3e8 ulps); one epoch more or fewer, or
  another shuffle, in float32: 1.2e-2 (1e5 ulps).

``ULPS = 4096`` leaves a factor of about 1000 above the platform spread (for
CPUs whose kernels split sums differently still) and of 30 or more below a real
change in either precision: float64 agrees to 9.1e-13 of the scale, float32 to
4.9e-4. The last tests show that a skipped or repeated epoch and a changed
shuffle each fail it.
"""

import functools
import json
import warnings
from dataclasses import replace
from unittest import mock

import numpy as np
import pytest
import reference_fits

from sk_logloss._engine import loop

pytestmark = pytest.mark.bitwise

SAVED = np.load(reference_fits.PATH)
SAVED_PLATFORM = json.loads(str(SAVED["platform"]))
ULPS = 4096


@functools.cache
def platform_differences():
    here = reference_fits.platform()
    return tuple(f"{key}: saved {SAVED_PLATFORM[key]!r}, here {here[key]!r}"
                 for key in SAVED_PLATFORM if here.get(key) != SAVED_PLATFORM[key])


def saved_arrays(name):
    return {key.split("/", 1)[1]: SAVED[key] for key in SAVED.files if key.startswith(name + "/")}


def tolerance(name):
    """``ULPS`` units of the precision configuration ``name`` trains in."""
    dtype = np.float32 if reference_fits.CONFIGS[name][0] == "float32" else np.float64
    return ULPS * np.finfo(dtype).eps


def disagreements(name, fitted):
    """Where ``fitted`` and the saved arrays of ``name`` part by more than the tolerance."""
    saved = saved_arrays(name)
    if fitted.keys() != saved.keys():
        return [f"arrays {sorted(fitted)} against {sorted(saved)}"]
    out = []
    for key, value in saved.items():
        if fitted[key].shape != value.shape:
            out.append(f"{key}: shape {fitted[key].shape} against {value.shape}")
            continue
        gap = np.max(np.abs(fitted[key].astype(np.float64) - value), initial=0.0)
        scale = np.max(np.abs(value), initial=0.0)
        if gap > tolerance(name) * scale:
            out.append(f"{key}: {gap:.3g} apart at scale {scale:.3g}")
    return out


def fit(name, **changes):
    return reference_fits.fit(name, reference_fits.force_stream, SAVED, **changes)


@functools.cache
def fitted_arrays(name):
    return reference_fits.arrays(fit(name))


@pytest.mark.parametrize("name", list(reference_fits.CONFIGS))
def test_fitted_arrays_equal_the_saved_ones_bit_for_bit_on_the_saving_platform(name):
    if platform_differences():
        pytest.skip("another platform than the saved arrays': " + "; ".join(platform_differences()))
    for key, value in saved_arrays(name).items():
        np.testing.assert_array_equal(fitted_arrays(name)[key], value, err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", list(reference_fits.CONFIGS))
def test_fitted_arrays_agree_with_the_saved_ones_on_any_platform(name):
    assert disagreements(name, fitted_arrays(name)) == []


def skipped_epoch(name):
    """The fit stopping one epoch (L-BFGS: one iteration) before the saved one did."""
    return fit(name, max_iter=len(SAVED[f"{name}/loss_curve"]) - 1)


def repeated_epoch(name):
    """The saved fit, then one epoch more with the same optimizer state."""
    model = fit(name)
    X, y = reference_fits.data(reference_fits.CONFIGS[name][0], SAVED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.partial_fit(X, y)


def changed_shuffle(name):
    """The saved fit with the minibatches drawn from another shuffle seed."""
    original = loop.train_stochastic
    with mock.patch.object(loop, "train_stochastic",
                           lambda config: original(replace(config, seed=config.seed ^ 1))):
        return fit(name)


# "adaptive" has converged (its rate decayed): the smallest real change measured.
# Shuffles change only the order of a full batch's sum on iris, so they are
# checked where an epoch has several minibatches.
@pytest.mark.parametrize("change, name", [
    (skipped_epoch, "adaptive"), (skipped_epoch, "lbfgs"), (skipped_epoch, "float32"),
    (skipped_epoch, "early_stopping"), (repeated_epoch, "dense"), (repeated_epoch, "float32"),
    (changed_shuffle, "dense"), (changed_shuffle, "stream"), (changed_shuffle, "float32"),
], ids=lambda value: getattr(value, "__name__", value))
def test_the_tolerance_still_fails_a_real_change(change, name):
    assert disagreements(name, reference_fits.arrays(change(name)))


def test_the_stream_configuration_really_streams():
    calls = []
    original = loop.streaming.run

    def spy(*args, **kwargs):
        calls.append(True)
        return original(*args, **kwargs)

    with mock.patch.object(loop.streaming, "run", spy):
        fit("stream")
        assert calls
        calls.clear()
        fit("dense")
        assert not calls
