"""A byte-count progress bar for long file conversions: tqdm when installed, else log lines."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class ByteProgress:
    """Progress over ``total`` bytes of input: a tqdm bar, or a log line every 5 % without tqdm.

    Args:
        total: bytes to process (counting every pass over the input).
        desc: the bar's label.
        enabled: False: silent.
        passes: passes over the input that ``total`` counts (the log line names the input's size).
    """

    def __init__(self, total: int, desc: str = "", enabled: bool = True, passes: int = 1):
        self.total, self.done, self._next = max(int(total), 1), 0, 0.05
        self.passes = max(int(passes), 1)
        self._bar = self._redirect = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm.auto import tqdm
                from tqdm.contrib.logging import logging_redirect_tqdm
            except ImportError:
                return
            self._redirect = logging_redirect_tqdm()  # log lines above the bar, not through it
            self._redirect.__enter__()
            self._bar = tqdm(total=self.total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, dynamic_ncols=True)

    def describe(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description(text)

    def postfix(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled and self.done / self.total >= self._next:
            log.info("progress: %3.0f %% of %.2f GB read", 100 * self.done / self.total, self.total / self.passes / 1e9)
            while self._next <= self.done / self.total:
                self._next += 0.05

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._redirect.__exit__(None, None, None)
            self._bar = None
