"""Where a plain digits fit's XLA step goes, kernel by kernel (issue 22).

    python benchmarks/plain_step_profile.py    # about 20 s

Fits a default LogLossClassifier (250 epochs, ``tol=0``) on the standardized training
rows of benchmark (m)'s first digits fold (1,437 rows: 8 steps an epoch) once to compile,
then profiles a second fit with TensorFlow's profiler, XLA tracing each kernel (thunk) it
runs (``--xla_cpu_enable_xprof_traceme``, set here before TensorFlow loads). Prints the mean
time of each kernel the loop runs once a step, largest first, and their sum (the profiler
may drop events of a long run; the means are over those kept). Tracing adds to each kernel
(about 5 us to each Eigen product), so the sum exceeds the step of a fit compiled without
trace points, which this script times first in a child process (``--untraced``).
"""

import collections
import glob
import os
import subprocess
import sys
import tempfile
import time
import warnings

EPOCHS = 250
UNTRACED = "--untraced" in sys.argv[1:]
UNTRACED_XLA_FLAGS = os.environ.get("XLA_FLAGS", "")
if not UNTRACED:
    os.environ["XLA_FLAGS"] = (UNTRACED_XLA_FLAGS
                               + " --xla_cpu_enable_xprof_traceme=true").strip()

import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier


def compiled_fit():
    """The fold's rows and a model fitted once on them (its step compiled), and its steps."""
    X, y = load_digits(return_X_y=True)
    train = next(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))[0]
    X, y = StandardScaler().fit_transform(X[train]), y[train]
    model = LogLossClassifier(random_state=0, tol=0, max_iter=EPOCHS).fit(X, y)
    return model, X, y, EPOCHS * -(-len(X) // 200)  # the default batch: 200 rows


def step_us(model, X, y, steps):
    """Microseconds a step of a second fit takes."""
    start = time.perf_counter()
    model.fit(X, y)
    return (time.perf_counter() - start) / steps * 1e6


def kernel_times(path):
    """``{kernel: (count, seconds)}`` of the XLA kernels in the profile under ``path``."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(glob.glob(os.path.join(path, "plugins", "profile", "*", "*.xplane.pb"))[0], "rb") as f:
        space.ParseFromString(f.read())
    times = collections.defaultdict(lambda: [0, 0])
    for plane in space.planes:
        for line in plane.lines:
            if "Eigen" not in line.name:  # XLA's kernels run on its Eigen pool's threads
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if name.startswith(("ThunkExecutor", "while", "end: ")):
                    continue
                times[name][0] += 1
                times[name][1] += event.duration_ps * 1e-12
    return times


def main():
    warnings.simplefilter("ignore")
    if UNTRACED:
        print(step_us(*compiled_fit()))
        return
    child = subprocess.run([sys.executable, __file__, "--untraced"], capture_output=True,
                           text=True, check=True,
                           env={**os.environ, "XLA_FLAGS": UNTRACED_XLA_FLAGS})
    untraced = float(child.stdout.split()[-1])
    model, X, y, steps = compiled_fit()
    traced = step_us(model, X, y, steps)
    print(f"TensorFlow {tf.__version__}; digits, {steps} steps; a step compiled without trace "
          f"points: {untraced:.1f} us; with them: {traced:.1f} us; profiled, per step:")
    with tempfile.TemporaryDirectory() as path:
        tf.profiler.experimental.start(path)
        model.fit(X, y)
        tf.profiler.experimental.stop()
        times = kernel_times(path)
    # the loop body's kernels run once a step; the profiler may drop some events, so each
    # kernel's time is its mean over the events kept
    most = max(count for count, _ in times.values())
    per_step = {name: seconds / count * 1e6 for name, (count, seconds) in times.items()
                if count >= most / 2}
    for name, us in sorted(per_step.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<40}{us:8.2f} us")
    print(f"  {'sum of the step kernels':<40}{sum(per_step.values()):8.2f} us")


if __name__ == "__main__":
    main()
