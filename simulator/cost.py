"""What a simulator setting costs before it runs: time on 2 CPU cores and peak memory.

Pure arithmetic on the setting (no TensorFlow), so that ``simctl sweep --dry-run`` and the
up-front checks of ``simctl run`` answer at once.
"""
import numpy as np

from irrepro.errors import UserError
from irrepro.memory import available_memory
from simulator.data import BLOCK_EXAMPLES, N_FEATURES
from simulator.mitigations import component_family, layout

#: Floating-point operations per compiled call the engine aims at: large enough to hide the
#: per-call overhead, small enough for a responsive progress bar.
FLOPS_PER_CALL = 2e10
MAX_STEPS_PER_CALL = 4096
EVAL_CHUNK = 2048


def n_parameters(family):
    return sum(int(np.prod(s)) for s in family.shapes)


def steps_per_call(family, n_models, batch):
    """Mini-batch steps per compiled call for about FLOPS_PER_CALL work (a power of 2)."""
    step_flops = 6.0 * n_models * batch * n_parameters(family)
    steps = 2 ** int(np.floor(np.log2(max(1.0, FLOPS_PER_CALL / step_flops))))
    return int(min(MAX_STEPS_PER_CALL, steps))


def estimate_seconds(setting):
    """A rough wall-clock estimate of ``run_setting`` on 2 CPU cores, from the rates of
    benchmarks/bench_engine.py: about 3 us per model and layer in each step for small models
    (0.1 ms per step for 32 linear models, 0.5 ms for 32 towers), about 40 GFLOP/s for large
    ones, data generation at about 7 M pair-examples/s overlapping the training, evaluation,
    and 5 s to start and compile."""
    family, spec = component_family(setting), layout(setting)
    n_models, params = 2 * setting.pairs * spec.group, n_parameters(family)
    layers = sum(len(shape) == 2 for shape in family.shapes)

    def step_seconds(models):
        return max(3e-6 * models * layers, 6.0 * models * setting.batch * params / 4e10)

    train = setting.steps * step_seconds(n_models)
    data = setting.pairs * setting.examples / 7e6
    evaluation = setting.checkpoints * n_models * 4000 * params * 2 / 4e10
    warm = setting.warm_examples / setting.batch * step_seconds(setting.pairs)  # M warm models
    teachers = setting.steps * step_seconds(2 * setting.pairs * spec.teachers)  # distill
    return (max(train, data) + evaluation + (warm if setting.init == "warm" else 0.0)
            + (max(teachers, data) + 5.0 if spec.teachers else 0.0) + 5.0)


def memory_estimate(setting, family):
    """Bytes a run of ``setting`` needs at its peak, roughly (an upper estimate); ``family``
    is the family of each stacked model (a mitigation's component)."""
    n_models = 2 * setting.pairs * layout(setting).group
    widths = [int(np.prod(s)) for s in family.shapes if len(s) == 1]
    weights = 6 * 4 * n_models * n_parameters(family)  # weights, slots, gradients, copies
    activations = 4 * 4 * n_models * setting.batch * (N_FEATURES + sum(widths))
    call = 3 * 8 * n_models * steps_per_call(family, n_models, setting.batch) * setting.batch
    window = setting.window * setting.batch
    group = max(window, BLOCK_EXAMPLES)  # examples (int64) of every pair, orders (int32)
    shuffles = 8 * setting.pairs * group + 4 * n_models * group
    blocks = 5 * 8 * n_models * BLOCK_EXAMPLES  # queued, pending and joined blocks
    evaluation = 3 * 4 * n_models * EVAL_CHUNK * max([N_FEATURES, *widths])
    return weights + activations + call + shuffles + blocks + evaluation


def check_memory(setting, family):
    need, have = memory_estimate(setting, family), available_memory()
    if need > 0.8 * have:
        raise UserError(
            f"{setting.pairs} pairs of '{family.name}' models with window {setting.window} "
            f"need about {need / 2**30:.1f} GiB but {have / 2**30:.1f} GiB is available; "
            "use fewer --pairs or a smaller --window")




#: Work estimated beyond this is refused: no machine that runs irrepro would finish it.
MAX_SECONDS = 30 * 24 * 3600


def check_feasible(setting):
    """Raise UserError when ``setting`` needs more memory than is available or is estimated
    to run longer than 30 days on 2 CPU cores; returns the estimate in seconds."""
    check_memory(setting, component_family(setting))
    seconds = estimate_seconds(setting)
    if seconds > MAX_SECONDS:
        raise UserError(f"this setting would run for about {seconds / 86400:,.0f} days on 2 "
                        f"CPU cores ({setting.examples:,} examples per model, "
                        f"{setting.pairs} pairs); use fewer --examples or --pairs, e.g. "
                        "--examples 2^26")
    return seconds
