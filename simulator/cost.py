"""What a simulator setting costs before it runs: time on 2 CPU cores and peak memory.

Pure arithmetic on the setting (no TensorFlow), so that ``simctl sweep --dry-run`` and the
up-front checks of ``simctl run`` answer at once.
"""
import numpy as np

from irrepro.durations import format_seconds
from irrepro.errors import UserError
from irrepro.memory import available_memory
from simulator.data import BLOCK_EXAMPLES, N_FEATURES, QUEUED_BLOCKS
from simulator.mitigations import component_family, layout
from simulator.models import is_small_layer

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


#: The engine's rates on the 2-core machine (AMD EPYC, TF 2.21, CPU), from
#: benchmarks/bench_engine.py and step timings of 32 models at batch 32 (2026-12-02, AVX2
#: machine: linear 29 us, 1 unit 25, 2 units 84, tower 337, [1024, 512] 124 ms): a step's
#: fixed cost (8 us per compiled step plus 0.5 us per model, and per model 1.7 us for each
#: small multi-output layer computed as a product and sum, 1.5 us for each larger
#: multi-output layer (3.5 us before those became a batched matmul: the tower's step took
#: 194-244 us on 2026-12-03), nothing measurable for single-output layers), the products at about
#: 28 GFLOP/s (the MLP's batch-32 weight gradients are far from the machine's square-matrix
#: peak), plus, per model, example and hidden unit, the activation's passes through memory
#: and its arithmetic (HIDDEN_UNIT_SECONDS), and data generation on two threads: about 2.2e7
#: pair-examples per second since the sampler's loops are compiled (1.1e7 before on the AVX2
#: machine; the paper-scale linear run, 2^30 pair-examples, took 51 s on 2026-12-03's AVX-512
#: machine), 7e6 when a window (2^22 examples or more) is shuffled at memory latency. Since
#: 2026-12-03 the models also train as one stack per core (the tower 1.5x faster in wall
#: time); the step rates above are one stack's, so they read high where that helps.
STEP_SECONDS = 8e-6
MODEL_STEP_SECONDS = 0.5e-6
SMALL_LAYER_STEP_SECONDS = 1.7e-6  # per model
LAYER_STEP_SECONDS = 1.5e-6  # per model
FLOPS_PER_SECOND = 2.8e10
#: Layers with at least this many weights per model train in stacks that keep them in cache
#: (simulator.engine.train_shards) at about LARGE_LAYER_FLOPS_PER_SECOND: 2026-12-04, AVX-512
#: EPYC, 32 models, AdaGrad, ReLU, window 2^10, with XLA capped at AVX2 and the transposed
#: input gradient (irrepro.XLA_CPU_ISA, simulator.models.product): `simctl run --model mlp
#: --examples 2^15` took 28.9 s, 512-256 at 2^16 17.0 s and 256-128 at 2^17 13.0 s
#: (estimated at FLOPS_PER_SECOND alone: 163, 82 and 47 s; with this rate 30, 18 and 13 s).
LARGE_LAYER_WEIGHTS = 2 ** 13
LARGE_LAYER_FLOPS_PER_SECOND = 1.9e11

#: Per model, example and hidden unit, by activation: from the wide model's 1000 units (32
#: models, batch 32) in smooth.yaml's runs, 1.9 ms a step with SmeLU and 3.4 ms with Swish
#: (2^22 examples in 250 and 460 s), and quiet step timings (identity 1.56 ms, SmeLU 1.62,
#: ReLU 2.08, Swish 2.86), which a run's evaluations and data threads stretch by about 1.2.
HIDDEN_UNIT_SECONDS = {"identity": 0.55e-9, "smelu": 0.55e-9, "relu": 1.15e-9,
                       "swish": 2.0e-9}
DATA_PAIR_EXAMPLES_PER_SECOND = 2.2e7
LARGE_WINDOW_PAIR_EXAMPLES_PER_SECOND = 7e6
LARGE_WINDOW_EXAMPLES = 2 ** 22
#: Training and data generation share the 2 cores: the shorter of the two adds about half its
#: time to the longer (paper-scale Fig. 2 settings took: linear 120 s, 1 unit about 125 s,
#: 2 units about 290 s; this model says 128, 128 and 218 s, where max() alone said 103, 103
#: and 170).
OVERLAP_LOSS = 0.5
EVAL_DISTINCT_INPUTS = 4000  # distinct inputs of a 2^16 evaluation set, about
START_SECONDS = 5.0  # start and compile


def hidden_units(family):
    """Hidden units of one model of ``family``: the widths of its layers but the output."""
    return sum(s[0] for s in family.shapes if len(s) == 1) - 1


