"""irrepro.tables: atomic writes, the stable config hash, provenance without TensorFlow."""
import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest

from irrepro.errors import UserError
from irrepro.tables import check_writable, config_hash, write_atomic, write_csv


def test_the_config_hash_is_sha256_of_sorted_json_whatever_the_order():
    params = {"b": 2, "a": [1, 2]}
    expected = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    assert config_hash(params) == config_hash({"a": [1, 2], "b": 2}) == expected


def test_an_interrupted_write_leaves_neither_a_partial_file_nor_a_temporary(tmp_path):
    target = tmp_path / "out.csv"

    def fail(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, fail)
    assert list(tmp_path.iterdir()) == []
    write_csv(pd.DataFrame({"x": [0.1]}), target)
    assert target.read_text() == "x\n0.1\n" and len(list(tmp_path.iterdir())) == 1


def test_an_unwritable_place_or_a_folder_is_a_user_error(tmp_path):
    (tmp_path / "blocker").write_text("")
    with pytest.raises(UserError, match="cannot write results"):
        check_writable(tmp_path / "blocker" / "x.csv")
    (tmp_path / "dir").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        check_writable(tmp_path / "dir")


def test_provenance_names_tensorflow_without_starting_it():
    code = ("import sys; from irrepro.tables import provenance; p = provenance('abc'); "
            "print(p['tensorflow_version'], 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0][0].isdigit() and out[1] == "False"
