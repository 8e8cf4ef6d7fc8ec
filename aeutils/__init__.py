"""aeutils: the small shared package behind *Autoencoders, Hands-On*.

Importing :mod:`aeutils` first quietens TensorFlow (see :mod:`aeutils.config`), so
chapters import it before TensorFlow or Keras. Sub-modules, one per concern:

- :mod:`aeutils.config` - fast/full budget, seeding, paths, quiet TensorFlow
- :mod:`aeutils.data` - datasets, IDX parsing, splits, noise and masks, ``tf.data``
- :mod:`aeutils.train` - the one training path: progress, NaN guard, timing, cache
- :mod:`aeutils.plots` - image grids, reconstructions, training curves
- :mod:`aeutils.book` - glue numbers into prose, execute and stamp notebooks
"""

from __future__ import annotations

from aeutils import config as config  # noqa: I001  (must come first: quiets TensorFlow)

__version__ = "0.1.0"

__all__ = ["__version__", "config"]
