"""XLA's classic CPU emitters: chosen before the first compilation, the same bits in any process."""

import functools
import os
import subprocess
import sys
import textwrap

import pytest

from sk_logloss import _xla_emitters

tf = pytest.importorskip("tensorflow")
tested_release = pytest.mark.skipif(
    _xla_emitters._release(tf.__version__) not in _xla_emitters.TESTED,
    reason="TensorFlow releases outside TESTED keep XLA's default emitters",
)

# A fit on XLA's path (12,000 steps) whose bits the two emitters round differently
XLA_FIT = textwrap.dedent(
    """
    import hashlib, os, sys, warnings
    if sys.argv[1] == "tensorflow_first":
        import tensorflow
    if sys.argv[1] == "xla_first":
        import tensorflow as tf
        tf.function(lambda x: x * 2, jit_compile=True)(tf.constant(1.0))
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler
    from sk_logloss import LogLossClassifier
    X, y = make_classification(n_samples=3000, n_features=20, random_state=0)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = LogLossClassifier(learning_rate=0.01, random_state=0).fit(X, y)
    from sk_logloss import _backend, _xla_emitters
    h = hashlib.sha256(m.coefs_[0].tobytes() + m.intercepts_[0].tobytes()).hexdigest()
    print(h, _xla_emitters.in_effect(_backend.tensorflow()), os.environ.get("XLA_FLAGS"),
          [str(w.message)[:40] for w in caught])
    """
)


@functools.cache  # one process per way of starting: both tests ask for the default emitters' bits
def _fit(how, xla_flags=None):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run(
        [sys.executable, "-c", XLA_FIT, how], env=env, capture_output=True, text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    digest, effect, flags, caught = out.stdout.strip().split(" ", 3)
    return digest, effect == "True", flags, caught


@tested_release
@pytest.mark.bitwise
def test_the_classic_emitters_give_one_set_of_bits_however_tensorflow_was_loaded():
    fresh = _fit("fresh")
    assert fresh[1:] == (True, "--xla_cpu_use_fusion_emitters=false", "[]")
    imported_first = _fit("tensorflow_first")
    assert imported_first[:2] == (fresh[0], True) and imported_first[3] == "[]"
    asked = _fit("fresh", "--xla_cpu_use_fusion_emitters=false")
    assert asked[:2] == (fresh[0], True)
    # the user's own choice wins, and gives other bits: the check above can fail
    default = _fit("fresh", "--xla_cpu_use_fusion_emitters=true")
    assert default[1:3] == (False, "--xla_cpu_use_fusion_emitters=true")
    assert default[0] != fresh[0]


@tested_release
def test_a_process_that_compiled_before_loading_gets_a_warning_and_the_default_bits():
    digest, effect, _, caught = _fit("xla_first")
    assert not effect
    assert "XLA compiled a program in this process" in caught
    assert digest == _fit("fresh", "--xla_cpu_use_fusion_emitters=true")[0]


def test_releases_outside_the_tested_ones_keep_xla_flags_untouched(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_hlo_as_text")

    class Release:
        __version__ = "2.16.1"

    _xla_emitters.choose(True, Release)
    assert os.environ["XLA_FLAGS"] == "--xla_dump_hlo_as_text"
