#!/usr/bin/env python3
"""Write N seeded synthetic study folders (and their source documents) for tests and benchmarks.

    make_synthetic.py N STUDIES_DIR SOURCES_DIR [--seed S]
"""

import sys
from pathlib import Path

from cartpool.synthetic import generate

if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 2026
    ids = generate(int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), seed=seed)
    print(f"wrote {len(ids)} synthetic studies to {sys.argv[2]} (sources in {sys.argv[3]})")
