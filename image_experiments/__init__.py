"""irrepro image experiments: model multiplicity of small CNNs (Heljakka et al., 2023;
Ganesh, 2023). Importing the package starts no TensorFlow; the modules that build, train or
attack models reach it through :mod:`irrepro.tf`."""
from irrepro import __version__  # noqa: F401
