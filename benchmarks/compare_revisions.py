"""Time LogLossClassifier at two git revisions in one run, alternating, on bench.py's workloads.

    python benchmarks/compare_revisions.py BEFORE [AFTER] [--rounds 2] [--scenarios abcdj]

Each revision is checked out in a temporary git worktree; every measurement
runs in a fresh process that imports sk_logloss from that worktree and
bench.py's workloads from this checkout, so only the package differs. The
revisions alternate within each round, so a slow phase of the machine hits
both. Only our estimator is timed: (a) warm fits per second, 200 x 20;
(b) 20,000 x 100 binary and (c) 20,000 x 50, 5 classes, median of 3 warm fits;
(d) 1,000,000 x 100 float32, 5 epochs (one fit); (j) 200,000 x 50,000 CSR,
binary, default batch, warm fit.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = """
import json, sys
sys.path.insert(0, {bench!r})
import bench
scenario = {scenario!r}
if scenario == "a":
    X, y = bench.make_data(200, 20, 2)
    value = 1 / bench.timed_fit(bench.ours(), X, y, 30)[0]
elif scenario == "b":
    X, y = bench.make_data(20_000, 100, 2)
    value = bench.timed_fit(bench.ours(), X, y, 3)[0]
elif scenario == "c":
    X, y = bench.make_data(20_000, 50, 5)
    value = bench.timed_fit(bench.ours(), X, y, 3)[0]
elif scenario == "d":
    value = bench.child_large("ours")["seconds"]
else:
    value = bench.child_sparse("ours:2")["seconds"]
import sk_logloss
print(json.dumps({{"value": value, "package": sk_logloss.__file__}}))
"""

UNITS = {"a": "fits/s", "b": "s", "c": "s", "d": "s", "j": "s"}


def measure(worktree, scenario):
    env = dict(os.environ, PYTHONPATH=str(worktree))
    code = CHILD.format(bench=str(HERE), scenario=scenario)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, cwd=worktree)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["package"].startswith(str(worktree)), result["package"]
    return result["value"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="HEAD")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenarios", default="abcdj")
    args = parser.parse_args()
    revisions = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, rev in (("before", args.before), ("after", args.after)):
            path = Path(tmp) / label
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path),
                            rev], check=True)
            revisions[label] = path
        try:
            results = {s: {"before": [], "after": []} for s in args.scenarios}
            for r in range(args.rounds):
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for scenario in args.scenarios:
                    for label in order:
                        results[scenario][label].append(measure(revisions[label], scenario))
                    print(f"round {r + 1} ({scenario}): " + ", ".join(
                        f"{label} {results[scenario][label][-1]:.3f}" for label in order), flush=True)
        finally:
            for path in revisions.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(path)], check=False)
    print(f"\nbefore = {args.before}, after = {args.after}; each value the median of "
          f"{args.rounds} rounds")
    print(f"  {'scenario':<10}{'unit':>7}{'before':>10}{'after':>10}{'after/before':>14}")
    summary = {}
    for scenario, runs in results.items():
        before, after = (statistics.median(runs[k]) for k in ("before", "after"))
        summary[scenario] = {"before": runs["before"], "after": runs["after"]}
        print(f"  ({scenario}){'':<7}{UNITS[scenario]:>7}{before:>10.3f}{after:>10.3f}"
              f"{after / before:>13.2f}x")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
