"""Test-suite settings that must be in place before any notebook kernel starts.

- ``AEUTILS_FAST=1``: every notebook runs on small subsets for one or two epochs.
- ``AEUTILS_OFFLINE=1``: a dataset that is not on disk fails at once with the offline
  message instead of trying (and hanging on) a download.
- ``AEUTILS_NO_CACHE=1``: tests train for real instead of loading cached weights.
"""

import os

os.environ["AEUTILS_FAST"] = "1"
os.environ["AEUTILS_OFFLINE"] = "1"
os.environ["AEUTILS_NO_CACHE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
