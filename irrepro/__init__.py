"""irrepro's shared core: the plumbing both domain packages use, and nothing of either domain.

Layout (imports go one way: ``simulator`` and ``image_experiments`` import ``irrepro``, never
each other, and ``irrepro`` imports neither):

- ``errors``: :class:`~irrepro.errors.UserError`, the one exception for mistakes a user can fix;
- ``cli``: click pieces of ``simctl`` and ``imgctl`` (one-line errors, counts, shared options);
- ``tables``: atomic file and tidy-CSV writing, provenance, the stable config hash;
- ``config``: sweep configs (YAML file < smoke preset < command-line flags);
- ``units`` and ``executors``: idempotent units of work, run here or on a Dask cluster;
- ``streams``: every random stream's role, in one registry;
- ``progress``, ``memory``, ``cores``: progress bars, available memory, the CPU cores a
  process may use;
- ``activations``: identity, ReLU, SmeLU and Swish (Keras callables in ``keras_activations``);
- ``tf``: TensorFlow, started once with its native notices filtered. Only modules that train
  or evaluate a model import it, so every other command starts without TensorFlow.

Importing the package sets environment defaults that must be in place before TensorFlow loads
(a user can override each beforehand): quiet C++ logging, and :data:`XLA_CPU_IN_PLACE` and, on
x86-64, :data:`XLA_CPU_ISA`, added to ``XLA_FLAGS`` (:func:`project_xla_flags`). oneDNN is
left to TensorFlow's own default (``TF_ENABLE_ONEDNN_OPTS``; on Linux, on for x86 CPUs with
AVX-512 VNNI and later): its CPU primitives sum in a fixed order for a fixed machine and
thread count (oneDNN reads its "deterministic" attribute only in its GPU code), and two
processes with it on write the same image CSVs, byte for byte (tested).
"""
import os
import platform
from importlib import metadata

#: XLA:CPU's copy insertion, told to analyse the training loop's regions, updates the stacked
#: weights in place instead of copying every kernel once a step (a [32, 1024, 512] copy in the
#: MLP step: about 10% of it). It changes where buffers live, not what is computed: results are
#: bit-identical with it and without (a test checks).
XLA_CPU_IN_PLACE = "--xla_cpu_copy_insertion_use_region_analysis=true"

#: XLA:CPU's loop emitter copies each tile of 16 floats it works on through a stack buffer.
#: Where the CPU has AVX-512, LLVM copies the tile with one 512-bit store that the loop then
#: reads back as two 256-bit loads (XLA prefers 256-bit vectors), loads a CPU cannot forward
#: from that store: a stall in every tile (seen in the disassembly of AdaGrad's accumulator
#: update). Capped at AVX2, the tile is copied as two 256-bit moves. On the 2-core AVX-512
#: EPYC: that update loop, [2, 1024, 512] on one core, 365 -> 167 us; a [1024, 512] step of
#: 32 models 18.8-18.9 -> 16.3-17.6 ms, alternating processes. The loops compute the same
#: operations at the same vector width, and five simctl settings and the smoke image sweep
#: wrote byte-identical CSVs with and without the cap (a test checks). Added on x86-64 only,
#: whose instruction sets these are.
XLA_CPU_ISA = "--xla_cpu_max_isa=AVX2"
#: XLA aborts on a flag it does not know, so the flags are added only for the TensorFlow
#: versions they were checked on.
XLA_FLAGS_SINCE = (2, 21)


def _tensorflow_version():
    """(major, minor) of the installed TensorFlow, read without importing it; None if absent."""
    for distribution in ("tensorflow", "tensorflow-cpu"):
        try:
            release = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
        return tuple(int(part) for part in release.split(".")[:2] if part.isdigit())
    return None


def _add_xla_flag(flag):
    """Append ``flag`` to ``XLA_FLAGS`` unless the user's ``XLA_FLAGS`` already names it."""
    name = flag.split("=")[0]
    current = os.environ.get("XLA_FLAGS", "")
    if name not in current:
        os.environ["XLA_FLAGS"] = f"{current} {flag}".strip()


def project_xla_flags(machine=None, version=None):
    """The XLA flags this project adds on a CPU ``machine`` (platform.machine()) with
    TensorFlow ``version`` (major, minor); both default to this machine's."""
    machine = platform.machine() if machine is None else machine
    version = (_tensorflow_version() or (0,)) if version is None else version
    if version < XLA_FLAGS_SINCE:
        return []
    return [XLA_CPU_IN_PLACE] + ([XLA_CPU_ISA] if machine.lower() in ("x86_64", "amd64") else [])


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for _flag in project_xla_flags():
    _add_xla_flag(_flag)

__version__ = "0.1.0"
