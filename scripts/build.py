#!/usr/bin/env python3
"""Command-line entry points the Makefile calls. Run from the project root; `build.py -h` and
`build.py COMMAND -h` list the commands and their arguments (`cartpool.cli`).

During `make reports` a warm worker serves the build commands (`cartpool.builder.warm`): this
script then only hands its arguments and its terminal to the worker and waits for the exit
status, which costs a few milliseconds instead of seconds of imports."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from cartpool.builder.warm import run_via_worker

    status = run_via_worker(sys.argv[1:])
    if status is None:  # no worker: run here
        from cartpool.cli import main

        status = main(sys.argv[1:])
    sys.exit(status)
