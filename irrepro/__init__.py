"""irrepro's shared core: the plumbing both domain packages use, and nothing of either domain.

Layout (imports go one way: ``simulator`` and ``image_experiments`` import ``irrepro``, never
each other, and ``irrepro`` imports neither):

- ``errors``: :class:`~irrepro.errors.UserError`, the one exception for mistakes a user can fix;
- ``cli``: click pieces of ``simctl`` and ``imgctl`` (one-line errors, counts, shared options);
- ``tables``: atomic file and tidy-CSV writing, provenance, the stable config hash;
- ``config``: sweep configs (YAML file < smoke preset < command-line flags);
- ``units`` and ``executors``: idempotent units of work, run here or on a Dask cluster;
- ``streams``: every random stream's role, in one registry;
- ``progress``, ``memory``: progress bars, available memory;
- ``activations``: identity, ReLU, SmeLU and Swish (Keras callables in ``keras_activations``);
- ``tf``: TensorFlow, started once with its native notices filtered. Only modules that train
  or evaluate a model import it, so every other command starts without TensorFlow.

Importing the package sets two environment defaults that must be in place before TensorFlow
loads (a user can override both beforehand): quiet C++ logging, and oneDNN's fused kernels off,
because they pick summation orders by thread timing and one seed must give one CSV, bit for bit.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
