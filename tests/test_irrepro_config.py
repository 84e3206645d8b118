"""irrepro.config: one way to read sweep configs for both sweeps, with the line of a mistake."""
import pytest

from irrepro.config import MAX_COUNT, check_known, layered, parse_count, parse_sets, read_yaml
from irrepro.errors import UserError


def test_counts_are_integers_or_powers_and_absurd_sizes_are_refused():
    assert parse_count("2^10", "--x") == parse_count("2**10", "--x") == parse_count(1024, "--x")
    for bad in ("2^x", "0", "-3", "", True):
        with pytest.raises(UserError, match="--x must be a positive integer"):
            parse_count(bad, "--x")
    assert parse_count("2^48", "--x") == MAX_COUNT
    with pytest.raises(UserError, match="beyond what any machine could finish"):
        parse_count("2^70", "--examples")


def test_invalid_yaml_names_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nbase:\n  lr: 0.1\n   pairs: [2\n")
    with pytest.raises(UserError, match=r"bad.yaml is not valid YAML at line 4"):
        read_yaml(path)


def test_an_unknown_key_is_named_with_its_line(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("name: x\nbase:\n  lr: 0.1\n  lrr: 0.2\n")
    config = read_yaml(path)
    with pytest.raises(UserError, match=r"unknown parameter\(s\) lrr in base "
                                        r"\(.*sweep.yaml line 4\); known: lr"):
        check_known(config["base"], {"lr"}, "base", (config, ("base",)))


def test_a_missing_file_and_a_non_mapping_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="cannot read sweep config"):
        read_yaml(tmp_path / "none.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="must be a mapping"):
        read_yaml(tmp_path / "list.yaml")


def test_layers_apply_file_then_smoke_then_flags_and_unset_flags_do_not_count():
    assert layered({"a": 1, "b": 1, "c": 1}, {"b": 2, "c": 2}, {"c": 3, "b": None}) == \
        {"a": 1, "b": 2, "c": 3}
    assert layered({"a": 1}, None, None) == {"a": 1}


def test_set_pairs_are_yaml_scalars_with_underscored_keys():
    assert parse_sets(["lr=0.01", "eval-examples=2^10", "strategies=[1, 2]"]) == \
        {"lr": 0.01, "eval_examples": "2^10", "strategies": [1, 2]}
    with pytest.raises(UserError, match="is not KEY=VALUE"):
        parse_sets(["lr"])
