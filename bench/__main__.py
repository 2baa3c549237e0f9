"""`make bench`: run every benchmark module in bench/ and print one figure per line, `name: value unit`.

A benchmark is a module `bench/bench_*.py` with a `run() -> list[tuple[str, float, str]]`. It sets
up what it measures itself (database, servers) and prints nothing but its figures.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creatorflow.settings_test")
    import django

    django.setup()
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")
    )
    if not names:
        print("no benchmarks yet: add bench/bench_<name>.py with run()", file=sys.stderr)
        return 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        for figure, value, unit in module.run():
            print(f"{figure}: {value:.3f} {unit}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
