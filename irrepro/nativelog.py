"""Filtering of TensorFlow's native start-up lines, which bypass Python's stderr.

On a machine without CUDA, importing TensorFlow and asking it for GPUs prints, from C++,
lines such as "Could not find cuda drivers on your machine" and "failed call to cuInit",
whatever TF_CPP_MIN_LOG_LEVEL says. They are not errors, and they would bury a command's
one-line message. :func:`quiet_native_logs` captures file descriptor 2 while TensorFlow
starts and writes back every line that is not such a notice.
"""
import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

#: absl's preamble, glog-style info and warning lines, and the cuInit failure of a CPU machine.
NOISE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\)"
                   r"|[IW]\d{4} [\d:.]+\s+\d+ \w+\.cc:\d+\]"
                   r"|E\d{4} [\d:.]+\s+\d+ cuda_(platform|executor|diagnostics)\.cc:\d+\]")


def is_noise(line):
    """Whether one line of native output is a start-up notice to drop."""
    return NOISE.match(line) is not None


@contextlib.contextmanager
def quiet_native_logs():
    """Run the body with fd 2 captured; afterwards write the lines that are not notices
    (see :data:`NOISE`) to ``sys.stderr``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not is_noise(line)))


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's own loader with fd 2 filtered, then asks it for GPUs (the CUDA
    probe prints its notices then), so both happen inside :func:`quiet_native_logs`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # as if never wrapped
        with quiet_native_logs():
            self.loader.exec_module(module)
            module.config.list_physical_devices("GPU")


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as Python would and wraps its loader in :class:`_QuietLoader`;
    removes itself after the first look, so every other import is untouched."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        _remove_finder()
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def _remove_finder():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietFinder)]


def quiet_tensorflow_start():
    """Filter TensorFlow's native start-up notices whenever it is first imported (now, if
    it already is: nothing to do). TensorFlow is not imported by this call."""
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFinder)
                                                   for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
