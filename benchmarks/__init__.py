"""`make bench`: figures for speed and memory, printed, never asserted."""
