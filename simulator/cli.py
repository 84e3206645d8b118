"""``simctl``: the simulator's command line (parsing only; the work lives in the modules)."""
import contextlib
import sys
from pathlib import Path

import click

from simulator import __version__
from simulator.activations import ACTIVATIONS
from simulator.clitools import COUNT, Group
from simulator.config import INITS, OPTIMIZERS, Setting
from simulator.data import DATA_MODELS

DEFAULTS = Setting()
PAPER_SCALE = {"examples": 2 ** 26, "pairs": 16, "eval_examples": 2 ** 16}  # Snapp & Shamir


@click.group("simctl", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simctl")
def main():
    """Synthesize irreproducibility: train pairs of small Keras models on the same synthetic
    examples and measure how much their predictions differ (Snapp & Shamir, 2021).

    \b
    Examples:
      simctl run --activation smelu --window 2^10
      simctl run --model linear --init diff --window 1 --examples 2^22
      simctl run --help
    """


@main.command()
@click.option("--data", type=click.Choice(sorted(DATA_MODELS)), default=DEFAULTS.data,
              show_default=True, help="True data model.")
@click.option("--model", default=DEFAULTS.model, show_default=True,
              help="linear, single, double, tower (16-8-4-2), mlp (1024-512), wide, "
                   "or hidden widths such as 16-8-4-2.")
@click.option("--activation", type=click.Choice(ACTIVATIONS, case_sensitive=False),
              default=DEFAULTS.activation, show_default=True, help="Hidden-unit activation.")
@click.option("--beta", type=float, default=DEFAULTS.beta, show_default=True,
              help="beta of SmeLU and Swish (> 0).")
@click.option("--init", type=click.Choice(INITS), default=DEFAULTS.init, show_default=True,
              help="Identical (same) or distinct (diff) initial weights within a pair, or "
                   "warm: every model starts from one model trained first (warm start).")
@click.option("--window", type=COUNT, default=DEFAULTS.window, show_default=True,
              help="Shuffling window z in mini-batches (1 = shuffle only inside a batch).")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=DEFAULTS.optimizer,
              show_default=True, help="AdaGrad (accumulator 0.1) or SGD (momentum 0.9, "
                                      "inverse-time decay 0.001).")
@click.option("--lr", type=float, default=DEFAULTS.lr, show_default=True,
              help="Learning rate.")
@click.option("--pairs", type=COUNT, default=DEFAULTS.pairs, show_default=True,
              help="Number of model pairs M.")
@click.option("--examples", type=COUNT, default=DEFAULTS.examples, show_default="2^20",
              help="Training examples per model, one pass (paper: 2^26).")
@click.option("--eval-examples", type=COUNT, default=DEFAULTS.eval_examples,
              show_default="2^16", help="Evaluation set size N.")
@click.option("--checkpoints", type=COUNT, default=DEFAULTS.checkpoints, show_default=True,
              help="Evaluations during training, log-spaced, the last at the end.")
@click.option("--warm-examples", type=COUNT, default=DEFAULTS.warm_examples,
              show_default="2^20", help="With --init warm: examples of the warm-start model.")
@click.option("--warm-lr", type=float, default=DEFAULTS.warm_lr, show_default=True,
              help="With --init warm: learning rate of the warm-start model (the pairs then "
                   "train at --lr, usually smaller).")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
              help="Experiment seed (data model, streams, initialisation, shuffles).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV to write [default: results/run-<config hash>.csv].")
@click.option("--save-weights", is_flag=True,
              help="Also store the trained weights (compressed .npz beside the CSV) for "
                   "the weight figures.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar [default: on when stderr is a terminal].")
def run(out, save_weights, progress, **params):
    """Train one setting's model pairs and write its metrics as a tidy CSV.

    One row per (pair, checkpoint, metric): relative_pd (Delta_r, eq. 3), absolute_pd,
    excess_loss (L, eq. 2), and deviation_cosine for linear models on linear data.

    \b
    Examples:
      simctl run --activation smelu --window 2^10
      simctl run --model 2 --activation relu --init diff --window 2^20
      simctl run --data quadratic --model mlp --activation swish --beta 0.5 --pairs 4
      simctl run --optimizer sgd --lr 0.01 --out results/sgd.csv
      simctl run --model mlp --data quadratic --init warm --lr 0.01 --warm-lr 0.1
      simctl run --model tower --save-weights --out results/tower.csv
    """
    from simulator.estimate import check_feasible
    from simulator.runner import run_one

    setting = Setting(**params)
    check_feasible([setting])  # sizes no machine could finish: one line, exit 2
    out = out or Path("results") / f"run-{setting.config_hash()}.csv"
    run_one(setting, out, progress=progress, weights=save_weights)


@main.command()
@click.argument("results", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output path without extension [default: beside the first RESULTS].")
@click.option("--kind", type=click.Choice(["pd", "timeseries"]), default="pd",
              show_default=True, help="pd: the paper's two-panel figure; timeseries: a "
                                      "metric against examples seen.")
@click.option("--metric", default="relative_pd", show_default=True,
              help="Metric of the timeseries figure.")
def plot(results, out, kind, metric):
    """Draw a figure from result CSVs (files, or sweep folders) and write PNG and PDF.

    \b
    Examples:
      simctl plot results/fig2/fig2.csv
      simctl plot results/fig2 --out docs/figures/fig2
      simctl plot results/run-*.csv --kind timeseries --metric excess_loss
    """
    from simulator import plots

    frame = plots.read_results(results)
    figure = (plots.pd_figure(frame) if kind == "pd"
              else plots.timeseries_figure(frame, metric))
    first = results[0]
    stem = out or (first / first.name if first.is_dir() else first.with_suffix(""))
    suffix = "" if kind == "pd" else f"-{metric}"
    paths = plots.save_figure(figure, f"{stem}{suffix}")
    click.echo("wrote " + " and ".join(map(str, paths)))


@main.command("plot-weights")
@click.argument("weights", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["index", "diff", "cloud"]), default="index",
              show_default=True, help="index: a pair's weights against weight index "
              "(Fig. 3); diff: their differences (Fig. 4); cloud: member against member by "
              "layer (Fig. 7, 9).")
