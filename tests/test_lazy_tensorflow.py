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


def test_importing_irrepro_adds_the_projects_xla_flags_to_the_users_own():
    from irrepro import project_xla_flags

    ours = " ".join(project_xla_flags())
    assert xla_flags_after_import() == ours
    assert xla_flags_after_import("--xla_cpu_enable_fast_math=false") == (
        f"--xla_cpu_enable_fast_math=false {ours}".strip())


def test_a_users_own_setting_of_a_projects_flag_is_left_as_it_is():
    from irrepro import XLA_CPU_IN_PLACE, XLA_CPU_ISA, project_xla_flags

    mine = "--xla_cpu_copy_insertion_use_region_analysis=false"
    assert xla_flags_after_import(mine).split()[0] == mine
    assert XLA_CPU_IN_PLACE not in xla_flags_after_import(mine)
    if XLA_CPU_ISA in project_xla_flags():
        assert xla_flags_after_import("--xla_cpu_max_isa=AVX512").count("max_isa") == 1


def test_the_instruction_set_cap_is_added_on_x86_64_and_only_where_tensorflow_knows_the_flags():
    from irrepro import XLA_CPU_IN_PLACE, XLA_CPU_ISA, project_xla_flags

    assert project_xla_flags("x86_64", (2, 21)) == [XLA_CPU_IN_PLACE, XLA_CPU_ISA]
    assert project_xla_flags("AMD64", (2, 22)) == [XLA_CPU_IN_PLACE, XLA_CPU_ISA]
    assert project_xla_flags("aarch64", (2, 21)) == [XLA_CPU_IN_PLACE]
    assert project_xla_flags("x86_64", (2, 19)) == []


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


@pytest.mark.parametrize("flag, on, off", [
    ("xla_cpu_copy_insertion_use_region_analysis", "true", "false"),
    ("xla_cpu_max_isa", "AVX2", ""),  # "" is XLA's own default: the machine's every extension
])
def test_the_projects_xla_flags_change_no_bit_of_a_run(tmp_path, flag, on, off):
    """Without the in-place flag XLA copies the MLP's stacked kernels every step, without the
    cap its loops stall on AVX-512 CPUs (irrepro.XLA_CPU_ISA); the CSVs still match."""
    def run(value):
        out = tmp_path / f"{value or 'default'}.csv"
        env = {**os.environ, "XLA_FLAGS": f"--{flag}={value}"}
        subprocess.run([sys.executable, "-m", "simulator.cli", "run", "--model", "mlp",
                        "--activation", "swish", "--init", "diff", "--pairs", "2",
                        "--examples", "2^11", "--eval-examples", "2^10", "--checkpoints", "2",
                        "--out", str(out)], env=env, capture_output=True, check=True)
        return out.read_bytes()

    assert run(on) == run(off)


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
