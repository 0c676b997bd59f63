"""XLA's CPU code generator for our compilations: its classic emitters, chosen before the first.

TensorFlow 2.21's XLA emits a CPU program's fusions through MLIR by default; its classic
(LLVM IR) emitters compile the same programs faster on this project's machines (a breast
cancer sweep's one compilation about 0.3 s less, digits' and 20,000 x 100's about 1 s) and
run them about as fast. XLA reads ``XLA_FLAGS`` once, at the process's first compilation,
and the two emitters round a few sums differently (fits differ in the last bits), so the
choice is made before it and checked where TensorFlow was imported first.
"""

import os
import sys
import warnings

FLAG = "xla_cpu_use_fusion_emitters"
# The TensorFlow releases tested with the flag: XLA aborts the process on a flag it does
# not know (2.16 has none), so other releases keep their own default.
TESTED = {(2, 21)}


def _release(version):
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def choose(tf_already_imported, tf):
    """Ask XLA for its classic emitters, unless the user's ``XLA_FLAGS`` names them.

    Called right after TensorFlow loads. Where TensorFlow was imported before (by the
    user), XLA may have compiled already, so :func:`in_effect` checks that the request
    was read, and a warning says if it was not.
    """
    if _release(tf.__version__) not in TESTED:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if FLAG in flags:  # the user's own choice
        return
    os.environ["XLA_FLAGS"] = f"{flags} --{FLAG}=false".strip()
    if tf_already_imported and not in_effect(tf):
        warnings.warn(
            "XLA compiled a program in this process before sk_logloss loaded TensorFlow, "
            "so sk_logloss's compilations use XLA's default CPU emitters: fits are correct "
            "but may differ in their last bits from the same fit in a fresh process. Set "
            f"XLA_FLAGS=--{FLAG}=false before the process's first XLA compilation to get "
            "the bits of a fresh process.",
            UserWarning,
            stacklevel=2,
        )


def in_effect(tf):
    """Whether this process's XLA compiles with the classic emitters.

    The default emitters wrap an operation that no fusion takes in a fusion of its own;
    the classic ones leave it bare. Reads the optimized program of a two-element function
    (its passes only: no code generated).
    """

    def shared_exp(x):
        y = tf.exp(x)
        return y * x, y + x

    probe = tf.function(shared_exp, jit_compile=True, autograph=False)
    spec = tf.TensorSpec([2], tf.float64)
    hlo = probe.experimental_get_compiler_ir(spec)(stage="optimized_hlo")
    return "wrapped_exponential" not in hlo


def loaded_before():
    """Whether TensorFlow was imported before sk_logloss loaded it."""
    return "tensorflow" in sys.modules
