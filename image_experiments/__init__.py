"""irrepro image experiments: model multiplicity of small CNNs (Heljakka et al., 2023;
Ganesh, 2023). Shares activations, CLI conventions and result writing with ``simulator``."""
import simulator  # noqa: F401  (sets TensorFlow's logging and determinism defaults)
from simulator import __version__  # noqa: F401
