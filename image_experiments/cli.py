"""``imgctl``: the image experiments' command line (parsing only)."""
import sys
from pathlib import Path

import click

from image_experiments.registry import DATASETS
from image_experiments.report_options import DEFAULTS as REPORT_DEFAULTS
from image_experiments.sweep_config import (
    ACTIVATION_CHOICES,
    CHECKPOINTS,
    FC1_ACTIVATIONS,
    JITTERS,
    REGIME_CHOICES,
    SUBSET_PER,
    VARY,
)
from irrepro import __version__
from irrepro.cli import (
    CONTEXT,
    COUNT,
    Group,
    executor_options,
    progress_option,
    set_option,
    smoke_option,
)


class CommaList(click.ParamType):
    """A comma-separated list ('5,2' or 'accuracy,pgd') as a tuple of ``kind``."""

    def __init__(self, kind, example):
        self.kind, self.example = kind, example
        self.name = "V1,V2,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            items = tuple(self.kind(part.strip()) for part in str(value).split(",")
                          if part.strip())
        except ValueError:
            items = ()
        if not items:
            what = "list of numbers" if self.kind is float else "list"
            self.fail(f"'{value}' is not a comma-separated {what}; e.g. {self.example}",
                      param, ctx)
        return items


@click.group("imgctl", cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="imgctl")
def main():
    """Model multiplicity of small CNNs: seed variants, predictive and representational
    multiplicity (Heljakka et al., 2023; Ganesh, 2023).

    \b
    Examples:
      imgctl sweep digits --smoke
      imgctl report results/img-digits
      imgctl data check
      imgctl compare seed0/fc1.npy seed1/fc1.npy
    """


@main.command()
@click.argument("first", metavar="A.npy", type=click.Path(dir_okay=False))
@click.argument("second", metavar="B.npy", type=click.Path(dir_okay=False))
@click.option("--metric", type=click.Choice(["svcca", "cka"]), default="svcca",
              show_default=True, help="SVCCA (RM = -SVCCA) or linear CKA.")
