"""Test configuration: lets scikit-learn's array-API check run instead of skipping."""

import os

# Read by SciPy when it is first imported; scikit-learn's check_array_api_input
# (NumPy namespace only) skips without it.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
