"""Run one setting end to end: train, tidy the metrics, write the CSV, report."""
import click

from simulator.engine import run_setting
from simulator.results import check_writable, summarise, tidy_frame, write_csv


def run_one(setting, out, progress=None):
    """Train ``setting``, write its tidy CSV to ``out`` atomically, print a summary.

    Returns the DataFrame written.
    """
    check_writable(out)
    output = run_setting(setting, progress=progress)
    frame = tidy_frame(setting, output.metrics)
    write_csv(frame, out)
    click.echo(format_summary(summarise(frame)))
    click.echo(f"wrote {len(frame)} rows to {out}")
    return frame


def format_summary(summary):
    """Metric means (± standard error over pairs) at the last checkpoint, as text."""
    lines = [f"{'metric':<18} {'mean':>12} {'± sem':>10}"]
    for _, row in summary.iterrows():
        lines.append(f"{row['metric']:<18} {row['mean']:>12.4g} {row['sem']:>10.2g}")
    return "\n".join(lines)
