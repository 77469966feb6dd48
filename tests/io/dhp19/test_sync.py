"""DHP19's start/stop rules on hand-computed cases (the spec's and Generate_DHP19.m's)."""

from __future__ import annotations

import pytest

from evpose.io.dhp19.sync import CorruptRecording, EventTimes, movement_interval

T = EventTimes(first=1_000_000, last=21_000_000, min=1_000_000, max=21_000_000)


def test_one_special_event_near_the_start_or_the_end():
    # S5 session4 mov2: special 1075788910, events 1055513693 .. 1076195668 -> it is the stop
    times = EventTimes(first=1055513693, last=1076195668, min=1055513693, max=1076195668)
    iv = movement_interval([1075788910], times, num_vicon_samples=1500)
    assert (iv.start_us, iv.stop_us) == (1075788910 - 15_000_000, 1075788910)
    assert "stop" in iv.rule and not iv.uncertain
    iv = movement_interval([2_000_000], T, 1000)
    assert (iv.start_us, iv.stop_us) == (2_000_000, 12_000_000)
    # exactly in the middle: DHP19 takes it as the start (strict '>')
    iv = movement_interval([11_000_000], T, 10)
    assert (iv.start_us, iv.stop_us) == (11_000_000, 11_100_000)


def test_two_or_four_duplicates_take_the_first():
    iv = movement_interval([3_000_000, 3_000_001], T, 500)
    assert (iv.start_us, iv.stop_us, iv.spread_us) == (3_000_000, 8_000_000, 1)
    # S4 session5 mov7: 149892732 (x3), 149892733, events 146087513 .. 170713237 -> start
    times = EventTimes(first=146087513, last=170713237, min=146087513, max=170713237)
    iv = movement_interval([149892732] * 3 + [149892733], times, 2000)
    assert (iv.start_us, iv.stop_us) == (149892732, 149892732 + 20_000_000)
    # nearer the end -> stop; the first/last rule uses file order, not min/max
    times = EventTimes(first=1_000_000, last=21_000_000, min=0, max=40_000_000)
    iv = movement_interval([20_000_000, 20_000_000], times, 300)
    assert (iv.start_us, iv.stop_us) == (17_000_000, 20_000_000)


def test_two_special_events_with_a_timestamp_wrap():
    # S14 session1 mov1: start at the special event, stop at the last event before the wrap
    w = 1 << 32
    times = EventTimes(first=w - 9_000_000, last=w + 5_000_000, min=w - 9_000_000, max=w + 5_000_000,
                       wrapped=True, last_before_wrap=w - 3)
    iv = movement_interval([w - 8_000_000, w - 8_000_000], times, 1300)
    assert (iv.start_us, iv.stop_us) == (w - 8_000_000, w - 3)
    assert "wrap" in iv.rule


def test_three_or_five_first_and_last():
    iv = movement_interval([2_000_000, 2_000_001, 9_000_000], T, 700)
    assert (iv.start_us, iv.stop_us) == (2_000_000, 9_000_000)
    iv = movement_interval([2_000_000] * 3 + [2_000_001, 15_000_000], T, 700)
    assert (iv.start_us, iv.stop_us) == (2_000_000, 15_000_000)


def test_none_is_uncertain_and_more_than_five_is_corrupt():
    iv = movement_interval([], T, 700)
    assert (iv.start_us, iv.stop_us, iv.uncertain) == (T.first, T.last, True)
    with pytest.raises(CorruptRecording, match="712 special events"):
        movement_interval(list(range(712)), T, 700)
    with pytest.raises(CorruptRecording, match="6 special events"):
        movement_interval([1, 2, 3, 4, 5, 6], T, 700)
