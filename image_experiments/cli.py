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


if __name__ == "__main__":
    sys.exit(main())
