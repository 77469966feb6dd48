"""jAER AEDAT 2.0 reader: files written byte for byte by the tests, decoded exactly."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from evpose.io import EventFormatError
from evpose.io.aedat import AedatReader, TimestampUnwrapper, read_aedat, read_aedat_header

HEADER = [
    b"#!AER-DAT2.0\r\n",
    b"# This is a raw AE data file - do not edit\r\n",
    b"# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n",
    b"# Timestamps tick is 1 us\r\n",
    b"# created Tue Mar 20 10:12:01 CET 2018\r\n",
    b"# AEChip: ch.unizh.ini.jaer.chip.multicamera.MultiDavis346BCameraChip\r\n",
]


def polarity_address(x, y, p, camera):
    return (y << 22) | (x << 12) | (p << 11) | camera


def write_aedat(path, records, header=HEADER, tail=b""):
    """records: iterable of (address, timestamp) uint32 pairs -> big-endian file."""
    with open(path, "wb") as f:
        f.write(b"".join(header))
        for a, t in records:
            f.write(struct.pack(">II", a, t))
        f.write(tail)
    return path


def reference_decode(records):
    """Plain-loop decoder: the spec's bit layout and wrap rule, one record at a time."""
    pol, spec = [], []
    epoch, last = 0, None
    for a, ts in records:
        if a & 0x80000000:
            continue  # APS or IMU
        if last is not None and ts - last < -(1 << 31):
            epoch += 1
        last = ts
        t = ts + (epoch << 32)
        if a & 0x400:
            spec.append((t, a))
        else:
            pol.append((t, (a >> 12) & 0x3FF, (a >> 22) & 0x1FF, (a >> 11) & 1, a & 0xF))
    return pol, spec


