"""DHP19's background-activity filter, exact and vectorised.

DHP19's ``BackgroundFilter.m`` walks the events in order with a map of "last stamp"
times (all zeros at first). Event i, at pixel p, passes if ``t_i - map[p] <= dt``;
then, unless p is on the border of the map, it writes ``t_i`` into the map at its 8
neighbours (and, in some versions of the script, at p itself). This class gives the
same answer, bit for bit, without a Python loop over events:

- **Monotone time** (the usual case: timestamps never decrease). Events are cut into
  blocks spanning at most ``dt`` microseconds. The stamp seen by event i is then the
  latest write before it; if some earlier event of the *same block* wrote to p, that
  write is at most ``dt`` old and i passes. Otherwise the stamp comes from earlier
  blocks, where "latest" equals "largest" because time does not decrease: it is the
  maximum, over the neighbours q of p, of the time of the last stamping event at q
  (one map kept across blocks). Per block: 8 gathers per event, two scatter-reductions
  per stamping event, 8 gathers per event left undecided.
- **Any order** (a timestamp decreases somewhere). The map of last writes is kept
  explicitly and, within a block, the latest earlier writer to each event's pixel is
  found by sorting (pixel, index) keys and one binary search per neighbour offset.
  Slower, equally exact; the filter switches to it at the first decrease and stays.

Feed the stream in consecutive pieces (any sizes): the state is carried across calls.
"""

from __future__ import annotations

import numpy as np

_BIG = np.iinfo(np.int64).max


