"""Dead code in the package, for `make lint` and `make test`: functions, methods, properties and
classes that nothing calls, found by vulture over the package, the scripts and the tests.

Vulture reads Python names, not behaviour, so four kinds of use are invisible to it and are not
reported: pydantic's fields and validators (called by pydantic), the results and renderers that the
declared page sections call by name (`cartpool.report.sections`), attributes the Jinja2 templates
read (``t.csv_text``), and the hooks of Jupyter's display, pytest and the standard library's HTML
parser. Everything
else it reports at 60% confidence or more is listed, and the command fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cartpool.report.sections import POOLED_SECTIONS, STUDY_SECTIONS  # noqa: E402

#: What vulture reports that this check acts on (fields and attributes are pydantic's and pandas').
KINDS = ("unused function", "unused method", "unused property", "unused class", "unused import",
         "unreachable code")
TEMPLATES = ROOT / "src" / "cartpool" / "report" / "templates"
READ_BY_TEMPLATES = {name for path in sorted(TEMPLATES.rglob("*.j2"))
                     for name in re.findall(r"\.([A-Za-z_]\w*)", path.read_text(encoding="utf-8"))}
HOOKS = {"_repr_html_", "pytest_*", "handle_starttag", "handle_endtag", "handle_data"}
SECTION_NAMES = {name for s in POOLED_SECTIONS + STUDY_SECTIONS for name in (s.name, s.result) if name}
CALLED_BY_NAME = READ_BY_TEMPLATES | HOOKS | SECTION_NAMES


def main() -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "vulture", "src/cartpool", "scripts", "tests", "--min-confidence", "60",
         "--ignore-decorators", "@field_validator,@model_validator,@pytest.fixture",
         "--ignore-names", ",".join(sorted(CALLED_BY_NAME))],
        cwd=ROOT, capture_output=True, text=True)
    found = [line for line in proc.stdout.splitlines()
             if any(f": {kind} " in line or line.endswith(kind) or f": {kind}" in line for kind in KINDS)]
    if proc.returncode not in (0, 3):  # 3: vulture found something; anything else is its own failure
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return proc.returncode
    if found:
        print("[cartpool] code that nothing calls (remove it, or call it):", file=sys.stderr)
        for line in found:
            print("  " + re.sub(r" \(\d+% confidence.*\)$", "", line), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
