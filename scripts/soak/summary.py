#!/usr/bin/env python3
"""Summarises a soak's samples: per host and resource, the range from the given second on, and whether it grew.

A leak grows without bound; pools (the console's SSH threads, the JIT's) rise and fall. So a resource counts as flat
when the median of the last third of the samples is no more than the allowed amount above the median of the first
third (both after the warm-up); the full range is printed beside it.
"""
import csv
import statistics
import sys

ALLOWED_GROWTH = {  # resource: (kind, amount): a fraction of the first third's median, or a count
    "heap_after_gc_kib": ("fraction", 0.10),
    "fds": ("count", 4),
    "mappings": ("fraction", 0.05),
    "threads": ("count", 4),
}


def main(path, from_second):
    rows = list(csv.DictReader(open(path)))
    flat = True
    print(f"from second {from_second} on (samples before it are the warm-up); growth = median of the last third"
          " minus median of the first third:")
    print(f"{'host':<5}{'resource':<20}{'min':>10}{'max':>10}{'first':>10}{'last':>10}{'growth':>10}  allowed")
    for host in sorted({r["host"] for r in rows}):
        late = [r for r in rows if r["host"] == host and int(r["seconds"]) >= from_second]
        if len(late) < 3:
            print(f"{host:<5}too few samples after second {from_second}")
            flat = False
            continue
        third = max(1, len(late) // 3)
        for resource, (kind, amount) in ALLOWED_GROWTH.items():
            values = [int(r[resource]) for r in late]
            early = statistics.median(values[:third])
            recent = statistics.median(values[-third:])
            growth = recent - early
            allowed = amount * early if kind == "fraction" else amount
            ok = growth <= allowed
            flat &= ok
            print(f"{host:<5}{resource:<20}{min(values):>10}{max(values):>10}{early:>10.0f}{recent:>10.0f}"
                  f"{growth:>10.0f}  {allowed:.0f}{'' if ok else '  GREW'}")
    print("verdict: " + ("flat" if flat else "grew"))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
