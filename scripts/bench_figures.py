#!/usr/bin/env python3
"""Figures and page weight before and after issue 30, measured in one run (docs/performance.md).

    bench_figures.py [--base REV] [--runs 5]

The base revision's package (default 61d570d: PNG figures, JupyterLab's stylesheet) is taken
from git into a temporary folder; this checkout's package is the other side. Both render the
same real study data in fresh processes, alternated, and the script prints, for each side:

- the pooled page's figure time: the seconds spent drawing and encoding its figures (every
  call of the plotting functions and of `Figures.embed`), and all of `PooledPage.render_all`;
- the figures' bytes (SVG or base64 PNG as embedded);
- the CSS each page embeds, from rendering the executed notebooks in ``build/`` (run ``make
  reports`` first) with each side's HTML exporter, and the page's size that way (the same
  notebook, so the same figures: the difference is the stylesheet).

Medians over the runs, and each "after" as a ratio of "before". Needs ``../shared/seeds``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter with PYTHONPATH set to one side's src/: times the pooled page, then
# renders every executed notebook of build/ to HTML and measures its CSS.
CHILD = r'''
import json, re, sys, time, tempfile, functools
from pathlib import Path
import nbformat
from cartpool.analysis.pooled_analysis import PooledAnalysis
from cartpool.report import pooled_page as RP, render as R
from cartpool.builder import notebooks as NB

spent = {"figures": 0.0, "depth": 0}
def timed(f):
    @functools.wraps(f)
    def g(*a, **k):
        spent["depth"] += 1
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            spent["depth"] -= 1
            if spent["depth"] == 0:  # the outermost call only: no time counted twice
                spent["figures"] += time.perf_counter() - t
    return g
import cartpool.plots.forest as PF, cartpool.plots.risk_of_bias as PR
for mod in (PF, PR):
    for name in dir(mod):
        if name.endswith(("_plot", "_light", "_bars")) and callable(getattr(mod, name)):
            setattr(mod, name, timed(getattr(mod, name)))
            if hasattr(RP, name):
                setattr(RP, name, getattr(mod, name))
R.Figures.embed = timed(R.Figures.embed)
RP.PooledPage._overlay = timed(RP.PooledPage._overlay)  # the survival figure, drawn and embedded

a = PooledAnalysis.load(sys.argv[1])
with tempfile.TemporaryDirectory() as out:
    page = RP.PooledPage(a, output_dir=out)
    t = time.perf_counter()
    html = str(page.render_all())
    total = time.perf_counter() - t
    figure_bytes = sum(len(m) for m in re.findall(r"<svg\b.*?</svg>|data:image/png;base64,[A-Za-z0-9+/=]+", html, re.S))
pages = {}
for nb_path in sorted(Path(sys.argv[2]).glob("*.ipynb")):
    body = NB.render_html(nbformat.read(nb_path, as_version=4), title=nb_path.stem, nav=[("Index", "index.html")])
    css = sum(len(s.encode()) for s in re.findall(r"<style[^>]*>(.*?)</style>", body, re.S))
    pages[nb_path.stem] = {"css": css, "bytes": len(body.encode())}
print(json.dumps({"total": total, "figures": spent["figures"], "figure_bytes": figure_bytes,
                  "n_figures": page.figures.n, "pages": pages}))
'''


def side(src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg",
           "CARTPOOL_SOURCES": os.environ.get("CARTPOOL_SOURCES", str((ROOT / ".." / "shared" / "seeds").resolve()))}
    p = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "data" / "studies"), str(ROOT / "build")],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="61d570d", help="the revision before (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not list((ROOT / "build").glob("*.ipynb")):
        raise SystemExit("no executed notebooks in build/: run `make reports` first")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), args.base, "src"], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "base", filter="data")
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for i in range(args.runs):  # alternated, so that load on the machine hits both alike
            for name, src in (("before", Path(tmp) / "base" / "src"), ("after", ROOT / "src")):
                runs[name].append(side(src))
                print(f"run {i + 1}/{args.runs} {name}: figures {runs[name][-1]['figures']:.2f} s", file=sys.stderr)

    def med(name, key):
        return statistics.median(r[key] for r in runs[name])

    print(f"Base {args.base} (before) and this checkout (after), {args.runs} alternated runs each, medians.\n")
    print("| Pooled page | before | after | after/before |\n|---|---|---|---|")
    for key, label, unit in (("figures", "figure time (drawing and encoding)", "s"),
                             ("total", "all of render_all()", "s"), ("figure_bytes", "figures as embedded", "KB")):
        b, a = med("before", key), med("after", key)
        scale = 1 / 1000 if unit == "KB" else 1
        print(f"| {label} | {b * scale:.2f} {unit} | {a * scale:.2f} {unit} | {a / b:.2f} |")
    print(f"\n{runs['after'][0]['n_figures']} figures on the pooled page.\n")
    print("| Page | CSS before | CSS after | page, before's exporter | page, after's exporter |\n|---|---|---|---|---|")
    for stem in runs["after"][0]["pages"]:
        b, a = runs["before"][0]["pages"][stem], runs["after"][0]["pages"][stem]
        print(f"| {stem} | {b['css'] / 1000:.1f} KB | {a['css'] / 1000:.1f} KB | {b['bytes'] / 1000:.0f} KB "
              f"| {a['bytes'] / 1000:.0f} KB |")


if __name__ == "__main__":
    main()
