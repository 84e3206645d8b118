"""Throughput of the stacked engine against per-model ``keras.Model.fit``, and against the
machine's own limits, in one run.

Throughput is model-examples per second, data generation included: the engine trains
2 * pairs models at once on PairedBatches; the naive way generates one model's examples and
calls ``fit`` on them, one model at a time, in a subprocess that has not imported this project
(TensorFlow's own defaults, oneDNN on: benchmarks/machine.py). Compilation is excluded from
both (one warm-up), and each is the best of machine.TIMED_RUNS timed runs.
The same run measures the machine's float32 matmul peak and memory bandwidth and prints each
engine's GFLOP/s as a share of the peak, and its number of stacks; where the models are split
for the cache (the MLP), also what one step of all models at once could reach at best.

    python benchmarks/bench_engine.py                 # linear, tower, 1024-512 (~5 min)
    python benchmarks/bench_engine.py --paper-scale   # also the 2^26-example linear run
"""
import argparse
import os
import tempfile
import time

import machine
import numpy as np

import irrepro  # noqa: F401  (environment defaults before TensorFlow loads)
from irrepro.cores import usable_cores
from irrepro.keras_activations import get_activation
from irrepro.streams import Role, rng_for
from simulator.config import Setting
from simulator.cost import n_parameters
from simulator.data import PairedBatches, linear_model, unpack_features, unpack_labels
from simulator.engine import (
    ADAGRAD_INITIAL_ACCUMULATOR,
    StackedTrainer,
    make_optimizer,
    run_setting,
    train_shards,
)
from simulator.models import parse_model, stacked_init

BATCH = 32
#: Bytes per parameter and model one AdaGrad step over all models at once moves at least when
#: the weights do not stay in cache: read w (forward), read w (backward), and a fused update
#: reading the accumulator and writing w and the accumulator, float32 each.
STEP_BYTES_PER_PARAMETER = 20


def naive_throughput(family, examples):
    """Model-examples/s of generating one model's data here and calling fit on it in a
    subprocess with TensorFlow's defaults (machine.fit_seconds; its best of
    machine.TIMED_RUNS epochs)."""
    data = linear_model(0)
    warm = data.sample(rng_for(0, 0), BATCH * 4)  # also loads the sampler's compiled loops
    start = time.perf_counter()
    packed = data.sample(rng_for(1, 0), examples)
    x, y = unpack_features(packed).astype(np.float32), unpack_labels(packed)[:, None]
    generate = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        model_path, data_path = os.path.join(tmp, "m.keras"), os.path.join(tmp, "d.npz")
        family.keras_model(get_activation("relu")).save(model_path)
        np.savez(data_path, x=x, y=y.astype(np.float32),
                 x_warm=unpack_features(warm).astype(np.float32),
                 y_warm=unpack_labels(warm)[:, None].astype(np.float32))
        optimizer = {"name": "adagrad", "learning_rate": 0.1,
                     "initial_accumulator_value": ADAGRAD_INITIAL_ACCUMULATOR}
        fit = machine.fit_seconds(model_path, data_path, optimizer, "binary", BATCH,
                                  repeats=machine.TIMED_RUNS)
    return examples / (generate + fit)


def engine_throughput(family, pairs, examples):
    """Model-examples/s of the stacked engine training 2 * pairs models together: the best
    of machine.TIMED_RUNS runs, each on ``examples`` fresh examples per model."""
    init = stacked_init(family, pairs, True, lambda k, m: rng_for(0, Role.INIT, k, m))
    trainer = StackedTrainer(family, get_activation("relu"), init,
                             make_optimizer("adagrad", 0.1), BATCH)
    warm = PairedBatches(linear_model(0), 0, pairs, 1, BATCH, BATCH * trainer.steps_per_call)
    trainer.train(warm.take(trainer.steps_per_call))  # compile
    steps = examples // BATCH

    def run(k):  # fresh data, generated inside the timing
        trainer.train_from(PairedBatches(linear_model(k + 1), k + 1, pairs, 1, BATCH, examples),
                           steps)

    return 2 * pairs * examples / machine.best_seconds(machine.TIMED_RUNS, run)


