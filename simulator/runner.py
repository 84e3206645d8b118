"""Run one setting end to end: train, tidy the metrics, write the CSV, report."""
import click

from irrepro.durations import ANNOUNCE_SECONDS, format_seconds
from irrepro.tables import check_writable, write_csv
from simulator.cost import check_feasible
from simulator.models import parse_model
from simulator.results import save_weights, tidy_frame, weights_path
from simulator.summary import run_summary_text


def run_one(setting, out, progress=None, weights=False, quiet=False):
    """Train ``setting``, write its tidy CSV to ``out`` atomically (and with ``weights`` its
    trained weights beside it), print a summary unless ``quiet``. Returns the DataFrame.
    A run estimated at over a minute says so first (on stderr), once it is known to fit."""
    check_writable(out)
    seconds = check_feasible(setting)
    if seconds > ANNOUNCE_SECONDS and not quiet:
        click.echo(f"estimated {format_seconds(seconds)} on 2 CPU cores", err=True)
    from simulator.engine import run_setting  # starts TensorFlow: only once the run is sure

    output = run_setting(setting, progress=progress)
    frame = tidy_frame(setting, output.metrics)
    if weights:  # first, so a CSV on disk always has its weights when they were asked for
        save_weights(weights_path(out), setting, output, parse_model(setting.model))
    write_csv(frame, out)
    if not quiet:
        click.echo(run_summary_text(frame))
        click.echo(f"wrote {len(frame)} rows to {out}"
                   + (f" and weights to {weights_path(out)}" if weights else ""))
    return frame

