"""Named counters that never hand out the same value twice."""
