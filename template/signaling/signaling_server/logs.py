"""The server's log: one line per event, and one line per kind of refusal every
LOG_INTERVAL_SECONDS at most, so that a flood cannot fill the disk."""

import logging
import time
from collections import Counter

# One log line per kind of refusal per interval.
LOG_INTERVAL_SECONDS = 10

log = logging.getLogger("signaling")


class RareLog:
    """Logs a kind of event at most once per LOG_INTERVAL_SECONDS, and how many it skipped."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last.get(kind, -LOG_INTERVAL_SECONDS) < LOG_INTERVAL_SECONDS:
            self.skipped[kind] += 1
            return
        self.last[kind] = now
        if skipped := self.skipped.pop(kind, 0):
            message += f" ({skipped} more since the last such line, not logged)"
        log.warning(message, *args)
