"""What the machine can do, and per-model Keras ``fit`` as a user runs it; shared by the
benchmarks.

- ``matmul_peak()``: the practical float32 matrix-product rate, GFLOP/s, the larger of NumPy's
  (OpenBLAS, in a subprocess with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` unset so that
  OpenBLAS picks its kernel for this CPU; threadpoolctl names the kernel) and TensorFlow's
  (in a subprocess with TensorFlow's own defaults).
- ``products_seconds(products)``: seconds of a list of batched matrix products at their own
  shapes, each at the best rate NumPy (OpenBLAS, variables unset as above) reaches there: the
  products of a small-batch training step have a short side (the batch), where no BLAS comes
  near its square-matrix peak.
- ``memory_bandwidth()``: GB/s of large copies (bytes read plus bytes written), the best of
  one thread and one thread per core.
- ``fit_seconds(...)``: seconds of ``keras.Model.fit`` on a saved model and saved data, in a
  subprocess that has not imported this project, so TensorFlow runs with its own defaults
  (oneDNN as TensorFlow decides, op determinism off, ``XLA_FLAGS`` without the project's
  in-place flag), as a user's Keras does, whatever the calling shell set for the project.

This module imports neither TensorFlow nor the project at its top (the parent reads the
project's XLA flag to strip it): it is also the subprocesses' script
(``python machine.py numpy-peak | tf-peak | products SPEC.json | fit SPEC.json``).
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

MATMUL_SIZE = 4096
REPEATS = 5
#: Timed runs of a benchmark's row (an engine, ``fit``); the best one counts, as the peak is
#: the best of its REPEATS products: on a shared machine one run measures the neighbours too.
TIMED_RUNS = 3
#: Environment variables removed for the subprocesses: OpenBLAS' kernel choice, and the
#: project's TensorFlow settings (a user's Keras runs without them).
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
PROJECT_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "TF_DETERMINISTIC_OPS")


def _child_env(drop):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    from irrepro import project_xla_flags  # in the parent only; the child imports nothing of it

    flags = env.pop("XLA_FLAGS", "")
    for flag in project_xla_flags():
        flags = flags.replace(flag, "")
    flags = " ".join(flags.split())
    if flags:
        env["XLA_FLAGS"] = flags
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("PYTHONPATH", None)  # the child must not find the project's packages first
    return env


def _run_child(args, drop, timeout=900):
    """Run this file as a subprocess with ``args``; its last stdout line, parsed as JSON."""
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args],
                         env=_child_env(drop), capture_output=True, text=True,
                         timeout=timeout, cwd=tempfile.gettempdir(), check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_seconds(runs, work):
    """The fewest seconds ``work(run)`` took over ``run`` = 0 .. runs - 1."""
    best = float("inf")
    for run in range(runs):
        start = time.perf_counter()
        work(run)
        best = min(best, time.perf_counter() - start)
    return best


def _best_seconds(matmul, a, b):
    """Best of REPEATS timed products ``matmul(a, b)``, after one warm-up."""
    matmul(a, b)
    return best_seconds(REPEATS, lambda _: matmul(a, b))


def _best_matmul_gflops(matmul, a, b):
    """The rate of the best of REPEATS square products: 2 n^3 flops each."""
    return 2.0 * MATMUL_SIZE ** 3 / _best_seconds(matmul, a, b) / 1e9


def _numpy_peak():
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(0)
    a, b = (rng.random((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32) for _ in range(2))
    blas = [{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for info in threadpool_info() if info.get("user_api") == "blas"]
    return {"gflops": _best_matmul_gflops(np.matmul, a, b), "blas": blas}


def _tf_peak():
    import tensorflow as tf

    a, b = (tf.random.stateless_uniform((MATMUL_SIZE, MATMUL_SIZE), (0, s)) for s in (1, 2))
    # A scalar comes back, so a GPU's product is timed without copying it to the host.
    product = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    return {"gflops": _best_matmul_gflops(lambda x, y: product(x, y).numpy(), a, b),
            "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "TensorFlow's default")}


def matmul_peak():
    """{'gflops': the larger rate, 'numpy': {...}, 'tensorflow': {...}}, each measured in its
    own subprocess (OpenBLAS' variables and the project's TensorFlow settings removed)."""
    drop = OPENBLAS_VARIABLES + PROJECT_VARIABLES
    numpy_peak, tf_peak = _run_child(["numpy-peak"], drop), _run_child(["tf-peak"], drop)
    return {"gflops": max(numpy_peak["gflops"], tf_peak["gflops"]),
            "numpy": numpy_peak, "tensorflow": tf_peak}


def _products(spec_path):
    with open(spec_path) as f:
        products = json.load(f)
    rng = np.random.default_rng(0)
    return {"seconds": [_best_seconds(np.matmul, rng.random((count, m, k), dtype=np.float32),
                                      rng.random((count, k, n), dtype=np.float32))
                        for count, m, k, n in products]}


def _run_child_on(mode, spec, drop):
    """``_run_child`` of ``mode`` on ``spec`` (JSON-able), handed over in a temporary file."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        return _run_child([mode, f.name], drop)
    finally:
        os.unlink(f.name)