def products_seconds(family, models, inputs):
    """Seconds of the products of ``models`` models of ``family`` on ``inputs`` examples each
    for every weight, forward and back: 6 flops per weight and example, at the rate of the
    weight's layer (LARGE_LAYER_FLOPS_PER_SECOND for large layers)."""
    seconds = 0.0
    for shape in family.shapes:
        weights = int(np.prod(shape))
        large = len(shape) == 2 and weights >= LARGE_LAYER_WEIGHTS
        rate = LARGE_LAYER_FLOPS_PER_SECOND if large else FLOPS_PER_SECOND
        seconds += 6.0 * models * inputs * weights / rate
    return seconds


def step_seconds(models, batch, family, activation="relu"):
    """Seconds of one mini-batch step of ``models`` stacked models of ``family`` with
    ``activation`` (a name of irrepro.activations)."""
    per_model = MODEL_STEP_SECONDS
    for shape in family.shapes:
        if len(shape) == 2 and shape[1] >= 2:
            per_model += (SMALL_LAYER_STEP_SECONDS if is_small_layer(*shape)
                          else LAYER_STEP_SECONDS)
    fixed = STEP_SECONDS + models * per_model
    products = products_seconds(family, models, batch)
    units = models * batch * hidden_units(family)
    return max(fixed, products) + HIDDEN_UNIT_SECONDS[activation] * units


def shared_cores_seconds(train, data):
    """Wall seconds of training and data generation that run at once on the 2 cores."""
    return max(train, data) + OVERLAP_LOSS * min(train, data)


def data_seconds(setting):
    """Seconds to generate and shuffle the setting's examples (beside the training)."""
    large = setting.window * setting.batch >= LARGE_WINDOW_EXAMPLES
    rate = LARGE_WINDOW_PAIR_EXAMPLES_PER_SECOND if large else DATA_PAIR_EXAMPLES_PER_SECOND
    return setting.pairs * setting.examples / rate


def estimate_seconds(setting):
    """A rough wall-clock estimate of ``run_setting`` on 2 CPU cores from the rates above:
    training and data generation (they overlap, but share the cores), evaluation, the
    warm-start models (one per pair), the teachers of ``distill``, and start-up."""
    family, spec = component_family(setting), layout(setting)
    n_models = 2 * setting.pairs * spec.group
    train = setting.steps * step_seconds(n_models, setting.batch, family, setting.activation)
    data = data_seconds(setting)
    evaluation = setting.checkpoints * products_seconds(family, n_models,
                                                        EVAL_DISTINCT_INPUTS) / 3  # forward
    warm = (setting.warm_examples // setting.batch
            * step_seconds(setting.pairs, setting.batch, family, setting.activation))
    teachers = setting.steps * step_seconds(2 * setting.pairs * spec.teachers, setting.batch,
                                            family, setting.activation)  # distill
    return (shared_cores_seconds(train, data) + evaluation
            + (warm if setting.init == "warm" else 0.0)
            + (shared_cores_seconds(teachers, data) + START_SECONDS if spec.teachers else 0.0)
            + START_SECONDS)


#: Float32 arrays per parameter a run holds at its peak: the training state that stays in
#: cache (weights, optimizer slot, gradient: simulator.engine.STATE_ARRAYS), and as many
#: transient ones (updated weights and slot, a large kernel's transposed copy), an upper
#: estimate for memory, not the cache rule.
PEAK_ARRAYS_PER_PARAMETER = 6


def memory_estimate(setting, family):
    """Bytes a run of ``setting`` needs at its peak, roughly (an upper estimate); ``family``
    is the family of each stacked model (a mitigation's component)."""
    n_models = 2 * setting.pairs * layout(setting).group
    widths = [int(np.prod(s)) for s in family.shapes if len(s) == 1]
    weights = PEAK_ARRAYS_PER_PARAMETER * 4 * n_models * n_parameters(family)
    activations = 4 * 4 * n_models * setting.batch * (N_FEATURES + sum(widths))
    # A call's steps are set per stack, the most for the smallest stack (a pair).
    call = 3 * 8 * n_models * steps_per_call(family, 2, setting.batch) * setting.batch
    window = setting.window * setting.batch
    group = max(window, BLOCK_EXAMPLES)  # examples (int64) of every pair, orders (int32)
    shuffles = 8 * setting.pairs * group + 4 * n_models * group
    blocks = (QUEUED_BLOCKS + 3) * 8 * n_models * BLOCK_EXAMPLES  # queued and pending blocks
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
        raise UserError(f"this setting would run for about {format_seconds(seconds)} on 2 "
                        f"CPU cores ({setting.examples:,} examples per model, "
                        f"{setting.pairs} pairs); use fewer --examples or --pairs, e.g. "
                        "--examples 2^26")
    return seconds
