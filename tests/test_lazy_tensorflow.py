"""End to end: TensorFlow starts only when a command trains or evaluates a model, so help,
data checks, plots and comparisons answer at once (README: "Start-up"); and the environment
defaults ``import irrepro`` sets before it does."""
import os
import subprocess
import sys

import pytest

NO_TRAINING = ["irrepro", "irrepro.cli", "irrepro.config", "irrepro.activations",
               "simulator", "simulator.cli", "simulator.config", "simulator.sweep",
               "simulator.plots", "simulator.summary", "simulator.cost", "simulator.models",
               "simulator.results",
               "image_experiments", "image_experiments.cli", "image_experiments.similarity",
               "image_experiments.multiplicity", "image_experiments.analysis",
               "image_experiments.report", "image_experiments.render",
               "image_experiments.check", "image_experiments.sweep_config",
               "image_experiments.cnn", "image_experiments.datasets"]


def loaded(module, code):
    """Whether ``module`` is imported after running ``code`` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\n"
                          f"print({module!r} in sys.modules)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_modules_that_train_nothing_leave_tensorflow_out():
    assert not loaded("tensorflow", "\n".join(f"import {name}" for name in NO_TRAINING))


def test_commands_that_draw_no_examples_leave_numba_out():
    assert not loaded("numba", "\n".join(f"import {name}" for name in NO_TRAINING))


def test_the_tensorflow_gateway_starts_it_with_tensorflows_own_onednn_default(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    code = ("import os\nfrom irrepro.tf import tf\n"
            "assert 'TF_ENABLE_ONEDNN_OPTS' not in os.environ")
    assert loaded("tensorflow", code)


def xla_flags_after_import(xla_flags=None):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run([sys.executable, "-c", "import os, irrepro\n"
                          "print(os.environ.get('XLA_FLAGS', ''))"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_importing_irrepro_adds_the_in_place_xla_flag_to_the_users_own():
    from irrepro import XLA_CPU_IN_PLACE

    assert xla_flags_after_import() == XLA_CPU_IN_PLACE
    assert xla_flags_after_import("--xla_cpu_enable_fast_math=false") == (
        f"--xla_cpu_enable_fast_math=false {XLA_CPU_IN_PLACE}")


def test_a_users_own_setting_of_the_in_place_flag_is_left_as_it_is():
    mine = "--xla_cpu_copy_insertion_use_region_analysis=false"
    assert xla_flags_after_import(mine) == mine


def test_the_tensorflow_version_is_read_from_either_distribution(monkeypatch):
    import irrepro

    def version(installed):
        def lookup(name):
            if name not in installed:
                raise irrepro.metadata.PackageNotFoundError(name)
            return installed[name]
        return lookup

    monkeypatch.setattr(irrepro.metadata, "version", version({"tensorflow": "2.21.0"}))
    assert irrepro._tensorflow_version() == (2, 21)
    monkeypatch.setattr(irrepro.metadata, "version", version({"tensorflow-cpu": "2.19.1"}))
    assert irrepro._tensorflow_version() == (2, 19)
    monkeypatch.setattr(irrepro.metadata, "version", version({}))
    assert irrepro._tensorflow_version() is None


def test_the_in_place_flag_changes_no_bit_of_a_run(tmp_path):
    """Without the flag XLA copies the MLP's stacked kernels every step; the CSVs still match."""
    def run(setting):
        out = tmp_path / f"{setting}.csv"
        env = {**os.environ,
               "XLA_FLAGS": f"--xla_cpu_copy_insertion_use_region_analysis={setting}"}
        subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--model", "mlp",
                        "--init", "diff", "--pairs", "2", "--examples", "2^11",
                        "--eval-examples", "2^10", "--checkpoints", "2", "--out", str(out)],
                       env=env, capture_output=True, check=True)
        return out.read_bytes()

    assert run("true") == run("false")


@pytest.mark.parametrize("args", [
    ["simctl", "--help"], ["simctl", "run", "--help"], ["simctl", "sweep", "--help"],
    ["simctl", "plot", "--help"], ["simctl", "table", "--help"], ["imgctl", "--help"],
    ["imgctl", "sweep", "--help"],
    ["imgctl", "report", "--help"], ["imgctl", "data", "check", "digits"],
    ["simctl", "sweep", "configs/fig2.yaml", "--dry-run"],
])
def test_commands_that_train_nothing_answer_without_tensorflow(args):
    tool = "simulator.cli" if args[0] == "simctl" else "image_experiments.cli"
    code = (f"import sys\nfrom {tool} import main\n"
            f"try:\n    main({args[1:]!r}, prog_name={args[0]!r})\n"
            "except SystemExit as done:\n    assert not done.code, done.code")
    assert not loaded("tensorflow", code)


def test_an_impossible_size_is_refused_before_tensorflow_starts():
    code = ("import sys\nfrom simulator.cli import main\n"
            "try:\n    main(['run', '--examples', '2^46', '--out', '/tmp/never.csv'])\n"
            "except SystemExit as done:\n    assert done.code == 2, done.code")
    assert not loaded("tensorflow", code)
