"""TensorFlow and Keras, started once with TensorFlow's native start-up notices filtered
(:mod:`irrepro.nativelog`), so that a command's output starts with what the command says.

``from irrepro.tf import tf, keras`` (and ``xla``, TensorFlow's wrappers of XLA's own ops)
is the one way the project's training code reaches TensorFlow; importing this module is what
starts it (a few seconds), so modules that only read, compute with NumPy or draw never import
it. The determinism defaults are set by ``irrepro`` itself, which every import of this module
imports first.
"""
import irrepro  # noqa: F401  (environment defaults before TensorFlow loads)
from irrepro.nativelog import quiet_native_logs

with quiet_native_logs():
    import tensorflow as tf
    from tensorflow.compiler.tf2xla.python import xla  # XLA's own ops (optimization_barrier)

    tf.config.list_physical_devices("GPU")  # the CUDA probe prints its notices now

import keras  # noqa: E402

__all__ = ["tf", "keras", "xla"]
