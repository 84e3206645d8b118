"""``imgctl``: the image experiments' command line (parsing only)."""
import sys

import click

from simulator import __version__
from simulator.clitools import Group


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
    5 data points per live neuron is reported as a warning.

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


if __name__ == "__main__":
    sys.exit(main())
