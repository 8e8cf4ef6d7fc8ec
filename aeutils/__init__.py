"""aeutils: the small shared package behind *Autoencoders, Hands-On*.

Importing :mod:`aeutils` first quietens TensorFlow (see :mod:`aeutils.config`), so
chapters import it before TensorFlow or Keras. Sub-modules, one per concern:

- :mod:`aeutils.config` - fast/full budget, seeding, the weight-cache folder, quiet TensorFlow
- :mod:`aeutils.checks` - the input checks every public function uses (clear messages for bad input)
- :mod:`aeutils.notebook` - ``setup_notebook`` and ``glue`` (numbers and verdicts into prose)
- :mod:`aeutils.data` - datasets, IDX parsing, splits, noise and masks, ``tf.data``
- :mod:`aeutils.train` - the one training path: progress, NaN guard, timing, cache
- :mod:`aeutils.models`, :mod:`aeutils.losses`, :mod:`aeutils.vae`, :mod:`aeutils.gan` - the book's models
- :mod:`aeutils.metrics` - FID, precision/recall, the feature classifier
- :mod:`aeutils.plots` - image grids, reconstructions, training curves
- :mod:`aeutils.explore` - sliders over a latent space, traversal figures

Executing and stamping the notebooks, the status page and the benchmark are the book's own tooling
(the ``tools`` folder of the repository), not part of this package.
"""

from __future__ import annotations

from aeutils import config as config  # noqa: I001  (must come first: quiets TensorFlow)

__version__ = "0.1.0"

__all__ = ["__version__", "config"]
