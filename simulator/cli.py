"""``simctl``: the simulator's command line (parsing only; the work lives in the modules)."""
import sys
from pathlib import Path

import click

from irrepro import __version__
from irrepro.activations import ACTIVATIONS
from irrepro.cli import (
    CONTEXT,
    COUNT,
    Group,
    executor_options,
    progress_option,
    set_option,
    smoke_option,
)
from simulator.config import INITS, OPTIMIZERS, Setting
from simulator.data import DATA_MODELS
from simulator.mitigations import MITIGATIONS

DEFAULTS = Setting()


@click.group("simctl", cls=Group, context_settings=CONTEXT)
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
@click.option("--mitigation", type=click.Choice(MITIGATIONS, case_sensitive=False),
              default=DEFAULTS.mitigation, show_default=True,
              help="Each member is the deployed model of this remedy: ensemble (mean "
                   "probability of E models), codistill (Anil et al. 2018), antidistill "
                   "(Shamir & Coviello 2020), distill (Hinton et al. 2015).")
@click.option("--members", type=COUNT, default=DEFAULTS.members, show_default=True,
              help="Components E per member: ensemble >= 1, codistill and antidistill >= 2, "
                   "distill: the teacher's components.")
@click.option("--mitigation-weight", type=float, default=DEFAULTS.mitigation_weight,
              show_default=True, help="w: weight of the codistillation / anti-distillation "
                                      "term; for distill the teacher's share in [0, 1].")
@click.option("--temperature", type=float, default=DEFAULTS.temperature, show_default=True,
              help="T (> 0) of the soft targets of codistill and distill.")
@click.option("--equal-flops", is_flag=True,
              help="ensemble / antidistill: narrower components, E of them with about the "
                   "parameters of one model.")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
              help="Experiment seed (data model, streams, initialisation, shuffles).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV to write [default: results/run-<config hash>.csv].")
@click.option("--save-weights", is_flag=True,
              help="Also store the trained weights (compressed .npz beside the CSV) for "
                   "the weight figures.")
@progress_option
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
      simctl run --mitigation ensemble --members 4 --init diff --window 2^10
      simctl run --mitigation codistill --members 2 --mitigation-weight 0.5
    """
    from simulator.runner import run_one

    setting = Setting(**params)
    out = out or Path("results") / f"run-{setting.config_hash()}.csv"
    run_one(setting, out, progress=progress, weights=save_weights)


@main.command()
@click.argument("results", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output path without extension [default: beside the first RESULTS].")
@click.option("--kind", type=click.Choice(["pd", "remedies", "timeseries"]), default="pd",
              show_default=True, help="pd: the paper's two-panel figure; remedies: PD "
                                      "against excess loss and compute, a curve per "
                                      "mitigation; timeseries: a metric against examples "
                                      "seen.")
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
    from simulator.plots import plot_results

    plot_results(results, out, kind, metric, click.echo)


@main.command()
@click.argument("results", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--metric", "metrics", multiple=True,
              help="Metric to tabulate (repeat for several) [default: relative_pd and "
                   "excess_loss, the paper's Delta_r and L].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the table as CSV here (means, standard errors, pairs).")
def table(results, metrics, out):
    """Print each curve's final mean ± standard error over pairs, per window, from result
    CSVs (files, or sweep folders), the numbers the figures draw.

    \b
    Examples:
      simctl table results/fig2
      simctl table docs/results/smooth --out smooth-final.csv
      simctl table results/run-*.csv --metric relative_pd --metric deviation_cosine
    """
    from simulator.summary import write_table

    write_table(results, out, metrics or None, click.echo)


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
    from simulator.plots import plot_weights_file

    plot_weights_file(weights, kind, pair, out, click.echo)


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder [default: results/<config name>].")
@click.option("--dry-run", is_flag=True, help="List the settings and their estimated cost.")
@smoke_option()
@click.option("--paper-scale", is_flag=True,
              help="The paper's scale: 2^26 examples, 16 pairs, 2^16 evaluation examples "
                   "(flags given beside it win).")
@click.option("--examples", type=COUNT, help="Override: training examples per model.")
@click.option("--pairs", type=COUNT, help="Override: number of pairs.")
@click.option("--eval-examples", type=COUNT, help="Override: evaluation set size.")
@click.option("--checkpoints", type=COUNT, help="Override: evaluations per run.")
@click.option("--seed", type=int, help="Override: experiment seed.")
@set_option
@click.option("--save-weights", is_flag=True, help="Store every setting's trained weights.")
@executor_options("settings")
@progress_option
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
    from simulator.sweep import run_sweep

    run_sweep(config, out, dry_run=dry_run, smoke=smoke, paper_scale=paper_scale, flags=flags,
              sets=sets, weights=save_weights, scheduler=scheduler, workers=workers,
              progress=progress, echo=click.echo)


if __name__ == "__main__":
    sys.exit(main())
