"""Shared test set-up: tiny settings so the whole suite stays fast on 2 CPU cores."""
import pytest

from simulator.config import Setting


@pytest.fixture
def tiny():
    """A factory of small, fast settings: tiny() or tiny(model='linear', window=4)."""

    def make(**overrides):
        params = dict(pairs=2, examples=2 ** 11, eval_examples=2 ** 10, checkpoints=2)
        params.update(overrides)
        return Setting(**params)

    return make


@pytest.fixture
def no_real_data(tmp_path, monkeypatch):
    """Search roots that hold nothing: an empty home, no $KERAS_HOME, no $IRREPRO_DATA."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("IRREPRO_DATA", raising=False)


@pytest.fixture(autouse=True)
def close_figures():
    """Figures a test drew are closed after it, so a long run holds no stale ones."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
