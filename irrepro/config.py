"""Sweep configuration, the same way for both sweeps: a YAML file, then its ``smoke`` preset
(with ``--smoke``), then command-line flags and ``--set KEY=VALUE``, each layer overriding
the one before. Values may be written as powers (``2^10``) where the domain parses counts.

Errors name the file and the line of the offending key, so a typo in a long grid is found
at once.
"""
import re
from pathlib import Path

import yaml

from irrepro.errors import UserError

_POWER = re.compile(r"^\s*(\d+)\s*(?:\^|\*\*)\s*(\d+)\s*$")
#: The largest count any parameter may take: beyond it no machine could finish the work, and
#: refusing at once beats starting a run without end.
MAX_COUNT = 2 ** 48


def parse_count(text, flag):
    """A positive integer written as ``1024``, ``2^10`` or ``2**10``, at most 2^48; ``flag``
    names it in errors."""
    value = None
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, str):
        match = _POWER.match(text)
        if match and int(match[2]) <= 4096:  # beyond, the power itself is too costly
            value = int(match[1]) ** int(match[2])
        elif text.strip().isdigit():
            value = int(text)
    if value is None or value < 1:
        raise UserError(f"{flag} must be a positive integer or a power such as 2^10 "
                        f"(got '{text}'); try {flag} 2^10")
    if value > MAX_COUNT:
        raise UserError(f"{flag} {text} is beyond what any machine could finish (at most "
                        f"2^48); try {flag} 2^26")
    return value


class Config(dict):
    """A YAML mapping that remembers the line of each key: ``lines[(key, ...)]`` (1-based),
    by the path of keys and list indices leading to it, and its file."""

    def __init__(self, data, lines, path):
        super().__init__(data)
        self.lines, self.path = lines, Path(path)

    def where(self, *keys):
        """'FILE line N' for the key at ``keys``, or 'FILE' when its line is unknown."""
        line = self.lines.get(tuple(keys))
        return f"{self.path} line {line}" if line else str(self.path)


def _key_lines(node, prefix=()):
    lines = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, key.value)
            lines[path] = key.start_mark.line + 1
            lines.update(_key_lines(value, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines.update(_key_lines(value, (*prefix, i)))
    return lines


def read_yaml(path, example="configs/"):
    """The YAML mapping in ``path`` as a :class:`Config`; a missing file, invalid YAML or a
    document that is not a mapping is a one-line UserError (with the line for YAML errors)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise UserError(f"cannot read sweep config {path}: {error.strerror}; "
                        f"see {example} for examples") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None)
        raise UserError(f"sweep config {path} is not valid YAML{line}"
                        + (f" ({problem})" if problem else "")
                        + "; fix the file's syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"sweep config {path} must be a mapping of parameters; see {example}")
    return Config(data, _key_lines(node), path)


def check_known(params, known, where, lines=None):
    """Raise UserError naming the parameters of ``params`` not in ``known`` (and, given the
    :class:`Config` and key path ``lines``, the line of the first)."""
    unknown = sorted(set(params) - set(known))
    if unknown:
        place = where
        if lines is not None:
            config, prefix = lines
            place = f"{where} ({config.where(*prefix, unknown[0])})"
        raise UserError(f"unknown parameter(s) {', '.join(unknown)} in {place}; "
                        f"known: {', '.join(sorted(known))}")


def layered(file_params, smoke=None, flags=None):
    """The parameters of a run: ``file_params``, then ``smoke`` (a preset block, applied only
    when given), then ``flags`` (None values are flags not given and are ignored)."""
    return {**file_params, **(smoke or {}),
            **{k: v for k, v in (flags or {}).items() if v is not None}}


def parse_sets(values):
    """``--set KEY=VALUE`` pairs as a dict; values are parsed as YAML scalars (0.1 is a float,
    2^10 stays a string for the domain's count parser, [1, 2] a list); dashes in keys become
    underscores."""
    pairs = {}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set '{text}' is not KEY=VALUE; e.g. --set lr=0.01")
        try:
            pairs[key.strip().replace("-", "_")] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UserError(f"--set '{text}': the value is not valid YAML; quote it or "
                            "write it plainly, e.g. --set lr=0.01") from None
    return pairs
