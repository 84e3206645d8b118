"""Filtering of TensorFlow's native start-up lines, which bypass Python's stderr.

On a machine without CUDA, importing TensorFlow and asking it for GPUs prints, from C++,
lines such as "Could not find cuda drivers on your machine" and "failed call to cuInit",
whatever TF_CPP_MIN_LOG_LEVEL says. They are not errors, and they would bury a command's
one-line message. :func:`quiet_native_logs` captures file descriptor 2 while TensorFlow
starts and writes back every line that is not such a notice.
"""
import contextlib
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
