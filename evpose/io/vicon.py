"""DHP19's Vicon labels: the ``XYZPOS`` struct of a MATLAB ``.mat`` file (v5 or v7.3).

Each DHP19 file ``Vicon_data/S{subject}_{session}_{movement}.mat`` holds one variable,
a scalar struct ``XYZPOS`` with one field per joint (``XYZPOS.head``,
``XYZPOS.shoulderR``, ...), each an ``(N, 3)`` double array of world coordinates in
millimetres sampled at 100 Hz from the movement's start, NaN where the marker was lost.

Two MATLAB file versions are read:

- v5/v7 (``save -v7``, what DHP19 distributes): through :func:`scipy.io.loadmat`.
- v7.3 (``save -v7.3``): an HDF5 file, read with h5py. What is assumed of MATLAB's
  layout: the struct is an HDF5 group named after the variable; each field is a
  dataset (or, for struct arrays, a 1x1 dataset of object references to one); arrays
  are stored column-major, so an ``(N, 3)`` MATLAB array is a ``(3, N)`` dataset and is
  transposed on reading; an empty array is a dataset carrying the attribute
  ``MATLAB_empty`` (its data are its dimensions). The 512-byte userblock holding
  MATLAB's text header is optional.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from ..types import JOINT_NAMES
from .errors import EventFormatError

#: Sampling rate of DHP19's Vicon labels.
VICON_RATE_HZ = 100
#: Microseconds between two Vicon samples.
VICON_PERIOD_US = 1_000_000 // VICON_RATE_HZ


def read_xyzpos(path, joint_names: Sequence[str] = JOINT_NAMES, variable: str = "XYZPOS") -> np.ndarray:
    """Read the joint trajectories of a DHP19 Vicon file.

    Args:
        path: the ``.mat`` file (MATLAB v5/v7 or v7.3).
        joint_names: struct fields to read, in output order (default DHP19's 13 joints).
        variable: name of the struct variable (default ``XYZPOS``).

    Returns:
        ``(T, K, 3)`` float64 millimetres, NaN where a marker was lost.

    Shapes:
        output: (T, K, 3), T samples at 100 Hz, K = len(joint_names)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Vicon file")
    if h5py.is_hdf5(path):
        fields = _read_v73(path, joint_names, variable)
    else:
        fields = _read_v5(path, joint_names, variable)
    lengths = {name: a.shape[0] for name, a in fields.items()}
    if len(set(lengths.values())) > 1:
        raise EventFormatError(path, variable, f"joints have different numbers of samples: {lengths}")
    return np.stack([fields[name] for name in joint_names], axis=1)


def pose_samples(joints3d: np.ndarray, rate_hz: int = VICON_RATE_HZ, t0_us: int = 0):
    """Times and validity of Vicon samples: sample k is at ``t0_us + k * 1e6 / rate_hz``.

    Args:
        joints3d: (T, K, 3) joints, NaN where unknown.
        rate_hz: sampling rate (default 100, giving 10000 us steps).
        t0_us: time of sample 0 (default 0, the movement's start).

    Returns:
        ``(t_us, joints3d, valid)``: int64 (T,), the joints unchanged, bool (T, K)
        (False where any coordinate is not finite), ready for
        :meth:`evpose.io.EventFileWriter.write_poses`.
    """
    if 1_000_000 % rate_hz:
        raise ValueError(f"rate_hz must divide 1e6 to give integer microseconds, got {rate_hz}")
    t = t0_us + np.arange(len(joints3d), dtype=np.int64) * (1_000_000 // rate_hz)
    valid = np.isfinite(joints3d).all(axis=-1)
    return t, joints3d, valid


def _check_field(path: Path, name: str, a: np.ndarray, note: str = "") -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise EventFormatError(path, name, f"expected a numeric array, got dtype {a.dtype}")
    if a.size == 0:
        return np.empty((0, 3), dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise EventFormatError(path, name, f"expected an (N, 3) array of x, y, z in mm, got shape {a.shape}{note}")
    return a.astype(np.float64)


def _read_v5(path: Path, joint_names, variable: str) -> dict[str, np.ndarray]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(path, variable_names=[variable], struct_as_record=True, squeeze_me=False)
    except (ValueError, TypeError, OSError, NotImplementedError) as e:
        raise EventFormatError(path, "/", f"not a readable MATLAB file ({e})") from None
    if variable not in mat:
        raise EventFormatError(path, variable, "no such variable in the .mat file")
    s = mat[variable]
    if s.dtype.names is None or s.size != 1:
        raise EventFormatError(path, variable, f"expected a scalar struct, got {s.dtype} of shape {s.shape}")
    out = {}
    for name in joint_names:
        if name not in s.dtype.names:
            raise EventFormatError(path, f"{variable}.{name}", f"missing joint; the struct has {list(s.dtype.names)}")
        out[name] = _check_field(path, f"{variable}.{name}", s[name].flat[0])
    return out


def _read_v73(path: Path, joint_names, variable: str) -> dict[str, np.ndarray]:
    out = {}
    try:
        with h5py.File(path, "r") as f:
            if variable not in f or not isinstance(f[variable], h5py.Group):
                raise EventFormatError(path, variable, "no struct of that name in the v7.3 (HDF5) .mat file")
            g = f[variable]
            for name in joint_names:
                if name not in g:
                    raise EventFormatError(path, f"{variable}.{name}", f"missing joint; the struct has {sorted(g.keys())}")
                ds = g[name]
                if ds.dtype == h5py.ref_dtype:  # struct arrays keep fields behind references
                    refs = ds[()]
                    if refs.size != 1:
                        raise EventFormatError(path, f"{variable}.{name}", f"expected one array, got {refs.size} references")
                    ds = f[refs.flat[0]]
                if ds.attrs.get("MATLAB_empty", 0):
                    out[name] = np.empty((0, 3), dtype=np.float64)
                    continue
                # column-major on disk: (3, N) holds MATLAB's (N, 3)
                note = f" (HDF5 dataset of shape {ds.shape}, transposed from MATLAB's column-major order)"
                out[name] = _check_field(path, f"{variable}.{name}", ds[()].T, note)
    except OSError as e:
        raise EventFormatError(path, "/", f"not a readable MATLAB v7.3 file ({e})") from None
    return out