def products_seconds(products):
    """Best seconds of each batched product ``(count, m, k, n)`` ([count, m, k] @
    [count, k, n]), timed in a NumPy subprocess with OpenBLAS' variables unset."""
    spec = [list(map(int, p)) for p in products]
    return _run_child_on("products", spec, OPENBLAS_VARIABLES + PROJECT_VARIABLES)["seconds"]


def memory_bandwidth(mebibytes=512):
    """GB/s (1e9 bytes) of copying a ``mebibytes`` array, counting the bytes read and written,
    the best of REPEATS with one thread and with one thread per core (NumPy's copy releases
    the GIL)."""
    n = mebibytes * 2 ** 20 // 8
    src, dst = np.ones(n), np.empty(n)

    def copy(threads):
        parts = np.array_split(np.arange(n), threads)
        bounds = [(p[0], p[-1] + 1) for p in parts]
        workers = [threading.Thread(target=np.copyto, args=(dst[a:b], src[a:b]))
                   for a, b in bounds]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.perf_counter() - start

    best = float("inf")
    for threads in sorted({1, os.cpu_count() or 1}):
        copy(threads)  # pages touched
        best = min([best, *(copy(threads) for _ in range(REPEATS))])
    return 2 * src.nbytes / best / 1e9


def fit_seconds(model_path, data_path, optimizer, loss, batch, repeats=1):
    """Seconds of a timed ``fit`` epoch of the saved Keras model (``model_path``, .keras)
    on ``data_path`` (.npz with x_warm, y_warm, x, y), the best of ``repeats`` epochs, after
    one untimed epoch on the warm-up data that builds the training function. ``optimizer``:
    {"name": "adagrad" | "adam", keyword arguments}; ``loss``: "binary" or "sparse"
    cross-entropy from logits. Runs in a subprocess with TensorFlow's own defaults (see the
    module docstring)."""
    spec = {"model": model_path, "data": data_path, "optimizer": optimizer, "loss": loss,
            "batch": batch, "repeats": repeats}
    return _run_child_on("fit", spec, PROJECT_VARIABLES)["seconds"]


def _fit(spec_path):
    import keras

    with open(spec_path) as f:
        spec = json.load(f)
    model = keras.saving.load_model(spec["model"], compile=False)
    options = dict(spec["optimizer"])
    name = options.pop("name")
    optimizer = {"adagrad": keras.optimizers.Adagrad, "adam": keras.optimizers.Adam}[name]
    loss = {"binary": keras.losses.BinaryCrossentropy(from_logits=True),
            "sparse": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}
    model.compile(optimizer=optimizer(**options), loss=loss[spec["loss"]])
    data = np.load(spec["data"])
    fit = {"batch_size": spec["batch"], "epochs": 1, "shuffle": False, "verbose": 0}
    model.fit(data["x_warm"], data["y_warm"], **fit)
    best = best_seconds(spec["repeats"], lambda _: model.fit(data["x"], data["y"], **fit))
    return {"seconds": best,
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "TensorFlow's default")}


def describe_machine():
    """'<CPU model> (<n> cores)' from /proc/cpuinfo."""
    name = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores), load {os.getloadavg()[0]:.1f}"


def print_machine(peak, bandwidth):
    blas = peak["numpy"]["blas"]
    kernel = ", ".join(f"{b['internal_api']} {b['version']} {b['architecture']}" for b in blas)
    print(f"machine: {describe_machine()}")
    print(f"float32 matmul peak {peak['gflops']:.0f} GFLOP/s (NumPy {peak['numpy']['gflops']:.0f}"
          f" via {kernel or 'unknown BLAS'}; TensorFlow {peak['tensorflow']['gflops']:.0f} on "
          f"{peak['tensorflow']['device']}); "
          f"memory bandwidth {bandwidth:.1f} GB/s (copy, read + write)", flush=True)


if __name__ == "__main__":
    mode, spec_path = sys.argv[1], sys.argv[2:]
    children = {"numpy-peak": _numpy_peak, "tf-peak": _tf_peak, "products": _products,
                "fit": _fit}
    print(json.dumps(children[mode](*spec_path)))
