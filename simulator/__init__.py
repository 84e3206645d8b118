"""irrepro simulator: synthetic irreproducibility experiments (Snapp & Shamir, 2021).

Importing the package starts no TensorFlow: the modules that train (``engine``, and the
``forward``/``keras_model`` of ``models``) reach it through :mod:`irrepro.tf` when first used.
"""
from irrepro import __version__  # noqa: F401
