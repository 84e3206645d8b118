"""irrepro simulator: synthetic irreproducibility experiments (Snapp & Shamir, 2021).

Importing the package quiets TensorFlow's start-up chatter and asks for deterministic
kernels, so that one seed gives one CSV, bit for bit, on one machine. Both are defaults a
user can override in the environment before importing. TensorFlow itself is not imported
here: the NumPy-only parts (``image_experiments.measure``, ``similarity``) must work where
it is absent. Whenever TensorFlow is first imported, by whatever module, its native
start-up notices are filtered (simulator.nativelog), so that a command's output starts
with what the command says.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's fused kernels pick summation orders by thread timing; off keeps runs bit-stable.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from simulator.nativelog import quiet_tensorflow_start  # noqa: E402

quiet_tensorflow_start()

__version__ = "0.1.0"