class BackgroundActivityFilter:
    """Keep events supported by a recent event at a neighbouring pixel (DHP19's rule).

    Args:
        width: columns of the map (default 4 * 346: DHP19's four cameras side by side).
        height: rows of the map (default 260).
        dt_us: an event passes when its pixel's stamp is at most this old (default 70000).
        stamp_own_pixel: an event also stamps its own pixel (default False: only its 8
            neighbours, as the spec and jAER's filter; DHP19's repository has had both).
        initial_stamp: stamp of a pixel never written (default 0, DHP19's ``zeros``; with
            absolute timestamps this means "never supported").
        block: largest number of events processed at once (default 2**15; bounds memory).

    Shapes:
        t: (N,) int64 microseconds, col: (N,) 0 <= col < width, row: (N,) 0 <= row < height
        -> keep: (N,) bool
    """

    def __init__(
        self,
        width: int = 4 * 346,
        height: int = 260,
        dt_us: int = 70_000,
        stamp_own_pixel: bool = False,
        initial_stamp: int = 0,
        block: int = 1 << 15,
    ):
        if width < 3 or height < 3:
            raise ValueError(f"the map must be at least 3x3, got {width}x{height}")
        if dt_us < 0:
            raise ValueError(f"dt_us must be >= 0, got {dt_us}")
        if not 1 <= block <= 1 << 22:
            raise ValueError(f"block must be in [1, 2**22], got {block}")
        self.width, self.height = int(width), int(height)
        self.dt_us = int(dt_us)
        self.stamp_own_pixel = bool(stamp_own_pixel)
        self.initial_stamp = int(initial_stamp)
        self.block = int(block)
        H = self.height
        self._steps = [(dc, dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1) if (dc, dr) != (0, 0) or stamp_own_pixel]
        self._offsets = [dc * H + dr for dc, dr in self._steps]  # the same, as linear pixel offsets
        self._pad = H + 1  # every neighbour index of a pixel stays inside the padded map
        n = self.width * H + 2 * self._pad
        self._stamper_t = np.full(n, self.initial_stamp, dtype=np.int64)  # monotone mode
        self._first = np.full(n, _BIG, dtype=np.int64)
        self._last_write: np.ndarray | None = None  # any-order mode
        self._writer: np.ndarray | None = None
        self._prev_t: int | None = None
        self.monotone = True

    # ------------------------------------------------------------------ public
    def __call__(self, t: np.ndarray, col: np.ndarray, row: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.int64)
        col = np.asarray(col, dtype=np.int64)
        row = np.asarray(row, dtype=np.int64)
        n = len(t)
        if not (len(col) == len(row) == n):
            raise ValueError(f"t, col, row must have the same length, got {n}, {len(col)}, {len(row)}")
        keep = np.empty(n, dtype=bool)
        if n == 0:
            return keep
        if col.min() < 0 or col.max() >= self.width or row.min() < 0 or row.max() >= self.height:
            raise ValueError(f"pixels outside the {self.width}x{self.height} map")
        i = 0
        if self.monotone:
            i = self._monotone_prefix(t)
            a = 0
            while a < i:
                b = min(int(np.searchsorted(t[a:i], t[a] + self.dt_us, side="right")) + a, a + self.block)
                keep[a:b] = self._monotone_block(t[a:b], col[a:b], row[a:b])
                a = b
            if i < n:
                self._switch_to_any_order()
        for a in range(i, n, self.block):
            b = min(a + self.block, n)
            keep[a:b] = self._any_order_block(t[a:b], col[a:b], row[a:b])
        self._prev_t = int(t[-1])
        return keep

    # ------------------------------------------------------------------ monotone time
    def _monotone_prefix(self, t: np.ndarray) -> int:
        """Length of the leading run that keeps the monotone mode valid."""
        prev = t[0] if self._prev_t is None else self._prev_t
        bad = np.flatnonzero((np.diff(t, prepend=prev) < 0) | (t < self.initial_stamp))
        return int(bad[0]) if bad.size else len(t)

    def _monotone_block(self, t, col, row) -> np.ndarray:
        H, W, P = self.height, self.width, self._pad
        pix = col * H + row
        A, F = self._stamper_t, self._first
        # views of the padded maps shifted by each neighbour offset: view[pix] = map[pix + o]
        a_views = [A[P + o :] for o in self._offsets]
        stamp = np.take(a_views[0], pix)
        for v in a_views[1:]:
            np.maximum(stamp, np.take(v, pix), out=stamp)
        keep = (t - stamp) <= self.dt_us
        s = np.flatnonzero((col >= 1) & (col <= W - 2) & (row >= 1) & (row <= H - 2))
        if s.size:
            ps = pix[s] + P
            np.minimum.at(F, ps, s)
            u = np.flatnonzero(~keep)
            if u.size:
                pu = pix[u]
                f_views = [F[P + o :] for o in self._offsets]
                first = np.take(f_views[0], pu)
                for v in f_views[1:]:
                    np.minimum(first, np.take(v, pu), out=first)
                keep[u] = first < u
            np.maximum.at(A, ps, t[s])
            F[ps] = _BIG
        return keep

    def _switch_to_any_order(self) -> None:
        """Build the explicit map of last writes from the per-stamper times."""
        W, H, P = self.width, self.height, self._pad
        grid = np.full((W + 2, H + 2), self.initial_stamp, dtype=np.int64)
        grid[1:-1, 1:-1] = self._stamper_t[P : P + W * H].reshape(W, H)
        last = np.full((W, H), self.initial_stamp, dtype=np.int64)
        for dc, dr in self._steps:
            np.maximum(last, grid[1 + dc : W + 1 + dc, 1 + dr : H + 1 + dr], out=last)
        self._last_write = last.reshape(-1)
        self._writer = np.full(W * H, -1, dtype=np.int64)
        self._stamper_t = self._first = None
        self.monotone = False

    # ------------------------------------------------------------------ any order
    def _any_order_block(self, t, col, row) -> np.ndarray:
        H, W = self.height, self.width
        B = len(t)
        S = max(int(B - 1).bit_length(), 1)
        mask = (1 << S) - 1
        pix = col * H + row
        keys = np.sort((pix << S) | np.arange(B, dtype=np.int64))  # by pixel, then order
        order = keys & mask
        base = keys - order
        cs, rs = col[order], row[order]
        stampers = keys[(cs >= 1) & (cs <= W - 2) & (rs >= 1) & (rs <= H - 2)]
        haystack = np.concatenate([[-(1 << 62)], stampers])
        # latest earlier stamper at pixel + o, for each offset o: writers into this pixel
        best = np.full(B, -1, dtype=np.int64)
        for o in self._offsets:
            so = o << S
            cand = haystack[np.searchsorted(haystack, keys + so) - 1] - base - so
            np.maximum(best, cand, out=best)  # cand < 0 when that pixel had no earlier stamper
        writer = np.empty(B, dtype=np.int64)
        writer[order] = best
        stamp = np.where(writer >= 0, t[writer], self._last_write[pix])
        keep = (t - stamp) <= self.dt_us
        if stampers.size:  # last write per pixel: the last stamper of each neighbour pixel
            sp = stampers >> S
            ends = np.flatnonzero(np.append(sp[1:] != sp[:-1], True))
            gp, gi = sp[ends], stampers[ends] & mask
            w = self._writer
            targets = [gp + o for o in self._offsets]
            for tg in targets:
                w[tg] = np.maximum(w[tg], gi)
            tg = np.concatenate(targets)
            self._last_write[tg] = t[w[tg]]
            w[tg] = -1
        return keep

