"""`make bench`: run every benchmark and print its table."""

from __future__ import annotations

import importlib
import sys

# Each module has a main() that prints its own table; missing ones are skipped with a note.
MODULES = (
    "bench.safety",
    "bench.faq",
    "bench.broadcast",
    "bench.admin",
    "bench.chart",
    "bench.load",
)


def main() -> int:
    """Run the benchmarks named on the command line, or all of them."""
    wanted = [f"bench.{name}" for name in sys.argv[1:]] or list(MODULES)
    for name in wanted:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            print(f"{name}: not present, skipped\n")
            continue
        print(f"=== {name} ===", flush=True)
        module.main()
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
