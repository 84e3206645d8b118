"""``imgctl``: the image experiments' command line (parsing only)."""
import sys
from pathlib import Path

import click

from image_experiments.datasets import (DATASETS, check_dataset, fetch, format_checks,
                                        search_roots)
from simulator import __version__
from simulator.clitools import COUNT, Group


@click.group("imgctl", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imgctl")
def main():
    """Model multiplicity of small CNNs: seed variants, predictive and representational
    multiplicity (Heljakka et al., 2023; Ganesh, 2023).
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
    import warnings

    from image_experiments.similarity import (SimilarityWarning, linear_cka,
                                              load_activations, svcca)

    a, b = (load_activations(path, transpose) for path in (first, second))
    if metric == "cka":
        value = linear_cka(a, b, names=(first, second))
        record = {"metric": "cka", "value": value, "data_points": a.shape[0],
                  "neurons": [a.shape[1], b.shape[1]], "names": [first, second]}
        text = (f"linear CKA {value:.4f}\n  {a.shape[0]} data points; {first}: "
                f"{a.shape[1]} neurons, {second}: {b.shape[1]} neurons")
    else:
        with warnings.catch_warnings():  # the summary lists them; no second copy on stderr
            warnings.simplefilter("ignore", SimilarityWarning)
            result = svcca(a, b, variance, top, names=(first, second))
        record, text = result.to_dict(), result.summary()
    click.echo(json.dumps(record) if as_json else text)


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
def data_check(names, data_dir):
    """Report for each data set (default: all) whether it is present, where, and whether
    it loads: status ok, missing or damaged, with its train and test sizes.

    Every data set present is loaded in full, so this reads all their files (STL-10 from
    its 2.6 GB archive takes a while). Exits 1 if a data set is damaged.

    \b
    Examples:
      imgctl data check
      imgctl data check cifar9 stl9 --data-dir /data/images
      IRREPRO_DATA=/data/a:/data/b imgctl data check
    """
    click.echo("searched, in order: " + ", ".join(map(str, search_roots(data_dir))))
    checks = [check_dataset(name, data_dir) for name in names or DATASETS]
    click.echo(format_checks(checks))
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
    fetched = fetch(name, data_dir)
    if not fetched:
        click.echo(f"{name}: nothing to fetch, it ships with its Python package")
    for item in fetched:
        action = "downloaded" if item.downloaded else "already present"
        checked = ("sha256 verified" if item.expected else
                   f"sha256 {item.sha256} (no published checksum to compare with)")
        click.echo(f"{action}: {item.path} ({checked})")


def _parse_strategies(text):
    """--strategies '1e-3,64' as a tuple of floats (None when not given)."""
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a comma-separated list of numbers; "
                                 "e.g. --strategies 1e-3,1e-4,64", param_hint="--strategies")


@main.command()
@click.argument("name", metavar="NAME")
@click.option("--regime", type=click.Choice(["lr", "batch", "both"]), default=None,
              help="Vary the learning rate (batch 64), the batch size (lr 1e-4) or both. "
                   "[default: the config's]")
@click.option("--variants", type=click.IntRange(min=2), default=None,
              help="Seed variants K per strategy (paper: 10).")
@click.option("--strategies", default=None, metavar="V1,V2,...",
              help="Keep only these values of each regime, e.g. 1e-3,1e-4,64.")
@click.option("--vary", type=click.Choice(["both", "init", "order"]), default=None,
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
@click.option("--activation", type=click.Choice(["relu", "smelu", "swish"]), default=None,
              help="Activation of every hidden layer.")
@click.option("--fc1-activation", type=click.Choice(["none", "relu"]), default=None,
              help="After the 512-unit 'fc1' layer: nothing (appendix B; fc1 is then an "
                   "affine image of 'cnn') or a ReLU. [default: none]")
@click.option("--jitter", type=click.Choice(["torchvision", "darken"]), default=None,
              help="Colour-jitter OOD set: torchvision's ColorJitter(brightness=0.3, hue=0.1), "
                   "factors 0.7-1.3, or the darkening reading, factors 0-0.3. "
                   "[default: torchvision]")
@click.option("--seed", type=int, default=None, help="Experiment seed.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder searched first for the data files.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder [default: results/img-<name>].")
@click.option("--smoke", is_flag=True, help="Apply the config's tiny 'smoke' scale.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="Send the units to this Dask distributed scheduler.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Start a local Dask cluster of N worker processes for the units.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars [default: on when stderr is a terminal].")
def sweep(name, strategies, data_dir, out, smoke, scheduler, workers, progress, **flags):
    """Train K seed variants of every strategy of a regime on data set NAME (mnist,
    fashion_mnist, cifar9, svhn, digits; preset configs/img_NAME.yaml, or a YAML file),
    checkpoint each at the regime's target test accuracy, and measure their predictive
    and representational multiplicity on the test set and the OOD sets.

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
    """
    import contextlib

    from image_experiments.sweep import load_sweep, run_sweep
    from image_experiments.training import setup_device
    from simulator.executors import make_executor

    flags["strategies"] = _parse_strategies(strategies)
    config = load_sweep(name, flags, smoke=smoke)
    out = out or Path("results") / config.name
    click.echo(f"device: {setup_device()}")
    executor = make_executor(scheduler or config.scheduler, workers or config.workers)
    with executor or contextlib.nullcontext() as executor:
        report = run_sweep(config, out, data_dir, executor, progress)
    for note in report.notes:
        click.echo(f"note: {note}")
    targets = ", ".join(f"{regime} {target:g}" for regime, target in report.targets.items())
    click.echo(f"target accuracy: {targets}")
    click.echo(f"ran {report.probes_run + report.units_run} of {report.probes + report.units} "
               f"units ({report.probes + report.units - report.probes_run - report.units_run} "
               f"already done); wrote {', '.join(map(str, report.written.values()))}")


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
            self.fail(f"'{value}' is not a comma-separated list; e.g. {self.example}", param,
                      ctx)
        return items


def _report_defaults():
    """ReportOptions' defaults, the single source of the report's option defaults."""
    import dataclasses

    from image_experiments.report import ReportOptions

    return {f.name: f.default for f in dataclasses.fields(ReportOptions)}


REPORT_DEFAULTS = _report_defaults()


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
@click.option("--checkpoint", type=click.Choice(["target", "pseudo_max"]), default="target",
              show_default=True, help="Which stored checkpoints to analyse.")
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
              help="Rates lambda of the exponential noise added to the class probabilities "
                   "(mean 1/lambda: a smaller rate is more noise).")
@click.option("--pgd-budget", "pgd_budgets", type=CommaList(float, "0.01,0.03"),
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
@click.option("--subset-per", type=click.Choice(["dataset", "strategy"]),
              default=REPORT_DEFAULTS["subset_per"], show_default=True,
              help="Hypothesis 1: one lowest-PM subset s per data set, of the lowest PM "
                   "averaged over its strategies (Fig. 3's caption), or one s_i per "
                   "strategy. RM(s) is recomputed from the stored weights on all of s.")
@click.option("--strategy", default=None, metavar="REGIME=VALUE",
              help="Confabulation over this strategy only, e.g. lr=1e-3 or batch=64 "
                   "[default: over all strategies].")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar [default: on when stderr is a terminal].")
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
    from image_experiments.render import render
    from image_experiments.report import ReportOptions, compute, default_out

    settings = ReportOptions(**options)
    out = out or default_out(results_dir, settings.checkpoint)
    written = compute(results_dir, out, settings, progress)
    written += render(out)
    _print_report(out, written)


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
    from image_experiments.render import render

    _print_report(report_dir, render(report_dir))


def _print_report(out, written):
    from image_experiments.render import read_manifest

    for note in read_manifest(out)["notes"]:
        click.echo(f"note: {note}")
    click.echo(f"wrote {len(written)} files into {out}:")
    for path in written:
        click.echo(f"  {path}")


if __name__ == "__main__":
    sys.exit(main())
