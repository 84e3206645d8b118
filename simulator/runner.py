"""Run one setting end to end: train, tidy the metrics, write the CSV, report."""
import click

from simulator.engine import check_memory, run_setting
from simulator.estimate import cost_notice
from simulator.models import parse_model
from simulator.results import (check_writable, save_weights, summarise, tidy_frame,
                               weights_path, write_csv)


def run_one(setting, out, progress=None, weights=False, quiet=False):
    """Train ``setting``, write its tidy CSV to ``out`` atomically (and with ``weights`` its
    trained weights beside it), print a summary unless ``quiet``. Returns the DataFrame.
    A run estimated at over a minute says so first (on stderr), once it is known to fit."""
    check_writable(out)
    check_memory(setting, parse_model(setting.model))
    notice = cost_notice([setting])
    if notice and not quiet:
        click.echo(notice, err=True)
    output = run_setting(setting, progress=progress)
    frame = tidy_frame(setting, output.metrics)
    if weights:  # first, so a CSV on disk always has its weights when they were asked for
        save_weights(weights_path(out), setting, output, parse_model(setting.model))
    write_csv(frame, out)
    if not quiet:
        click.echo(format_summary(summarise(frame)))
        click.echo(f"wrote {len(frame)} rows to {out}"
                   + (f" and weights to {weights_path(out)}" if weights else ""))
    return frame


def format_summary(summary):
    """Metric means (± standard error over pairs) at the last checkpoint, as text."""
    lines = [f"{'metric':<18} {'mean':>12} {'± sem':>10}"]
    for _, row in summary.iterrows():
        lines.append(f"{row['metric']:<18} {row['mean']:>12.4g} {row['sem']:>10.2g}")
    return "\n".join(lines)
