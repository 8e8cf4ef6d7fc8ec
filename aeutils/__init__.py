"""aeutils: the small shared package behind *Autoencoders, Hands-On*.

Importing :mod:`aeutils` first quietens TensorFlow (see :mod:`aeutils.config`), so
chapters import it before TensorFlow or Keras. Sub-modules, one per concern:

- :mod:`aeutils.config` - fast/full budget, seeding, paths, quiet TensorFlow
- :mod:`aeutils.data` - datasets, IDX parsing, splits, noise and masks, ``tf.data``
- :mod:`aeutils.train` - the one training path: progress, NaN guard, timing, cache
- :mod:`aeutils.models`, :mod:`aeutils.losses`, :mod:`aeutils.vae`, :mod:`aeutils.gan` - the book's models
- :mod:`aeutils.metrics` - FID, precision/recall, the feature classifier
- :mod:`aeutils.plots` - image grids, reconstructions, training curves
- :mod:`aeutils.explore` - sliders over a latent space, traversal figures
- :mod:`aeutils.book` - glue numbers into prose, execute and stamp notebooks, time the tests
- :mod:`aeutils.bench` - the training-throughput benchmark (``python -m aeutils.bench``)
"""

from __future__ import annotations

from aeutils import config as config  # noqa: I001  (must come first: quiets TensorFlow)

__version__ = "0.1.0"

__all__ = ["__version__", "config"]
