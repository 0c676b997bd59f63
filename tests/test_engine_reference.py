"""The engine package trains to the same bits as the single-module engine it replaced."""

from unittest import mock

import numpy as np
import pytest
import reference_fits

from sk_logloss._engine import loop

SAVED = np.load(reference_fits.PATH)

pytestmark = pytest.mark.skipif(
    str(SAVED["versions"]) != reference_fits.versions(),
    reason=f"arrays saved with {SAVED['versions']}; bits differ across these libraries",
)


@pytest.mark.parametrize("name", list(reference_fits.CONFIGS))
def test_fitted_arrays_equal_the_saved_ones_bit_for_bit(name):
    fitted = reference_fits.arrays(reference_fits.fit(name, reference_fits.force_stream))
    saved = {key.split("/", 1)[1]: SAVED[key] for key in SAVED.files if key.startswith(name + "/")}
    assert fitted.keys() == saved.keys()
    for key, value in saved.items():
        np.testing.assert_array_equal(fitted[key], value, err_msg=f"{name}: {key}")


def test_the_stream_configuration_really_streams():
    calls = []
    original = loop.streaming.run

    def spy(*args, **kwargs):
        calls.append(True)
        return original(*args, **kwargs)

    with mock.patch.object(loop.streaming, "run", spy):
        reference_fits.fit("stream", reference_fits.force_stream)
        assert calls
        calls.clear()
        reference_fits.fit("dense", reference_fits.force_stream)
        assert not calls
