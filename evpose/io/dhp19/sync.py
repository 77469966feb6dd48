"""Where a DHP19 movement starts and stops: DHP19's rules on the special (sync) events.

The Vicon sample k belongs to ``start + k * 10000`` us, and N samples span
``n = N * 10000`` us. From ``Generate_DHP19.m``:

- 1 special event: nearer the end of the events (``special - min > max - special``)
  it is the stop (``start = stop - n``), otherwise the start (``stop = start + n``);
- 2 or 4 (duplicates within 1 us): the first, nearer the end (``special - first >
  last - special``) -> stop, otherwise start, as above; but when the timestamps wrap
  (the last event is earlier than the first on the raw clock), ``start`` = the
  special event and ``stop`` = the last event before the wrap;
- 3 or 5: the first is the start, the last the stop;
- none: the first and last events of the file, an alignment flagged as uncertain;
- more than 5: a corrupt recording (S4 session3 mov4 and mov6 have over 700), skipped.

Only events strictly between start and stop belong to the movement. All times here
are on the reader's unwrapped clock (int64 us), so the rules hold across a wrap.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Microseconds per Vicon sample (100 Hz).
VICON_PERIOD_US = 10_000
#: More special events than this marks a recording as corrupt.
MAX_SPECIAL_EVENTS = 5
#: Duplicated special events are expected within this many microseconds of each other.
DUPLICATE_SPREAD_US = 1


class SkipRecording(ValueError):
    """A recording that cannot be converted faithfully; the message says why."""


class CorruptRecording(SkipRecording):
    """The special events do not allow finding the movement (the recording is skipped)."""


@dataclass(frozen=True)
class EventTimes:
    """What the start/stop rules need to know of a recording's polarity events.

    Args:
        first: time of the first polarity event in file order.
        last: time of the last polarity event in file order.
        min: earliest polarity event.
        max: latest polarity event.
        wrapped: the raw uint32 timestamps wrapped around.
        last_before_wrap: latest polarity event before the first wrap (= ``max`` if none).
    """

    first: int
    last: int
    min: int
    max: int
    wrapped: bool = False
    last_before_wrap: int | None = None


@dataclass(frozen=True)
class MovementInterval:
    """The movement's span: events with ``start_us < t < stop_us`` belong to it.

    Args:
        start_us: time of Vicon sample 0.
        stop_us: end of the movement.
        rule: which rule decided, in words.
        uncertain: True when no special event anchored the labels (first/last event used).
        spread_us: largest distance between special events treated as duplicates.
    """

    start_us: int
    stop_us: int
    rule: str
    uncertain: bool = False
    spread_us: int = 0


def movement_interval(special_t, times: EventTimes, num_vicon_samples: int) -> MovementInterval:
    """Apply DHP19's rules (module docstring) to a recording's special events.

    Args:
        special_t: times of the special events, in file order.
        times: the polarity events' extremes (:class:`EventTimes`).
        num_vicon_samples: N, the number of Vicon samples (100 Hz) of the movement.

    Raises:
        CorruptRecording: more than 5 special events.
    """
    special = [int(v) for v in special_t]
    n = int(num_vicon_samples) * VICON_PERIOD_US
    k = len(special)
    if k > MAX_SPECIAL_EVENTS:
        raise CorruptRecording(f"{k} special events (more than {MAX_SPECIAL_EVENTS}): corrupt recording")
    if k == 0:
        return MovementInterval(times.first, times.last, "no special event: first and last event", uncertain=True)
    if k == 1:
        s = special[0]
        if s - times.min > times.max - s:
            return MovementInterval(s - n, s, "1 special event, nearer the end: stop")
        return MovementInterval(s, s + n, "1 special event, nearer the start: start")
    if k in (2, 4):
        s = special[0]
        spread = max(special) - min(special)
        if times.wrapped:
            stop = times.last_before_wrap if times.last_before_wrap is not None else times.max
            return MovementInterval(s, stop, f"{k} special events, timestamps wrap: start, stop = last event before the wrap", spread_us=spread)
        if s - times.first > times.last - s:
            return MovementInterval(s - n, s, f"{k} special events, nearer the end: stop", spread_us=spread)
        return MovementInterval(s, s + n, f"{k} special events, nearer the start: start", spread_us=spread)
    # 3 or 5
    return MovementInterval(special[0], special[-1], f"{k} special events: first = start, last = stop")
