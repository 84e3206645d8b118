"""Result files: written atomically, stamped with provenance, named by a stable hash.

Every file a command writes goes through :func:`write_atomic`: it is written to a temporary
file beside its target and renamed onto it, so readers, interrupted runs and Dask workers
that die mid-unit never leave or see a partial file.
"""
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from irrepro import __version__
from irrepro.errors import UserError

PROVENANCE_COLUMNS = ["irrepro_version", "tensorflow_version", "config_hash", "git_commit"]


def config_hash(params):
    """A short, stable hash (12 hex digits) of a mapping of parameters: equal parameters hash
    equally whatever their order (values JSON can't write count by their text)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()
                          ).hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def git_commit():
    """The commit of the checkout this package runs from, or '' when there is none."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def tensorflow_version():
    """The version of the TensorFlow that ran (or would run) the models, without starting it
    when it is not running yet."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"].__version__
    for dist in ("tensorflow", "tensorflow-cpu", "tf-nightly"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return ""


def provenance(hash_):
    """The provenance columns of a result whose parameters hash to ``hash_``."""
    return {"irrepro_version": __version__, "tensorflow_version": tensorflow_version(),
            "config_hash": hash_, "git_commit": git_commit()}


def check_writable(path):
    """Raise UserError unless a file can be created at ``path`` (its folder is made)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".probe-"):
            pass
    except OSError as error:
        raise UserError(f"cannot write results to {path}: {error.strerror}; "
                        "choose another --out") from None
    if path.is_dir():
        raise UserError(f"--out {path} is a folder; give a file name such as {path}/run.csv")


def write_atomic(path, write):
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``: readers and
    interrupted runs never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make results private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(frame, path):
    """Write ``frame`` to the CSV ``path`` atomically (floats in shortest round-trip form)."""
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    write_atomic(path, lambda tmp: Path(tmp).write_text(text))


def save_figure(fig, stem, formats=("png", "pdf")):
    """Write the matplotlib figure ``fig`` to STEM.png and STEM.pdf atomically and close it;
    returns the paths."""
    import matplotlib.pyplot as plt

    paths = []
    for fmt in formats:
        path = f"{stem}.{fmt}"
        write_atomic(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=150))
        paths.append(path)
    plt.close(fig)
    return paths
