"""The collector settings a serving process applies after startup (bot/heap.py)."""

from __future__ import annotations

import subprocess
import sys

# In a child process: freezing is process-wide and would change the collector for every test.
PROBE = """
import gc
from bot.heap import OLDER_THRESHOLDS, YOUNG_THRESHOLD, settle_after_startup
kept = [[i] for i in range(5000)]   # what startup loaded and keeps
cycle = []; cycle.append(cycle); del cycle   # garbage left from startup
settle_after_startup()
print(gc.get_freeze_count(), *gc.get_threshold(), YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
print(sum(1 for o in gc.get_objects() if o is kept))
"""


def test_startup_objects_are_frozen_and_collections_are_rarer() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    frozen, young, middle, full, want_young, want_middle, want_full = map(int, out[0].split())
    assert frozen >= 5000  # the kept objects left the collector's generations
    assert (young, middle, full) == (want_young, want_middle, want_full)
    assert young > 700  # less often than CPython's default
    assert out[1] == "0"  # frozen objects are no longer scanned (nor listed)
