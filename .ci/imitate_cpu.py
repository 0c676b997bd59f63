"""Print the environment that makes this machine imitate another x86-64 CPU for the bit-sensitive tests.

Another OpenBLAS kernel than the one OpenBLAS picked here (``OPENBLAS_CORETYPE``)
and oneDNN's instruction set capped one step below this CPU's best
(``ONEDNN_MAX_CPU_ISA``: AVX2 on an AVX-512 machine, AVX on an AVX2 one): what
decides the bits on another machine, short of XLA's host code.
"""

from pathlib import Path

import numpy  # noqa: F401 (loads NumPy's OpenBLAS for threadpoolctl to see)
import scipy.linalg  # noqa: F401 (and SciPy's)
from threadpoolctl import threadpool_info

kernels = {lib.get("architecture") for lib in threadpool_info() if lib["internal_api"] == "openblas"}
other = "Sandybridge" if "Sandybridge" not in kernels else "Haswell"
flags = Path("/proc/cpuinfo").read_text().split()
isa = "AVX2" if "avx512f" in flags else "AVX"
print(f"OPENBLAS_CORETYPE={other} ONEDNN_MAX_CPU_ISA={isa}")
