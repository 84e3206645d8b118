"""Progress bars for long work: on a terminal only, on standard error."""
import sys

from tqdm import tqdm


def progress_bar(total, unit, enabled=None, desc=None):
    """A tqdm bar of ``total`` units; ``enabled=None`` shows it only when stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, unit=unit, desc=desc, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False)
