"""TensorFlow's native start-up notices are dropped; everything else written to fd 2 stays,
and a command's error is the only line a user sees."""
import os
import subprocess
import sys

from irrepro.nativelog import is_noise, quiet_native_logs

NOTICES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1795392616.644469   28995 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n",
    "E0000 00:00:1795390249.144387   16549 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
]
KEPT = ["E0000 00:00:1795390249.144387   16549 op_kernel.cc:1830] OP_REQUIRES failed\n",
        "Traceback (most recent call last):\n", "simctl: error: something\n"]


def test_start_up_notices_are_noise_and_real_errors_are_not():
    assert all(is_noise(line) for line in NOTICES)
    assert not any(is_noise(line) for line in KEPT)


def test_the_filter_writes_back_every_line_that_is_not_a_notice(capfd):
    with quiet_native_logs():
        for line in NOTICES + KEPT:
            os.write(2, line.encode())
    assert capfd.readouterr().err == "".join(KEPT)


def test_a_cli_error_is_the_only_line_on_stderr(tmp_path):
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--activation", "foo"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "simctl: error: Invalid value for '--activation': 'foo' is not one of 'identity', "
        "'relu', 'smelu', 'swish'."]
