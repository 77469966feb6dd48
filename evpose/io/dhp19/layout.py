"""The DHP19 dataset as distributed: folder tree, file names, splits, cameras, known issues.

::

    <root>/DVS_movies/S{subject}/session{session}/mov{movement}.aedat
    <root>/Vicon_data/S{subject}_{session}_{movement}.mat

17 subjects, 5 sessions of 8, 6, 6, 6, 7 movements (33 movements in all).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

NUM_SUBJECTS = 17
#: Movements per session.
SESSION_MOVEMENTS: dict[int, int] = {1: 8, 2: 6, 3: 6, 4: 6, 5: 7}
#: DHP19's standard split by subject.
TRAIN_SUBJECTS: tuple[int, ...] = tuple(range(1, 13))
TEST_SUBJECTS: tuple[int, ...] = tuple(range(13, 18))

#: evpose camera name of each camera index c of the AEDAT addresses (``address & 0xF``).
#: evpose's ``cam{i}`` uses DHP19's projection matrix ``P{i}``. DHP19's preprocessing
#: writes address camera c to channel c of its frame files, and channel c uses
#: P4, P1, P3, P2 for c = 0, 1, 2, 3 (DHP19's README; evpose/resources/dhp19/README.md).
CAMERA_OF_ADDRESS: tuple[str, ...] = ("cam4", "cam1", "cam3", "cam2")

#: Recordings DHP19 itself removes (more than 700 special events).
KNOWN_CORRUPT: dict[tuple[int, int, int], str] = {
    (4, 3, 4): "corrupt recording (over 700 special events); DHP19 removes it",
    (4, 3, 6): "corrupt recording (over 700 special events); DHP19 removes it",
}
#: Recordings converted with a caveat (recorded in their file attributes).
KNOWN_CAVEATS: dict[tuple[int, int, int], str] = {
    (14, 5, 3): "no special event: labels aligned to the first event, alignment uncertain",
    (14, 1, 1): "the timestamps wrap around: the movement stops at the last event before the wrap, as in DHP19",
}


@dataclass(frozen=True)
class DHP19Recording:
    """One movement of one subject, located in the DHP19 tree.

    Args:
        subject: 1..17.
        session: 1..5.
        movement: 1..8 (per session numbering, as DHP19's file names).
        aedat: the events file.
        vicon: the labels file.
    """

    subject: int
    session: int
    movement: int
    aedat: Path
    vicon: Path

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.subject, self.session, self.movement)

    @property
    def name(self) -> str:
        """Output file stem, e.g. ``S01_session1_mov1``."""
        return recording_name(self.subject, self.session, self.movement)


def recording_name(subject: int, session: int, movement: int) -> str:
    return f"S{subject:02d}_session{session}_mov{movement}"


def aedat_path(root, subject: int, session: int, movement: int) -> Path:
    return Path(root) / "DVS_movies" / f"S{subject}" / f"session{session}" / f"mov{movement}.aedat"


def vicon_path(root, subject: int, session: int, movement: int) -> Path:
    return Path(root) / "Vicon_data" / f"S{subject}_{session}_{movement}.mat"


def split_of(subject: int, train: Iterable[int] = TRAIN_SUBJECTS, test: Iterable[int] = TEST_SUBJECTS,
             val: Iterable[int] = ()) -> str:
    """The split of a subject (``train``, ``val`` or ``test``)."""
    for split, subjects in (("train", train), ("val", val), ("test", test)):
        if subject in set(subjects):
            return split
    raise ValueError(f"subject {subject} is in no split (train {list(train)}, val {list(val)}, test {list(test)})")


def walk_dhp19(root, subjects=None, sessions=None, movements=None):
    """Find the recordings of a DHP19 tree, in DHP19's order (subject, session, movement).

    Args:
        root: the folder holding ``DVS_movies/`` and ``Vicon_data/``.
        subjects: subjects to take (default all present of 1..17).
        sessions: sessions to take (default 1..5).
        movements: movement numbers to take (default all of each session).

    Returns:
        ``(recordings, missing)``: the :class:`DHP19Recording` found, and a list of
        ``{"subject", "session", "movement", "reason"}`` for the movements of present
        subjects whose ``.aedat`` or ``.mat`` is missing.
    """
    root = Path(root)
    dvs = root / "DVS_movies"
    if not dvs.is_dir():
        raise FileNotFoundError(
            f"{root}: not a DHP19 folder (no DVS_movies/ inside); expected "
            "<root>/DVS_movies/S{subject}/session{session}/mov{movement}.aedat and "
            "<root>/Vicon_data/S{subject}_{session}_{movement}.mat (see data/README.md)"
        )
    found, missing = [], []
    for subject in subjects or range(1, NUM_SUBJECTS + 1):
        if not (dvs / f"S{subject}").is_dir():
            if subjects:
                missing.append({"subject": subject, "session": None, "movement": None, "reason": f"no folder {dvs / f'S{subject}'}"})
            continue
        for session in sessions or SESSION_MOVEMENTS:
            if session not in SESSION_MOVEMENTS:
                raise ValueError(f"unknown DHP19 session {session}; valid: 1..5")
            for movement in movements or range(1, SESSION_MOVEMENTS[session] + 1):
                if movement > SESSION_MOVEMENTS[session]:
                    continue
                a = aedat_path(root, subject, session, movement)
                v = vicon_path(root, subject, session, movement)
                where = {"subject": subject, "session": session, "movement": movement}
                if not a.is_file():
                    missing.append({**where, "reason": f"no events file {a}"})
                elif not v.is_file():
                    missing.append({**where, "reason": f"no Vicon file {v} for {a}"})
                else:
                    found.append(DHP19Recording(subject, session, movement, a, v))
    return found, missing