@click.option("--pair", type=int, default=0, show_default=True, help="Which pair.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output path without extension [default: beside WEIGHTS].")
def plot_weights(weights, kind, pair, out):
    """Draw a weight figure from a run's saved weights (simctl run --save-weights).

    \b
    Examples:
      simctl run --model double --init same --window 2^20 --save-weights --out r/d.csv
      simctl plot-weights r/d.weights.npz --kind index
      simctl plot-weights r/d.weights.npz --kind cloud --pair 3
    """
    from simulator import plots
    from simulator.results import load_weights_frame

    figure = plots.weights_figure(load_weights_frame(weights), kind, pair)
    stem = out or weights.with_name(weights.name.removesuffix(".npz") + f"-{kind}-pair{pair}")
    paths = plots.save_figure(figure, stem)
    click.echo("wrote " + " and ".join(map(str, paths)))


def _parse_sets(values):
    """--set key=value pairs as a dict (values parsed as YAML scalars, so 0.1 is a float)."""
    import yaml

    pairs = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{text}' is not KEY=VALUE; e.g. --set lr=0.01",
                                     param_hint="--set")
        pairs[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return pairs


def _counts(settings, key):
    """The distinct values of ``key`` over ``settings``; powers of 2 above 1024 as 2^k."""
    def show(n):
        return f"2^{n.bit_length() - 1}" if n > 1024 and n & (n - 1) == 0 else str(n)
    return ", ".join(show(n) for n in sorted({getattr(s, key) for s in settings}))


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder [default: results/<config name>].")
@click.option("--dry-run", is_flag=True, help="List the settings and their estimated cost.")
@click.option("--smoke", is_flag=True, help="Apply the config's tiny 'smoke' scale.")
@click.option("--paper-scale", is_flag=True,
              help="The paper's scale: 2^26 examples, 16 pairs, 2^16 evaluation examples "
                   "(flags given beside it win).")
@click.option("--examples", type=COUNT, help="Override: training examples per model.")
@click.option("--pairs", type=COUNT, help="Override: number of pairs.")
@click.option("--eval-examples", type=COUNT, help="Override: evaluation set size.")
@click.option("--checkpoints", type=COUNT, help="Override: evaluations per run.")
@click.option("--seed", type=int, help="Override: experiment seed.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override any setting parameter, e.g. --set lr=0.01 (repeatable).")
@click.option("--save-weights", is_flag=True, help="Store every setting's trained weights.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="Send the settings to this Dask distributed scheduler.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Start a local Dask cluster of N worker processes for the sweep.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar [default: on when stderr is a terminal].")
def sweep(config, out, dry_run, smoke, paper_scale, sets, save_weights, scheduler, workers,
          progress, **flags):
    """Run every setting of a sweep CONFIG (YAML), one CSV shard per setting.

    Finished settings are skipped, so an interrupted sweep resumes where it stopped.
    The merged table is written to OUT/<name>.csv.

    \b
    Examples:
      simctl sweep configs/fig2.yaml --dry-run
      simctl sweep configs/fig2.yaml
      simctl sweep configs/fig2.yaml --paper-scale --workers 4
      simctl sweep configs/fig10.yaml --examples 2^18 --pairs 4
      simctl sweep configs/fig6.yaml --smoke --out /tmp/fig6
      simctl sweep configs/fig8.yaml --workers 2
      simctl sweep configs/fig8.yaml --scheduler tcp://10.0.0.5:8786
    """
    from simulator import sweep as sweeps
    from simulator.executors import make_executor
    from simulator.results import check_writable

    spec = sweeps.read_config(config)
    overrides = {**(PAPER_SCALE if paper_scale else {}),
                 **{k: v for k, v in flags.items() if v is not None}, **_parse_sets(sets)}
    settings = sweeps.expand(spec, overrides, smoke=smoke)
    out = out or Path("results") / spec["name"]
    units = sweeps.units_for(settings, out, weights=save_weights)
    if dry_run:
        table = sweeps.plan_table(units)
        click.echo(table.to_string(index=False))
        todo = table[table["status"] == "todo"]
        click.echo(f"{len(table)} settings, {len(todo)} to run, estimated "
                   f"{todo['est_s'].sum() / 60:.1f} min on 2 CPU cores")
        click.echo("scale: " + "; ".join(f"{key.replace('_', ' ')} {_counts(settings, key)}"
                                         for key in ("examples", "pairs", "eval_examples")))
        return
    from simulator.estimate import cost_notice

    notice = cost_notice(u.setting for u in units if not u.done())
    if notice:
        click.echo(notice, err=True)
    check_writable(out / "shards" / "probe.csv")
    executor = make_executor(scheduler or spec.get("scheduler"), workers or spec.get("workers"))
    with executor or contextlib.nullcontext():
        ran = sweeps.run_units(units, executor, progress=progress)
    merged = sweeps.merge_shards(out, spec["name"])
    click.echo(f"ran {ran} of {len(units)} settings ({len(units) - ran} already done); "
               f"wrote {merged}")


if __name__ == "__main__":
    sys.exit(main())