@click.option("--variance", type=click.FloatRange(0, 1, min_open=True), default=0.99,
              show_default=True, help="SVCCA: share of each layer's variance to keep.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="SVCCA: how many of the largest canonical correlations to average.")
@click.option("--transpose", is_flag=True,
              help="The files are stored [neurons, data points] instead of "
                   "[data points, neurons].")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object instead of the summary.")
def compare(first, second, metric, variance, top, transpose, as_json):
    """Compare two layers' activations on the same data points: SVCCA or linear CKA.

    A.npy and B.npy hold one row per data point and one column per neuron (numpy.save
    of [n, p1] and [n, p2] float arrays). SVCCA centres each neuron, keeps the directions
    explaining --variance of each layer's variance and averages the --top largest canonical
    correlations; RM = -SVCCA (Heljakka et al., 2023). Dead neurons are dropped; fewer than
    5 data points per kept direction is reported as a warning.

    \b
    Examples:
      imgctl compare seed0/fc1.npy seed1/fc1.npy
      imgctl compare a.npy b.npy --metric cka
      imgctl compare a.npy b.npy --json > fc1-similarity.json
      imgctl compare a.npy b.npy --transpose --variance 0.95 --top 10
    """
    import json

    from image_experiments.compare import compare_files

    record, text = compare_files(first, second, metric, variance, top, transpose)
    click.echo(json.dumps(record) if as_json else text)


@main.command()
@click.argument("source", metavar="FILE.npz|FOLDER", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for measures.csv, the other CSVs and report.md.")
@click.option("--rm", "rm_measures", default="svcca,cka", show_default=True,
              metavar="M1,M2,...",
              help="Pairwise similarity measures per layer: svcca, cka, cka_debiased, cka_rbf, "
                   "pwcca, procrustes, cka_minibatch.")
@click.option("--baseline", type=click.IntRange(min=0), default=None,
              help="Baseline model of the Rashomon measures [default: the most accurate].")
@click.option("--epsilon", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="Rashomon set: models whose error is within epsilon of the baseline's.")
@click.option("--draws", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Bootstrap draws over models for the confidence intervals.")
@click.option("--capacity-draws", type=click.IntRange(min=0), default=30, show_default=True,
              help="Bootstrap draws for Rashomon capacity (one Blahut-Arimoto run each; 0: "
                   "no interval).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
def measure(source, out, rm_measures, baseline, epsilon, draws, capacity_draws, seed):
    """Measure the predictive and representational multiplicity of your own K models from
    saved predictions: one .npz file, or a folder of .npy files with these names:

    \b
      probs         float [K, N, C] class probabilities (rows sum to 1), or
      scores        float [K, N] binary scores p(y=1) in [0, 1]
      labels        int [N] true classes
      act_<layer>   float [K, N', ...] activations of a layer (optional, any number)
      group_<name>  bool [N] a group of inputs (optional, any number)
      models        optional table, one row per model: a structured array (one field
                    per hyper-parameter) or a JSON string of a list of K objects, e.g.
                    '[{"lr": 0.001, "seed": 0}, {"lr": 0.001, "seed": 1}, ...]'

    Writes OUT/measures.csv (metric, value, ci_low, ci_high, layer, group, model, note:
    pm, true_class_std, label_disagreement, absolute_pd, relative_pd_mean, churn,
    ambiguity, discrepancy, viable_prediction_range, rashomon_capacity, score_std,
    accuracy per model, rm_<layer>, svcca, cka, ...), models.csv, confabulation.csv and
    report.md; with hyper-parameter columns in `models` also sets.csv (PM and RM per
    model set) and a multiplicity sheet of accuracy. Nothing is written on an input error.

    \b
    Examples:
      imgctl measure runs.npz --out results/measure
      imgctl measure predictions/ --out out --rm svcca,cka,cka_debiased,procrustes
      imgctl measure runs.npz --out out --epsilon 0.005 --draws 200 --capacity-draws 0
    In Python: numpy.savez("runs.npz", probs=p, labels=y, act_fc1=a, group_small=mask)
    """
    from image_experiments.measure_files import run

    measures = tuple(m.strip() for m in rm_measures.split(",") if m.strip())
    written = run(source, out, draws=draws, capacity_draws=capacity_draws,
                  rm_measures=measures, baseline=baseline, epsilon=epsilon, seed=seed)
    click.echo(f"wrote {len(written)} files into {out}:")
    for path in written:
        click.echo(f"  {path}")


@main.group(cls=Group)
def data():
    """Image data sets on this machine: which are present, and explicit downloads.

    Files are looked for, in order, in --data-dir, in the folders of $IRREPRO_DATA
    (os.pathsep-separated, ':' on Unix) and in the Keras cache ($KERAS_HOME/datasets, else
    ~/.keras/datasets), each as the folder or the archive the files are distributed as.
    Nothing is downloaded except by `imgctl data fetch`.

    \b
    Data sets:
      mnist          MNIST (Keras mnist.npz), 28x28x1, 10 digits
      fashion_mnist  Fashion-MNIST (4 IDX .gz files), 28x28x1, 10 classes
      cifar9         CIFAR-10 python batches without 'frog', 32x32x3, 9 classes
      svhn           SVHN train_32x32.mat, test_32x32.mat, 32x32x3, 10 digits
      stl9           STL-10 binaries without 'monkey', CIFAR-9's classes, 96x96x3
      digits         scikit-learn's bundled 8x8 digits (no file)

    \b
    Examples:
      imgctl data check
      imgctl data fetch cifar9
      imgctl data check --data-dir /data/images
    """


@data.command("check")
@click.argument("names", metavar="[NAME]...", nargs=-1, type=click.Choice(list(DATASETS)))
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder searched first, before $IRREPRO_DATA and the Keras cache.")
@click.option("--load", is_flag=True,
              help="Load every data set present in full (slow: reads every image) and "
                   "report its train and test sizes and image shape.")
def data_check(names, data_dir, load):
    """Report for each data set (default: all) whether it is present, where, and whether
    its files are sound: status ok, missing or damaged.

    By default this checks presence, file sizes and headers (an instant answer);
    --load reads every data set present in full (STL-10 from its 2.6 GB archive takes a
    while). Exits 1 if a data set is damaged.

    \b
    Examples:
      imgctl data check
      imgctl data check cifar9 stl9 --data-dir /data/images
      imgctl data check mnist --load
      IRREPRO_DATA=/data/a:/data/b imgctl data check
    """
    from image_experiments.check import check_datasets, format_checks
    from image_experiments.locations import search_roots

    click.echo("searched, in order: " + ", ".join(map(str, search_roots(data_dir))))
    checks = check_datasets(names or DATASETS, data_dir, load)
    click.echo(format_checks(checks, load))
    missing = [check.name for check in checks if check.status == "missing"]
    if missing:
        click.echo(f"missing: {', '.join(missing)}; get one with `imgctl data fetch NAME`")
    damaged = [check for check in checks if check.status == "damaged"]
    for check in damaged:
        click.echo(check.message, err=True)
    if damaged:
        sys.exit(1)


@data.command("fetch")
@click.argument("name", metavar="NAME", type=click.Choice(list(DATASETS)))
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder to download into.  [default: the Keras cache]")
def data_fetch(name, data_dir):
    """Download the files of data set NAME: the only command that downloads.

    Each file is streamed to a temporary file beside its target, checked against its
    published sha256 where one is known (otherwise the computed sha256 is printed), then
    renamed into place; a file already there with the right checksum is kept. Files go to
    the Keras cache unless --data-dir is given; later commands find them there, or in the
    same --data-dir (or $IRREPRO_DATA). Sizes: mnist 11 MB, fashion_mnist 31 MB, cifar9
    170 MB, svhn 246 MB, stl9 2.6 GB.

    \b
    Examples:
      imgctl data fetch mnist
      imgctl data fetch cifar9 --data-dir /data/images
      imgctl data fetch stl9
    """
    from image_experiments.fetch import fetch

    fetched = fetch(name, data_dir)
    if not fetched:
        click.echo(f"{name}: nothing to fetch, it ships with its Python package")
    for item in fetched:
        action = "downloaded" if item.downloaded else "already present"
        checked = ("sha256 verified" if item.expected else
                   f"sha256 {item.sha256} (no published checksum to compare with)")
        click.echo(f"{action}: {item.path} ({checked})")


@main.command()
@click.argument("name", metavar="NAME")
@click.option("--regime", type=click.Choice(REGIME_CHOICES), default=None,
              help="Vary the learning rate (batch 64), the batch size (lr 1e-4) or both. "
                   "[default: the config's]")
@click.option("--variants", type=click.IntRange(min=2), default=None,
              help="Seed variants K per strategy (paper: 10).")
@click.option("--strategies", type=CommaList(float, "1e-3,1e-4,64"), default=None,
              help="Keep only these values of each regime, e.g. 1e-3,1e-4,64.")
@click.option("--vary", type=click.Choice(VARY), default=None,
              help="Which seeds differ between variants: initialisation, data order or both.")
@click.option("--train-subset", type=COUNT, default=None,
              help="Train on a random subset of this many images.")
@click.option("--test-subset", type=COUNT, default=None,
              help="Evaluate on a random subset of this many test images (and OOD images).")
@click.option("--epochs-max", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Longest training per variant, in epochs.")
@click.option("--epochs-cap", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Longest training of a variant that has not reached the target by "
                   "--epochs-max, in epochs (it trains on rather than dropping out). "
                   "[default: twice --epochs-max]")
@click.option("--target-accuracy", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Checkpoint every variant at this test accuracy. [default: found by a "
                   "first pass: the best accuracy every strategy reaches, less a margin]")
@click.option("--pseudo-max/--no-pseudo-max", default=None,
              help="Also checkpoint at the pseudo-maximum accuracy (paper, appendix C): "
                   "trains every variant until it converges.")
@click.option("--activation", type=click.Choice(ACTIVATION_CHOICES), default=None,
              help="Activation of every hidden layer.")
@click.option("--checkpoint", type=click.Choice(CHECKPOINTS), default=None,
              help="target: Heljakka's risk-equivalent checkpoints; final: Ganesh's protocol, "
                   "--epochs-max epochs without early stopping, the last epoch evaluated. "
                   "[default: the config's; the cifar10_skewed study is final only]")
@click.option("--fc1-activation", type=click.Choice(FC1_ACTIVATIONS), default=None,
              help="After the 512-unit 'fc1' layer: nothing (appendix B; fc1 is then an "
                   "affine image of 'cnn') or a ReLU. [default: none]")
@click.option("--model", default=None, metavar="cnn|PKG.MODULE:FUNCTION",
              help="The network: the appendix-B CNN (cnn) or your own, a function "
                   "FUNCTION(input_shape, classes) returning a Keras model with logits "
                   "out. [default: cnn]")
@click.option("--layers", default=None, metavar="NAME,...",
              help="The model's layers RM compares, by Keras layer name. [default: the "
                   "CNN's cnn,fc1]")
@click.option("--jitter", type=click.Choice(JITTERS), default=None,
              help="Colour-jitter OOD set: torchvision's ColorJitter(brightness=0.3, hue=0.1), "
                   "factors 0.7-1.3, or the darkening reading, factors 0-0.3. "
                   "[default: torchvision]")
@click.option("--seed", type=int, default=None, help="Experiment seed.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder searched first for the data files.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder [default: results/img-<name>].")
@smoke_option()
@click.option("--scale", type=click.Choice(["smoke", "cpu"]), default=None,
              help="Studies (cifar10_skewed) only: apply the config's block of that name "
                   "('cpu': the largest scale measured to fit ~15 min on 2 CPU cores).")
@set_option
@executor_options("units")
@progress_option
def sweep(name, data_dir, out, smoke, scale, sets, scheduler, workers, progress, **flags):
    """Train K seed variants of every strategy of a regime on data set NAME (mnist,
    fashion_mnist, cifar9, svhn, digits; preset configs/img_NAME.yaml, or a YAML file),
    checkpoint each at the regime's target test accuracy, and measure their predictive
    and representational multiplicity on the test set and the OOD sets.

    NAME cifar10_skewed (or a YAML with `study: ganesh`) runs Ganesh's (2023) study
    instead: CIFAR10-Skewed built from the CIFAR-10 files, a CIFAR ResNet-18 trained for a
    fixed number of epochs along his axes (learning rate, batch size, augmentation,
    optimizer), --variants seeds per value, each model evaluated at its last epoch under his
    interventions; `imgctl report OUT` then draws his multiplicity sheets. It takes
    --variants, --epochs-max, --train-subset, --test-subset, --seed, --checkpoint final,
    --data-dir, --out, --smoke, --scale and --progress.

    One unit per (regime, strategy), its K variants trained together; finished units are
    skipped, so an interrupted sweep resumes. Writes OUT/variants.csv, OUT/strategies.csv
    (PM, RM), OUT/pairs.csv (prediction differences, churn, SVCCA) and OUT/timings.csv.

    \b
    Examples:
      imgctl sweep digits --smoke
      imgctl sweep mnist --data-dir /data/images
      imgctl sweep mnist --regime lr --variants 4 --train-subset 8192 --epochs-max 3
      imgctl sweep cifar9 --target-accuracy 0.7 --strategies 1e-3,1e-4,64,256
      imgctl sweep svhn --workers 2 --no-progress
      imgctl sweep fashion_mnist --scheduler tcp://10.0.0.5:8786
      imgctl sweep cifar10_skewed --smoke --data-dir /data/images
      imgctl sweep ./mydata.npz --smoke          # your own x_train, y_train, x_test, y_test
      imgctl sweep ./images/                     # one sub-folder of images per class
      imgctl sweep ./mydata.npz --model mymodels:build --layers penultimate
    """
    from image_experiments.sweep import sweep_command

    sweep_command(name, flags, sets, smoke, out, data_dir, scheduler, workers, progress,
                  click.echo, scale)


def _listed(name):
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in REPORT_DEFAULTS[name])


@main.command()
@click.argument("results_dir", metavar="RESULTS_DIR", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Report folder [default: RESULTS_DIR/report, or RESULTS_DIR/report-"
                   "pseudo_max with --checkpoint pseudo_max].")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder searched first for the data files (images for the confabulation "
                   "figure and the PGD attacks; without them both are skipped).")
@click.option("--checkpoint", type=click.Choice(["target", "pseudo_max", "final"]),
              default=None, help="Which stored checkpoints to analyse. [default: what the "
                                 "units store: target, or final for --checkpoint final sweeps]")
@click.option("--metric", "metrics", type=CommaList(str, "accuracy,worst_class,pgd"),
              default=_listed("metrics"), show_default=True,
              help="Interventions to draw multiplicity sheets of: accuracy, worst_class, "
                   "class_<c>, ood_<set>, noise[_<rate>], pgd[_<budget>] (noise and pgd "
                   "alone: the first rate and budget).")
@click.option("--select", type=CommaList(str, "worst_class,noise"),
              default=_listed("select"), show_default=True,
              help="Interventions models are selected on (top-k%); every other one is "
                   "'unforeseen'.")
@click.option("--noise-rate", "noise_rates", type=CommaList(float, "5,2"),
              default=_listed("noise_rates"), show_default=True,
              help="Rates lambda of the exponential noise lambda * Exp(1) added to the class "
                   "probabilities (mean lambda: a larger rate is more noise, Ganesh's Fig. 6).")
@click.option("--pgd-budget", "pgd_budgets", type=CommaList(float, "0.005,0.01"),
              default=_listed("pgd_budgets"), show_default=True,
              help="L-infinity budgets of the PGD attacks (pixels in [0, 1]).")
@click.option("--pgd-points", type=click.IntRange(min=1), default=REPORT_DEFAULTS["pgd_points"],
              show_default=True, help="Test inputs attacked (a fixed random subset).")
@click.option("--pgd-steps", type=click.IntRange(min=1), default=REPORT_DEFAULTS["pgd_steps"],
              show_default=True, help="PGD steps; step size 2.5 budget / steps.")
@click.option("--top-percent", "top_percents", type=CommaList(float, "75,50"),
              default=_listed("top_percents"), show_default=True,
              help="Model selection levels: keep the models in the top k% of every "
                   "--select metric.")
@click.option("--subset-size", type=click.IntRange(min=2),
              default=REPORT_DEFAULTS["subset_size"], show_default=True,
              help="Hypothesis 1: the size of the lowest-PM subset s (at most half the "
                   "test set).")
@click.option("--subset-per", type=click.Choice(SUBSET_PER),
              default=REPORT_DEFAULTS["subset_per"], show_default=True,
              help="Hypothesis 1: one lowest-PM subset s per data set, of the lowest PM "
                   "averaged over its strategies (Fig. 3's caption), or one s_i per "
                   "strategy. RM(s) is recomputed from the stored weights on all of s.")
@click.option("--strategy", default=None, metavar="REGIME=VALUE",
              help="Confabulation over this strategy only, e.g. lr=1e-3 or batch=64 "
                   "[default: over all strategies].")
@progress_option
def report(results_dir, out, progress, **options):
    """Analyse the stored units of the image sweep in RESULTS_DIR (nothing retrains) and
    write figures (PNG and PDF), the CSV behind each, and report.md into OUT:

    \b
      fig2-<dataset>           SVCCA (= -RM) per layer and PM per set against the strategy
      table1-<dataset>         Pearson r(SVCCA, PM) per regime and set, Delta SVCCA
      hypothesis1-<dataset>    Hypothesis 1: PM(S), PM(s), RM(s) on the lowest-PM subset s;
                               E_RM and E_PM in hypothesis1.csv
      confabulation-<dataset>  the 16 test inputs labelled most differently (needs images)
      sheet-<dataset>-<metric> multiplicity sheets (Ganesh): accuracy under intervention
                               per strategy x seed, Delta_max per row/column, Delta_max^all
      sheets-<dataset>         Delta_max^all of every intervention (sheets.csv)
      selection-<dataset>      spread left on unforeseen metrics after top-k% selection
      interventions.csv        every model's accuracy under every intervention

    PGD accuracies are cached in OUT/pgd.csv: a re-run attacks only new models or
    settings. `imgctl plot OUT` redraws the figures from the CSVs.

    \b
    Examples:
      imgctl report results/img-digits
      imgctl report results/img-mnist --data-dir /data/images
      imgctl report results/img-mnist --checkpoint pseudo_max --pgd-budget 0.02,0.05
      imgctl report results/img-cifar9 --metric accuracy,ood_stl9,pgd --select ood_stl9,pgd
      imgctl report results/img-mnist --strategy lr=1e-3 --out /tmp/mnist-lr1e-3
    """
    from image_experiments.report import report_command

    report_command(results_dir, out, options, progress, click.echo)


@main.command()
@click.argument("report_dir", metavar="REPORT_DIR", type=click.Path(path_type=Path))
def plot(report_dir):
    """Redraw the figures and report.md of an `imgctl report` folder from its CSVs alone
    (no stored unit is read, nothing is computed again).

    \b
    Examples:
      imgctl plot results/img-digits/report
      imgctl plot /tmp/mnist-lr1e-3
    """
    from image_experiments.render import plot_command

    plot_command(report_dir, click.echo)


if __name__ == "__main__":
    sys.exit(main())
