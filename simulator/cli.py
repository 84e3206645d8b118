"""``simctl``: the simulator's command line (parsing only; the work lives in the modules)."""
import sys
from pathlib import Path

import click

from simulator import __version__
from simulator.activations import ACTIVATIONS
from simulator.clitools import COUNT, Group
from simulator.config import INITS, OPTIMIZERS, Setting
from simulator.data import DATA_MODELS

DEFAULTS = Setting()


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
              help="Identical (same) or distinct (diff) initial weights within a pair.")
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
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
              help="Experiment seed (data model, streams, initialisation, shuffles).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV to write [default: results/run-<config hash>.csv].")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar [default: on when stderr is a terminal].")
def run(out, progress, **params):
    """Train one setting's model pairs and write its metrics as a tidy CSV.

    One row per (pair, checkpoint, metric): relative_pd (Delta_r, eq. 3), absolute_pd,
    excess_loss (L, eq. 2), and deviation_cosine for linear models on linear data.

    \b
    Examples:
      simctl run --activation smelu --window 2^10
      simctl run --model 2 --activation relu --init diff --window 2^20
      simctl run --data quadratic --model mlp --activation swish --beta 0.5 --pairs 4
      simctl run --optimizer sgd --lr 0.01 --out results/sgd.csv
    """
    from simulator.runner import run_one

    setting = Setting(**params)
    out = out or Path("results") / f"run-{setting.config_hash()}.csv"
    run_one(setting, out, progress=progress)


if __name__ == "__main__":
    sys.exit(main())