CASES = [  # model, examples per model for fit, examples per model for the engine
    ("linear", 2 ** 14, 2 ** 20),
    ("tower", 2 ** 14, 2 ** 18),
    ("mlp", 2 ** 12, 2 ** 13),  # 256 steps: 32 (2^10) moved 20-27% of peak between runs
]


def step_products(family, models):
    """The batched matrix products of one training step of ``models`` stacked MLPs, as
    (count, m, k, n): per layer i -> o the forward [B, i] @ [i, o], the weight gradient
    [i, B] @ [B, o] and, above the first layer, the input gradient [B, o] @ [o, i]."""
    layers = [s for s in family.shapes if len(s) == 2]
    products = []
    for index, (fan_in, fan_out) in enumerate(layers):
        products += [(models, BATCH, fan_in, fan_out), (models, fan_in, BATCH, fan_out)]
        if index:
            products.append((models, BATCH, fan_out, fan_in))
    return products


def shape_bound_seconds(family, models, bandwidth):
    """Seconds of one step of all ``models`` at once, as a per-step stack of them would run
    at best: each product at NumPy's best rate at its shape, plus the AdaGrad update's
    traffic at the bandwidth (weights streamed from memory)."""
    products = machine.products_seconds(step_products(family, models))
    update = STEP_BYTES_PER_PARAMETER * n_parameters(family) * models / (bandwidth * 1e9)
    return sum(products) + update


def scaled(examples, scale):
    """``examples * scale`` rounded down to whole mini-batches (at least one)."""
    return max(BATCH, int(examples * scale)) // BATCH * BATCH


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every example count (e.g. 0.25 for a quick look)")
    parser.add_argument("--models", nargs="+", default=[name for name, *_ in CASES],
                        help="which of linear, tower, mlp to measure (default: all)")
    parser.add_argument("--paper-scale", action="store_true",
                        help="also time simctl's linear run at 2^26 examples, 16 pairs")
    args = parser.parse_args()
    peak, bandwidth = machine.matmul_peak(), machine.memory_bandwidth()
    machine.print_machine(peak, bandwidth)
    print(f"{'model':<10} {'fit (ex/s)':>11} {'engine (ex/s)':>14} {'ratio':>7} "
          f"{'GFLOP/s':>8} {'of peak':>8} {'stacks':>7}")
    for name, fit_examples, engine_examples in CASES:
        if name not in args.models:
            continue
        family = parse_model(name)
        naive = naive_throughput(family, scaled(fit_examples, args.scale))
        fast = engine_throughput(family, args.pairs, scaled(engine_examples, args.scale))
        # 6 flops per parameter and example: forward, and the two gradient products.
        params = n_parameters(family)
        gflops = 6.0 * params * fast / 1e9
        stacks = train_shards(2 * args.pairs, family)
        print(f"{family.name:<10} {naive:>11.3g} {fast:>14.3g} {fast / naive:>6.0f}x "
              f"{gflops:>8.1f} {gflops / peak['gflops']:>8.1%} {stacks:>7}", flush=True)
        if stacks > usable_cores():  # split for the cache: against the one-stack layout
            step_flops = 6.0 * params * 2 * args.pairs * BATCH
            shape_bound = shape_bound_seconds(family, 2 * args.pairs, bandwidth)
            print(f"{'':<10} one step of all {2 * args.pairs} models at once, its products at "
                  f"NumPy's best at their shapes and its update's traffic at the bandwidth: "
                  f"{shape_bound * 1e3:.0f} ms a step, {step_flops / shape_bound / 1e9:.0f} "
                  f"GFLOP/s; the engine's stacks: {gflops / (step_flops / shape_bound / 1e9):.1f}x "
                  f"that", flush=True)
    if args.paper_scale:
        setting = Setting(model="linear", activation="identity", window=2 ** 10,
                          pairs=16, examples=2 ** 26)
        start = time.perf_counter()
        run_setting(setting)
        print(f"paper scale (linear, 2^26 examples, 16 pairs, window 2^10, "
              f"{setting.checkpoints} evaluations): {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
