"""Checkpoints: a ``{name: array}`` dict saved as one ``.npz`` file, and loaded back safely.

    tr.save(model.state_dict(), "lm.npz")                 # PyTorch's parameter names as keys
    model.load_state_dict(tr.load("lm.npz"))

An ``.npz`` is a zip archive holding one ``.npy`` file per array; NumPy,
and so any other tool, can read it (``np.load("lm.npz")``). Only plain numeric,
boolean and string arrays are stored and loading never unpickles
(``allow_pickle=False``): opening a checkpoint from someone else cannot run
their code. To keep a model and its optimizer together, merge their dicts
under prefixes, e.g. ``{**{"model." + k: v ...}, **{"optim." + k: v ...}}``.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load"]


def _as_array(key: Any, value: Any) -> np.ndarray:
    if not isinstance(key, str) or not key:
        raise TypeError(f"tr.save: keys must be non-empty strings, got {key!r}")
    if isinstance(value, Tensor):
        value = value.data
    if not isinstance(value, (np.ndarray, np.generic)):
        raise TypeError(
            f"tr.save: the value for {key!r} is a {type(value).__name__}, but a checkpoint holds only "
            f"NumPy arrays (or tensors); convert it with np.asarray(...) or leave it out"
        )
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise TypeError(
            f"tr.save: the value for {key!r} is an object array, which could only be loaded by "
            f"unpickling; store numbers, booleans or strings"
        )
    return array


def save(state_dict: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (name -> NumPy array or Tensor) to ``path`` as an ``.npz``.

    The file is written exactly at ``path`` (no suffix is added), through a
    temporary file that replaces it at the end, so an interrupted save never
    leaves a half-written checkpoint behind. Arrays keep their dtype and shape.
    """
    if not isinstance(state_dict, dict):
        raise TypeError(
            f"tr.save: expected a dict of name -> array (e.g. model.state_dict()), "
            f"got {type(state_dict).__name__}"
        )
    arrays = {key: _as_array(key, value) for key, value in state_dict.items()}
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"tr.save: {str(path)!r} is a directory; give a file name such as model.npz")
    if not path.parent.exists():
        raise FileNotFoundError(f"tr.save: the directory {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
            for key, array in arrays.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a checkpoint written by ``save`` (or ``np.savez``): a dict name -> ndarray.

    Never unpickles. A missing file, a file that is not an ``.npz`` archive,
    and an archive holding pickled objects each raise an error saying which.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"tr.load: no checkpoint at {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"tr.load: {str(path)!r} is a directory, not a checkpoint file")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"tr.load: {str(path)!r} is not an .npz checkpoint (not a zip archive); "
            f"checkpoints are written by tr.save(state_dict, path)"
        )
    invalid = f"tr.load: {str(path)!r} is not a valid .npz checkpoint"
    try:
        with np.load(path, allow_pickle=False) as archive:
            loaded = {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise ValueError(
                f"tr.load: {str(path)!r} holds pickled Python objects; they are refused because "
                f"unpickling can run arbitrary code"
            ) from None
        raise ValueError(f"{invalid}: {error}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{invalid}: {error}") from None
    for key, value in loaded.items():
        if not isinstance(value, np.ndarray):  # NumPy hands back raw bytes for a non-.npy member
            raise ValueError(f"{invalid}: {key!r} is not a .npy array")
    return loaded