def random_records(rng, n, wraps=2):
    """Random DAVIS records of every kind with `wraps` timestamp wrap-arounds."""
    kind = rng.choice(4, size=n, p=[0.85, 0.05, 0.05, 0.05])  # polarity, APS, IMU, special
    kind[n // 2 - 1 : n // 2 + 2] = 0  # the two big jumps below are between polarity events
    x, y = rng.integers(0, 1024, n), rng.integers(0, 512, n)
    addr = (y << 22) | (x << 12) | (rng.integers(0, 2, n) << 11) | rng.integers(0, 16, n)
    addr &= ~0x400  # polarity events have bit 10 clear
    addr = np.where(kind == 1, 0x80000000 | (addr & ~0x800), addr)
    addr = np.where(kind == 2, 0x80000000 | 0x800 | addr, addr)
    addr = np.where(kind == 3, addr | 0x400, addr)
    t = (1 << 32) - 500_000 + np.cumsum(rng.integers(0, 2_000, n))  # crosses 2**32 early on
    if wraps > 1:  # two forward jumps just under 2**31 each carry it past 2**33
        t[n // 2 :] += (1 << 31) - 10_000
        t[n // 2 + 1 :] += (1 << 31) - 10_000
    ts = t % (1 << 32)
    ts[5] = ts[4] - 300  # a small backward jump: data, not a wrap
    return [(int(a) & 0xFFFFFFFF, int(v)) for a, v in zip(addr, ts)]


def as_lists(chunk):
    pol = list(zip(chunk.t.tolist(), chunk.x.tolist(), chunk.y.tolist(), chunk.p.tolist(), chunk.camera.tolist()))
    spec = list(zip(chunk.special_t.tolist(), chunk.special_address.tolist()))
    return pol, spec


def test_hand_made_file_all_kinds_of_records(tmp_path):
    W = 1 << 32
    records = [
        (polarity_address(10, 20, 1, 0), 1000),
        (0x80000000 | (5 << 22) | (7 << 12) | 0x3FF, 1001),  # APS sample
        (0x80000000 | 0x800 | 0x12345, 1002),  # IMU sample
        (polarity_address(345, 259, 0, 1), 1003),
        (0x400 | 0x3, 1004),  # special (sync) event, camera bits 3
        (polarity_address(0, 0, 1, 2), W - 2),  # big forward jump: not a wrap
        (polarity_address(100, 200, 0, 3), W - 1),
        (polarity_address(1, 2, 1, 1), 3),  # wraps: 2**32 + 3
        (0x400, 5),  # special after the wrap
        (0x80000000, 6),  # APS after the wrap
        (polarity_address(1023, 511, 1, 15), 7),  # raw fields beyond the sensor are decoded as stored
    ]
    path = write_aedat(tmp_path / "mov1.aedat", records)
    out = read_aedat(path)
    assert as_lists(out)[0] == [
        (1000, 10, 20, 1, 0),
        (1003, 345, 259, 0, 1),
        (W - 2, 0, 0, 1, 2),
        (W - 1, 100, 200, 0, 3),
        (W + 3, 1, 2, 1, 1),
        (W + 7, 1023, 511, 1, 15),
    ]
    assert as_lists(out)[1] == [(1004, 0x403), (W + 5, 0x400)]
    assert (out.num_aps, out.num_imu, out.num_records) == (2, 1, len(records))
    assert out.t.dtype == np.int64 and out.x.dtype == np.uint16 and out.p.dtype == np.int8
    ev = out.events()
    assert ev["camera"].tolist() == [0, 1, 2, 3, 1, 15] and ev["t"][-1] == W + 7


def test_header_fields(tmp_path):
    path = write_aedat(tmp_path / "a.aedat", [(polarity_address(1, 1, 1, 0), 1)])
    h = read_aedat_header(path)
    assert h.version == "2.0"
    assert h.data_offset == sum(len(line) for line in HEADER)
    assert h.chip == "ch.unizh.ini.jaer.chip.multicamera.MultiDavis346BCameraChip"
    assert h.created == "Tue Mar 20 10:12:01 CET 2018"
    assert h.lines[0] == "This is a raw AE data file - do not edit" and len(h.lines) == len(HEADER) - 1


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_random_file_decodes_exactly_in_any_chunking(tmp_path, chunk):
    rng = np.random.default_rng(7)
    records = random_records(rng, 3000, wraps=2)
    path = write_aedat(tmp_path / "r.aedat", records)
    want_pol, want_spec = reference_decode(records)
    assert len(want_spec) > 50 and want_pol[-1][0] > 2 * (1 << 32)  # it did wrap twice
    with AedatReader(path, chunk_records=chunk) as r:
        chunks = list(r)
        assert r.num_records == len(records)
    got_pol, got_spec = [], []
    for c in chunks:
        p, s = as_lists(c)
        got_pol += p
        got_spec += s
    assert got_pol == want_pol
    assert got_spec == want_spec
    assert sum(c.num_records for c in chunks) == len(records)
    assert [c.first_record for c in chunks] == list(range(0, len(records), chunk))


def test_wrap_exactly_on_a_chunk_boundary(tmp_path):
    records = [(polarity_address(i, i, 0, i % 4), (1 << 32) - 10 + 3 * i) for i in range(4)]
    records += [(polarity_address(i, i, 1, i % 4), 3 * i) for i in range(4)]
    path = write_aedat(tmp_path / "w.aedat", records)
    for chunk in (2, 4, 3):
        with AedatReader(path, chunk_records=chunk) as r:
            t = np.concatenate([c.t for c in r])
        assert t.tolist() == [(1 << 32) - 10 + 3 * i for i in range(4)] + [(1 << 32) + 3 * i for i in range(4)]


def test_small_backward_jump_is_not_a_wrap():
    u = TimestampUnwrapper()
    t = u(np.array([100, 5_000_000, 4_000_000, (1 << 32) - 1], dtype=np.uint32))
    assert t.tolist() == [100, 5_000_000, 4_000_000, (1 << 32) - 1] and u.wraps == 0
    assert u(np.array([2], dtype=np.uint32)).tolist() == [(1 << 32) + 2] and u.wraps == 1


def test_truncated_file_names_the_byte_offset(tmp_path):
    records = [(polarity_address(i, 0, 1, 0), i) for i in range(10)]
    path = write_aedat(tmp_path / "t.aedat", records, tail=b"\x00\x01\x02")
    offset = sum(len(line) for line in HEADER) + 8 * 10
    with pytest.raises(EventFormatError, match=f"byte offset {offset}") as e:
        AedatReader(path)
    assert "t.aedat" in str(e.value) and "event 10 is incomplete" in str(e.value)
    with AedatReader(path, allow_truncated=True) as r:
        assert r.trailing_bytes == 3
        assert r.read().x.tolist() == list(range(10))


def test_body_starting_with_hash_byte(tmp_path):
    a = 0x23000000 | (5 << 12) | 2  # first byte '#', y = 140, x = 5, camera 2
    records = [(a, 9), (polarity_address(3, 4, 1, 1), 10)]
    path = write_aedat(tmp_path / "h.aedat", records)
    out = read_aedat(path)
    assert as_lists(out)[0] == [(9, 5, 0x23000000 >> 22, 0, 2), (10, 3, 4, 1, 1)]


def test_end_of_header_marker_and_empty_body(tmp_path):
    header = HEADER + [b"#End Of ASCII Header\r\n"]
    path = write_aedat(tmp_path / "e.aedat", [(0x23202020, 0x0A0A0A0A)], header=header)  # body looks like text
    out = read_aedat(path)
    assert as_lists(out)[0] == [(0x0A0A0A0A, (0x23202020 >> 12) & 0x3FF, 0x23202020 >> 22, 0, 0)]
    empty = write_aedat(tmp_path / "empty.aedat", [])
    assert len(read_aedat(empty)) == 0


def test_not_aedat_and_unsupported_versions(tmp_path):
    bad = tmp_path / "bad.aedat"
    bad.write_bytes(b"\x00\x01\x02\x03" * 4)
    with pytest.raises(EventFormatError, match="not an AEDAT file"):
        AedatReader(bad)
    v3 = tmp_path / "v3.aedat"
    v3.write_bytes(b"#!AER-DAT3.1\r\n#!END-HEADER\r\n")
    with pytest.raises(EventFormatError, match="3.1"):
        AedatReader(v3)
    cut = tmp_path / "cut.aedat"
    cut.write_bytes(b"#!AER-DAT2.0\r\n# AEChip: eu.seebetter")
    with pytest.raises(EventFormatError, match="not terminated"):
        AedatReader(cut)
    with pytest.raises(FileNotFoundError):
        AedatReader(tmp_path / "missing.aedat")


# ---------------------------------------------------------------------- the chip decides the layout
def header_for(chip_class):
    lines = [b"#!AER-DAT2.0\r\n", b"# This is a raw AE data file - do not edit\r\n"]
    if chip_class is not None:
        lines.append(b"# AEChip: " + chip_class.encode() + b"\r\n")
    return lines + [b"# created Tue Mar 20 10:12:01 CET 2018\r\n"]


def dvs128_address(x, y, p):
    """jAER's DVS128 layout, written from its decoding rule: x = 127 - ((a & 0xFE) >> 1),
    y = (a & 0x7F00) >> 8, ON when bit 0 is 0."""
    return ((127 - x) << 1) | (y << 8) | (0 if p == 1 else 1)


def reference_dvs128(records):
    pol, spec = [], []
    for a, t in records:
        if a & 0x8000:
            spec.append((t, a))
        else:
            pol.append((t, 127 - ((a & 0xFE) >> 1), (a & 0x7F00) >> 8, 1 if a & 1 == 0 else 0, 0))
    return pol, spec


def test_dvs128_file_decodes_with_jaer_dvs128_fields(tmp_path):
    records = [(dvs128_address(0, 0, 1), 10), (dvs128_address(127, 127, 0), 11), (dvs128_address(5, 100, 1), 12),
               (0x8000, 13), (dvs128_address(64, 3, 0), 20)]
    path = write_aedat(tmp_path / "dvs.aedat", records, header=header_for("ch.unizh.ini.jaer.chip.retina.DVS128"))
    with AedatReader(path) as r:
        assert (r.chip.name, r.chip.width, r.chip.height) == ("dvs128", 128, 128)
        out = r.read()
    assert as_lists(out)[0] == [(10, 0, 0, 1, 0), (11, 127, 127, 0, 0), (12, 5, 100, 1, 0), (20, 64, 3, 0, 0)]
    assert as_lists(out)[1] == [(13, 0x8000)]
    # what the DAVIS layout makes of the same addresses (the old behaviour): y always 0, half
    # the events taken for special ones (bit 10 is y's bit 2 in DVS128)
    davis = read_aedat(write_aedat(tmp_path / "as346.aedat", records, header=header_for("eu.seebetter.ini.chips.davis.Davis346B")))
    assert set(davis.y.tolist()) == {0} and len(davis.special_t) == 2 and as_lists(davis)[0] != as_lists(out)[0]


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_random_dvs128_file_matches_the_reference(tmp_path, chunk):
    rng = np.random.default_rng(128)
    n = 2000
    x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    addr = [dvs128_address(int(a), int(b), int(c)) for a, b, c in zip(x, y, p)]
    addr = [a | 0x8000 if rng.random() < 0.02 else a for a in addr]
    t = np.cumsum(rng.integers(0, 50, n)) + (1 << 32) - 20_000  # wraps once
    records = [(a, int(v % (1 << 32))) for a, v in zip(addr, t)]
    path = write_aedat(tmp_path / "r.aedat", records, header=header_for("ch.unizh.ini.jaer.chip.retina.Tmpdiff128"))
    want_pol, want_spec = reference_dvs128([(a, int(v)) for a, v in zip(addr, t)])
    with AedatReader(path, chunk_records=chunk) as r:
        chunks = list(r)
    got = [as_lists(c) for c in chunks]
    assert sum((g[0] for g in got), []) == want_pol and sum((g[1] for g in got), []) == want_spec


@pytest.mark.parametrize("chip_class, name, size", [
    ("eu.seebetter.ini.chips.davis.DAVIS240C", "davis240", (240, 180)),
    ("eu.seebetter.ini.chips.davis.Davis346B", "davis346", (346, 260)),
    ("ch.unizh.ini.jaer.chip.multicamera.MultiDavis346BCameraChip", "davis346", (346, 260)),
])
def test_davis_chips_decode_davis_fields(tmp_path, chip_class, name, size):
    records = [(polarity_address(239, 179, 1, 0), 5), (polarity_address(3, 4, 0, 0), 6), (0x400, 7)]
    path = write_aedat(tmp_path / "d.aedat", records, header=header_for(chip_class))
    with AedatReader(path) as r:
        assert (r.chip.name, (r.chip.width, r.chip.height)) == (name, size)
        out = r.read()
    assert as_lists(out) == ([(5, 239, 179, 1, 0), (6, 3, 4, 0, 0)], [(7, 0x400)])


def test_missing_or_unknown_chip_needs_chip_argument(tmp_path):
    records = [(dvs128_address(10, 20, 1), 5)]
    none = write_aedat(tmp_path / "none.aedat", records, header=header_for(None))
    odd = write_aedat(tmp_path / "odd.aedat", records, header=header_for("org.example.SomeCamera"))
    with pytest.raises(EventFormatError, match=r"none\.aedat: header: the header names no AEChip, so the address layout is unknown; pass chip="):
        AedatReader(none)
    with pytest.raises(EventFormatError, match=r"names AEChip 'org\.example\.SomeCamera', which this reader does not decode"):
        read_aedat(odd)
    for path in (none, odd):
        assert as_lists(read_aedat(path, chip="dvs128"))[0] == [(5, 10, 20, 1, 0)]
    with pytest.raises(ValueError, match=r"chip='atis' is not a chip this reader decodes; valid: dvs128, davis240, davis346"):
        AedatReader(none, chip="atis")
    dvs = write_aedat(tmp_path / "dvs.aedat", records, header=header_for("ch.unizh.ini.jaer.chip.retina.DVS128"))
    with pytest.raises(EventFormatError, match=r"chip='davis346' was given, but the header's AEChip .*DVS128' is a dvs128"):
        AedatReader(dvs, chip="davis346")  # e.g. the DHP19 converter on a DVS128 recording
