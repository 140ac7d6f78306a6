#!/usr/bin/env python3
"""What each thread of a profiled run was doing, window by window.

    perf record -F 99 -g -o run.perf .build/release/dropline run --root ZONE
    perf script -i run.perf -F tid,time,ip,sym | bench/timeline.py [SECONDS_PER_WINDOW]

Prints, per window of the run (default 1 s), the three busiest threads with their sample counts
by activity: the first frame of a sample's stack that names one of the activities below, else
`other` (kernel and libc frames, broken stacks). A window where the threads' samples add up to
about twice the sampling rate times its length has both cores busy; a window with one thread
shows work nothing overlaps. Frame-pointer stacks are incomplete in the Swift runtime, so read
the activities as a map of the run, not as exact shares (use `--call-graph dwarf` for those).
"""
import collections
import sys

ACTIVITIES = [
    ("LaborFile", "labor"), ("writeLabor", "labor"), ("RejectDocument", "reject cut"), ("RejectCut", "reject cut"),
    ("Utilization", "utilization"), ("Manifest", "manifest"), ("CheckpointBehind", "checkpoint"),
    ("wal_checkpoint", "checkpoint"), ("carriedAgain", "hold pre-pass"), ("reevaluateHolds", "holds"),
    ("TimePostingStage", "deciding"), ("WriteBehind", "writer"), ("runConcurrently", "records"),
    ("sha256_block", "sha-256"), ("fdatasync", "fsync"), ("fsync", "fsync"), ("sqlite3", "sqlite"),
]


def samples(lines):
    """(tid, time, frames) per sample of `perf script -F tid,time,ip,sym`."""
    current = None
    for line in lines:
        if not line.strip():
            if current:
                yield current
            current = None
        elif not line.startswith("\t") and not line.startswith(" " * 8):
            parts = line.split()
            current = (int(parts[0]), float(parts[1].rstrip(":")), [])
        elif current:
            parts = line.strip().split(None, 1)
            current[2].append(parts[1] if len(parts) > 1 else "?")
    if current:
        yield current


def activity(frames):
    stack = " ".join(frames)
    return next((name for pattern, name in ACTIVITIES if pattern in stack), "other")


def main():
    width = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    found = list(samples(sys.stdin))
    if not found:
        sys.exit("no samples on standard input: pipe `perf script -F tid,time,ip,sym` into it")
    start = min(t for _, t, _ in found)
    per_thread = collections.Counter(tid for tid, _, _ in found)
    windows = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for tid, t, frames in found:
        windows[int((t - start) // width)][tid][activity(frames)] += 1
    for w in sorted(windows):
        busiest = sorted(windows[w], key=lambda tid: -sum(windows[w][tid].values()))[:3]
        cells = []
        for tid in busiest:
            counts = windows[w][tid]
            top = ", ".join(f"{name} {n}" for name, n in counts.most_common(3))
            cells.append(f"{tid}: {top}")
        print(f"{w * width:7.1f} s  " + " | ".join(cells))
    print("samples per thread: " + ", ".join(f"{tid} {n}" for tid, n in per_thread.most_common(6)))


if __name__ == "__main__":
    main()
