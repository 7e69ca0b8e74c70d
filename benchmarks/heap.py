"""The bench's own processes (its clients, the Slack double, the NLU stub) keep the
garbage collector out of the measurement as the app does (bot/app.py): what start-up
made is frozen, and collections come less often.

With Python's defaults, a full collection of the bench's client paused it for up to
150 ms in the middle of a measured run (seen with gc.callbacks, 32 new customers at
once): every reply that arrived meanwhile was timed late, Frontdesk's and the peer's
alike, at random. The Slack double paused for up to 80 ms the same way."""

from __future__ import annotations

import gc

from bot.app import GC_THRESHOLDS


def settle() -> None:
    """Collect once, freeze what is left (it lives as long as the process), and
    collect less often from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
