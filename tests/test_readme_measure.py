"""Every example of the README section "Measure your own models" runs as written: its
Python blocks in order in one namespace, its `imgctl` lines through the CLI."""
import re
import shlex
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from image_experiments.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def section_blocks():
    text = README.read_text()
    start = text.index("## Measure your own models")
    end = text.index("\n## ", start + 10)
    return re.findall(r"```(python|bash)\n(.*?)```", text[start:end], re.S)


def test_the_readme_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = section_blocks()
    assert [kind for kind, _ in blocks] == ["python", "python", "bash", "python", "bash"]
    namespace = {}
    for kind, code in blocks:
        if kind == "python":
            exec(compile(code, str(README), "exec"), namespace)
            continue
        for line in code.strip().splitlines():
            args = shlex.split(line.split("#")[0])
            assert args[0] == "imgctl"
            result = CliRunner().invoke(main, args[1:])
            assert result.exit_code == 0, (line, result.output)
    table = namespace["table"]
    assert {"pm", "ambiguity", "rashomon_capacity", "rm_fc1"} <= set(table.metric)
    measured = pd.read_csv(tmp_path / "measured" / "measures.csv")
    assert (tmp_path / "measured" / "sets.csv").exists()
    assert {"pwcca", "procrustes"} <= set(
        pd.read_csv(tmp_path / "measured-more" / "measures.csv").metric)
    assert measured.loc[measured.metric == "pm", "value"].notna().all()
    swept = pd.read_csv(tmp_path / "mine-sweep" / "strategies.csv")
    assert {"rm_conv", "rm_penultimate"} <= set(swept.metric)
    assert set(pd.read_csv(tmp_path / "mine-sweep" / "report" / "hypothesis1.csv").layer) == {
        "conv", "penultimate"}
