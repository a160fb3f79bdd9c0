"""``python -m cartpool COMMAND``: the same commands as ``scripts/build.py``."""

import sys

from cartpool.cli import console

sys.exit(console())
