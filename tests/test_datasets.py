"""Real digits offline (collapse_lib.datasets): bundled sets, the parity target, the stratified split, and the
full-MNIST loader on a tiny cache fixture with the network blocked."""
import shutil
import socket
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from collapse_lib import datasets as ds

FIXTURE = Path(__file__).parent / "fixtures" / "openml_mnist"
ARFF = "openml/openml.org/data/v1/download/52667/mnist_784.arff.gz"


@pytest.fixture
def no_network(monkeypatch):
    """Any socket or urllib use fails the test loudly (a download attempt is a bug)."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_digits_8x8_scaled_and_complete():
    d = ds.digits_8x8()
    assert d.X.shape == (1797, 64) and d.image_shape == (8, 8)
    assert d.X.min() == 0.0 and d.X.max() == 1.0
    assert set(np.unique(d.labels)) == set(range(10))
    assert d.images([0, 5]).shape == (2, 8, 8)


def test_mnist_subset_scaled_sorted_by_class():
    d = ds.mnist_subset()
    assert d.X.shape == (5000, 784) and d.image_shape == (28, 28)
    assert d.X.min() == 0.0 and d.X.max() == 1.0
    assert np.all(np.bincount(d.labels) == 500)
    assert np.all(np.diff(d.labels) >= 0)          # stored sorted by class: why split() must shuffle


def test_load_by_name_and_unknown_name():
    assert ds.load("digits8").n == 1797
    with pytest.raises(ValueError, match="name must be one of"):
        ds.load("mnist")


def test_parity_target():
    f = ds.parity(np.arange(10))
    assert np.array_equal(f, [1, -1, 1, -1, 1, -1, 1, -1, 1, -1])
    for bad in ([], [10], [1.5], [[1, 2]]):
        with pytest.raises(ValueError):
            ds.parity(np.array(bad))


def test_split_is_stratified_disjoint_and_seeded():
    d = ds.mnist_subset()
    s = ds.split(d, 1234, 567, rng=3)
    assert s.X_train.shape == (1234, 784) and s.X_test.shape == (567, 784)
    assert np.intersect1d(s.idx_train, s.idx_test).size == 0
    for part, size, tol in ((s.labels_train, 1234, 1.0), (s.labels_test, 567, 2.0)):
        counts = np.bincount(part, minlength=10)
        assert np.all(np.abs(counts - size / 10) <= tol), counts      # each class in proportion
    assert np.array_equal(s.f_train, ds.parity(s.labels_train))
    assert np.array_equal(s.X_train, d.X[s.idx_train])
    again, other = ds.split(d, 1234, 567, rng=3), ds.split(d, 1234, 567, rng=4)
    assert np.array_equal(again.idx_train, s.idx_train) and not np.array_equal(other.idx_train, s.idx_train)
    # unbalanced classes (8x8 digits) stay in proportion too
    e = ds.digits_8x8()
    t = ds.split(e, 900, 0, rng=0)
    prop = np.bincount(e.labels) * 900 / e.n
    assert np.all(np.abs(np.bincount(t.labels_train, minlength=10) - prop) <= 1.0)


def test_split_bad_sizes():
    d = ds.digits_8x8()
    with pytest.raises(ValueError, match="n_train"):
        ds.split(d, 0)
    with pytest.raises(ValueError, match="n_test"):
        ds.split(d, 1000, 800)
    with pytest.raises(ValueError, match="Digits"):
        ds.split(np.zeros((3, 4)), 2)


def test_digits_validation():
    with pytest.raises(ValueError, match="non-empty"):
        ds.Digits(np.zeros((0, 4)), np.zeros(0), (2, 2), "x")
    with pytest.raises(ValueError, match="labels"):
        ds.Digits(np.zeros((3, 4)), np.zeros(2), (2, 2), "x")
    with pytest.raises(ValueError, match="image_shape"):
        ds.Digits(np.zeros((3, 4)), np.zeros(3), (3, 3), "x")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ds.Digits(np.full((3, 4), 255.0), np.zeros(3), (2, 2), "x")


def test_fetch_mnist_reads_the_cache_offline(no_network):
    d = ds.fetch_mnist(FIXTURE)
    assert d.X.shape == (12, 784) and d.image_shape == (28, 28)
    assert np.array_equal(d.labels, np.arange(12) % 10)
    assert 0.0 <= d.X.min() and d.X.max() <= 1.0 and d.X.max() > 0.5


def test_fetch_mnist_missing_cache_is_a_clear_error(no_network, tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        ds.fetch_mnist(tmp_path / "nowhere")


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
def test_fetch_mnist_broken_cache_never_downloads(no_network, tmp_path, damage):
    cache = tmp_path / "cache"
    shutil.copytree(FIXTURE, cache)
    arff = cache / ARFF
    if damage == "delete":
        arff.unlink()
    else:
        arff.write_bytes(b"this is not a gzip file")
    with pytest.raises(FileNotFoundError, match="incomplete or corrupt"):
        ds.fetch_mnist(cache)


def test_fetch_mnist_download_flag_must_be_bool(tmp_path):
    with pytest.raises(ValueError, match="download"):
        ds.fetch_mnist(tmp_path, download="yes")
