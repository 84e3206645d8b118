"""What a setting's run costs, said before it starts, and sizes no machine could finish
refused before any work.

The rates are those of benchmarks/bench_engine.py on the 2-core machine (AMD EPYC, TF 2.21,
CPU): a step's fixed cost (about 8 us per compiled step plus 0.5 us per model and 2 us per
model and hidden layer: 24 us for 32 linear models, about 300 us for 32 towers), about
100 GFLOP/s for large models (the [1024, 512] MLP is bound by the bandwidth its stacked
weights stream at), and data generation at about 1.2e7 pair-examples per second on its own
thread, overlapping the training. This module imports neither TensorFlow nor NumPy: the
refusal needs only the setting's counts.
"""
from simulator.errors import UserError

STEP_SECONDS = 8e-6
MODEL_STEP_SECONDS = 0.5e-6
LAYER_STEP_SECONDS = 2e-6  # per model and hidden layer
FLOPS_PER_SECOND = 1e11
DATA_PAIR_EXAMPLES_PER_SECOND = 1.2e7
EVAL_DISTINCT_INPUTS = 4000  # distinct inputs of a 2^16 evaluation set, about
START_SECONDS = 5.0  # start and compile
#: Estimates above this are said before the run starts.
ANNOUNCE_SECONDS = 60.0
#: Estimates above this are refused: a machine 100 times faster would still need 4 days.
REFUSE_SECONDS = 365 * 86400.0


def _shape_counts(shapes):
    """(parameters, hidden layers) of a family's weight shapes (kernels are 2-d)."""
    params = sum(_product(s) for s in shapes)
    return params, sum(len(s) == 2 for s in shapes) - 1


def _product(shape):
    out = 1
    for n in shape:
        out *= int(n)
    return out


def step_seconds(models, batch, shapes):
    """Seconds of one mini-batch step of ``models`` stacked models with weights ``shapes``."""
    params, hidden = _shape_counts(shapes)
    fixed = STEP_SECONDS + models * (MODEL_STEP_SECONDS + LAYER_STEP_SECONDS * hidden)
    return max(fixed, 6.0 * models * batch * params / FLOPS_PER_SECOND)


def data_seconds(setting):
    """Seconds to generate and shuffle the setting's examples: a lower bound of its run that
    needs no model (the generator runs beside the training, never behind it)."""
    return setting.pairs * setting.examples / DATA_PAIR_EXAMPLES_PER_SECOND


def estimate_seconds(setting, shapes=None):
    """Rough wall-clock seconds of ``engine.run_setting(setting)`` on 2 CPU cores.

    ``shapes``: the model family's weight shapes (``parse_model(setting.model).shapes``;
    looked up when None).
    """
    if shapes is None:
        from simulator.models import parse_model

        shapes = parse_model(setting.model).shapes
    params, _ = _shape_counts(shapes)
    n_models = 2 * setting.pairs
    train = setting.steps * step_seconds(n_models, setting.batch, shapes)
    evaluation = (setting.checkpoints * n_models * EVAL_DISTINCT_INPUTS * 2 * params
                  / FLOPS_PER_SECOND)
    warm = (setting.warm_examples // setting.batch * step_seconds(1, setting.batch, shapes)
            if setting.init == "warm" else 0.0)
    return max(train, data_seconds(setting)) + evaluation + warm + START_SECONDS


def format_seconds(seconds):
    """'45 s', '12 min', '3.5 h', '20 days' or '3e+07 years'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 365 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / (365 * 86400):.3g} years"


def check_feasible(settings):
    """Raise UserError (one line) when a setting's data alone would take more than
    REFUSE_SECONDS; needs no model and no TensorFlow."""
    for setting in settings:
        seconds = data_seconds(setting)
        if seconds > REFUSE_SECONDS:
            raise UserError(
                f"{setting.pairs} pairs x {setting.examples:.3g} examples would take about "
                f"{format_seconds(seconds)} to generate alone on this machine; use fewer "
                "--examples (the paper's scale is 2^26)")


def cost_notice(settings):
    """Refuse infeasible ``settings`` (check_feasible), then the line announcing their
    estimated cost when it is over ANNOUNCE_SECONDS, else None."""
    settings = list(settings)
    check_feasible(settings)
    total = sum(estimate_seconds(s) for s in settings)
    if total <= ANNOUNCE_SECONDS:
        return None
    what = "1 setting" if len(settings) == 1 else f"{len(settings)} settings"
    return f"{what}: estimated {format_seconds(total)} on 2 CPU cores"
