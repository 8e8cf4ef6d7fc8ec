"""aeutils.config: budget switching, seeding, paths, quiet TensorFlow."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aeutils import config


def test_budget_follows_the_environment(monkeypatch):
    monkeypatch.setenv("AEUTILS_FAST", "1")
    chosen = config.budget(full=dict(epochs=10, n=None), fast=dict(epochs=1, n=100))
    assert chosen.epochs == 1 and chosen["n"] == 100 and chosen.mode == "fast"
    monkeypatch.setenv("AEUTILS_FAST", "0")
    chosen = config.budget(full=dict(epochs=10, n=None), fast=dict(epochs=1, n=100))
    assert chosen.epochs == 10 and chosen.n is None and chosen.mode == "full"
    monkeypatch.delenv("AEUTILS_FAST")
    assert config.mode() == "full"


def test_budget_rejects_mismatched_settings():
    with pytest.raises(ValueError, match="only in full: \\['lr'\\]"):
        config.budget(full=dict(epochs=10, lr=1e-3), fast=dict(epochs=1))


def test_budget_unknown_setting_names_the_known_ones():
    chosen = config.budget(full=dict(epochs=10), fast=dict(epochs=1))
    with pytest.raises(AttributeError, match="it has: epochs"):
        chosen.epoch  # noqa: B018


def test_budget_rejects_non_mappings():
    with pytest.raises(TypeError, match="two dicts"):
        config.budget(full=[("epochs", 1)], fast=dict(epochs=1))


def test_bad_fast_flag_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("AEUTILS_FAST", "maybe")
    with pytest.raises(ValueError, match="AEUTILS_FAST=1"):
        config.is_fast()


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_seed_must_be_a_non_negative_int(seed):
    with pytest.raises(ValueError, match="non-negative int"):
        config.seed_everything(seed)


def test_seeding_repeats_random_numbers():
    import tensorflow as tf

    config.seed_everything(7)
    first = (np.random.rand(3), tf.random.uniform((3,)).numpy())
    config.seed_everything(7)
    second = (np.random.rand(3), tf.random.uniform((3,)).numpy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_the_weight_cache_is_per_user_never_inside_the_installed_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config.PACKAGE_DIR.name == "aeutils"
    monkeypatch.delenv("AEUTILS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    expected = tmp_path / "xdg" / "aeutils"
    if sys.platform == "darwin":
        expected = Path.home() / "Library" / "Caches" / "aeutils"
    assert config.cache_dir() == expected
    assert not config.cache_dir().is_relative_to(config.PACKAGE_DIR.parent)
    monkeypatch.setenv("AEUTILS_CACHE_DIR", str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c"


def test_importing_aeutils_silences_tensorflow_and_keeps_onednn_on():
    code = (
        "import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
        "import aeutils, tensorflow as tf\n"
        "tf.constant(1.0) + 1.0\n"
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    # oneDNN is not switched off (the fast path stays on), and its notice does not reach stderr.
    assert done.stdout.split() == ["3", "unset"]
    assert "oneDNN" not in done.stderr and "cuda" not in done.stderr.lower(), done.stderr
