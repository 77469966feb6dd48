"""DHP19 Vicon labels: XYZPOS from MATLAB v5 (scipy) and v7.3 (HDF5) files, written by the tests."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import h5py

from evpose.io import EventFormatError
from evpose.io.vicon import pose_samples, read_xyzpos
from evpose.types import JOINT_NAMES

MATLAB_73_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Mar 20 10:12:01 2018 HDF5 schema 1.00 ."


def trajectories(rng, n=57):
    """Per-joint (N, 3) arrays, distinct per joint and axis, with lost markers."""
    out = {}
    for k, name in enumerate(JOINT_NAMES):
        a = rng.normal(0, 300, (n, 3)) + np.array([k * 1000.0, 10.0, 900.0])
        out[name] = a
    out["handR"][min(5, n - 1)] = np.nan
    out["footL"][[0, n - 1], 2] = np.nan
    return out


def write_v73(path, fields, variable="XYZPOS", userblock=True):
    """The HDF5 layout MATLAB's `save -v7.3` uses for a scalar struct of double arrays."""
    kw = {"userblock_size": 512} if userblock else {}
    with h5py.File(path, "w", **kw) as f:
        g = f.create_group(variable)
        g.attrs["MATLAB_class"] = np.bytes_("struct")
        for name, a in fields.items():
            if a.size == 0:
                ds = g.create_dataset(name, data=np.array(a.shape, dtype=np.uint64))
                ds.attrs["MATLAB_empty"] = np.uint8(1)
            else:
                ds = g.create_dataset(name, data=np.ascontiguousarray(a.T))  # column-major: (3, N)
            ds.attrs["MATLAB_class"] = np.bytes_("double")
    if userblock:
        head = MATLAB_73_HEADER.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
        with open(path, "r+b") as f:
            f.write(head.ljust(512, b"\x00"))
    return path


def expected(fields):
    return np.stack([fields[name] for name in JOINT_NAMES], axis=1)


def test_v5_round_trip(tmp_path, rng):
    fields = trajectories(rng)
    path = tmp_path / "S1_1_1.mat"
    scipy.io.savemat(path, {"XYZPOS": fields})
    with open(path, "rb") as f:
        assert f.read(10) == b"MATLAB 5.0"
    j = read_xyzpos(path)
    assert j.shape == (57, 13, 3) and j.dtype == np.float64
    np.testing.assert_array_equal(j, expected(fields))  # NaN in the same places, values bit-exact


@pytest.mark.parametrize("userblock", [True, False])
def test_v73_round_trip(tmp_path, rng, userblock):
    fields = trajectories(rng, n=41)
    path = write_v73(tmp_path / "S1_1_2.mat", fields, userblock=userblock)
    assert h5py.File(path, "r")["XYZPOS/head"].shape == (3, 41)  # stored transposed
    if userblock:
        assert open(path, "rb").read(19) == b"MATLAB 7.3 MAT-file"
    np.testing.assert_array_equal(read_xyzpos(path), expected(fields))


def test_v73_struct_array_fields_behind_references(tmp_path, rng):
    fields = trajectories(rng, n=9)
    path = tmp_path / "refs.mat"
    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")
        g = f.create_group("XYZPOS")
        for name, a in fields.items():
            target = refs.create_dataset(name, data=a.T)
            g.create_dataset(name, data=np.array([[target.ref]], dtype=h5py.ref_dtype))
    np.testing.assert_array_equal(read_xyzpos(path), expected(fields))


def test_single_sample_and_empty_fields(tmp_path, rng):
    one = {name: np.array([[1.0, 2.0, float(k)]]) for k, name in enumerate(JOINT_NAMES)}
    p5 = tmp_path / "one.mat"
    scipy.io.savemat(p5, {"XYZPOS": one})
    j = read_xyzpos(p5)
    assert j.shape == (1, 13, 3) and j[0, 4].tolist() == [1.0, 2.0, 4.0]
    empty = {name: np.zeros((0, 3)) for name in JOINT_NAMES}
    assert read_xyzpos(write_v73(tmp_path / "empty.mat", empty)).shape == (0, 13, 3)


def test_pose_samples_times_and_validity(rng):
    fields = trajectories(rng, n=6)
    t, j, valid = pose_samples(expected(fields))
    assert t.tolist() == [0, 10000, 20000, 30000, 40000, 50000] and t.dtype == np.int64
    hand_r, foot_l = JOINT_NAMES.index("handR"), JOINT_NAMES.index("footL")
    assert not valid[5, hand_r] and not valid[0, foot_l] and not valid[5, foot_l]
    assert valid.sum() == 6 * 13 - 3
    t2, _, _ = pose_samples(expected(fields), t0_us=7)
    assert t2[1] == 10007


def test_bad_files_name_the_field(tmp_path, rng):
    fields = trajectories(rng, n=5)
    del fields["kneeL"]
    p = tmp_path / "missing.mat"
    scipy.io.savemat(p, {"XYZPOS": fields})
    with pytest.raises(EventFormatError, match=r"XYZPOS\.kneeL: missing joint"):
        read_xyzpos(p)
    with pytest.raises(EventFormatError, match=r"XYZPOS\.kneeL: missing joint"):
        read_xyzpos(write_v73(tmp_path / "missing73.mat", fields))
    fields = trajectories(rng, n=5)
    fields["head"] = fields["head"][:4]
    p = tmp_path / "ragged.mat"
    scipy.io.savemat(p, {"XYZPOS": fields})
    with pytest.raises(EventFormatError, match="different numbers of samples"):
        read_xyzpos(p)
    fields = trajectories(rng, n=5)
    fields["elbowR"] = fields["elbowR"][:, :2]
    p = tmp_path / "cols.mat"
    scipy.io.savemat(p, {"XYZPOS": fields})
    with pytest.raises(EventFormatError, match=r"XYZPOS\.elbowR: expected an \(N, 3\) array"):
        read_xyzpos(p)
    p = tmp_path / "other.mat"
    scipy.io.savemat(p, {"POS": trajectories(rng)})
    with pytest.raises(EventFormatError, match="XYZPOS: no such variable"):
        read_xyzpos(p)
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"hello, not a mat file" * 10)
    with pytest.raises(EventFormatError, match="not a readable MATLAB file"):
        read_xyzpos(junk)
    with pytest.raises(FileNotFoundError):
        read_xyzpos(tmp_path / "nope.mat")
