#!/usr/bin/env python3
"""Benchmark of the whole pipeline; writes docs/performance.md (`make bench`).

    bench.py [--out docs/performance.md] [--repeats 2] [--smoke] [--only a,g,h,i,j]

Measures, in one run on one machine (stated in the output): (a) set-up from nothing; (b) cold
`make reports` and `make -j2 reports` for the real studies; (c) the naive baseline (papermill
CLI, nbconvert CLI, PDF step per notebook, serially) and the ratio (b)/(c); (d) a no-op
rebuild; (e) the rebuild after editing one study's data, with the targets that ran; (f) cold
`-j2` builds of 5, 50 and 200 synthetic studies, per study and the growth factor; (g) the
pooled analysis alone (library calls, no kernel) for 1,000 synthetic studies with its peak
memory, the Bayesian model and GLMM leave-one-out on every row; (h) set-up from nothing with uv
against a plain `pip install --require-hashes` of the same lock, in the same run; (i) the PDF
printers for one build's pages: Playwright (what the build uses), the Chromium command line per page,
and a small DevTools client of our own (scripts/bench_printers.py), with Playwright's installed size;
(j) `make test` and `make test-fast` wall time on this checkout. Wall-clock figures are noisy:
medians over repeats, and ratios.

--only runs the listed parts (letters); the other rows are kept from the existing output file and
marked as from an earlier run.

--smoke runs a tiny version (2 synthetic studies, 20 for the pooled analysis, no set-up and no
naive baseline) so that the test suite keeps the benchmark from rotting.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
VENV = Path(PY).parents[1]
SEEDS = (ROOT / ".." / "shared" / "seeds").resolve()


def sh(cmd, cwd=None, env=None, check=True) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if check and p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return dt, p


def project(dst: Path, data: str = "real", n: int = 0) -> Path:
    """A copy of the working tree's code with real or synthetic study data."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, dst / name)
    for name in ("notebooks", "requirements", "scripts", "src"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    if data == "real":
        shutil.copytree(ROOT / "data", dst / "data")
    else:
        from cartpool.synthetic import generate

        generate(n, dst / "data" / "studies", dst / "sources")
    return dst


SMOKE = "--smoke" in sys.argv


def make(root: Path, *args, sources: Path | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    if SMOKE:
        args = ("BROWSER=", *args)  # the smoke run skips PDFs
    src = sources or (root / "sources" if (root / "sources").is_dir() else SEEDS)
    return sh(["make", "-C", str(root), f"PY={PY}", f"VENV={VENV}", "ENV_DEP=", f"SOURCES={src}", *args], env=env)


def median_of(fn, repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal")) / 1024 / 1024
    except (OSError, StopIteration):
        mem = float("nan")
    chromium = shutil.which("chromium") or ""
    ver = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip() if chromium else "none"
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {ver}")


def naive_baseline(root: Path) -> float:
    """For each notebook: papermill CLI, nbconvert CLI, PDF step; serially."""
    out = root / "build" / "naive"
    out.mkdir(parents=True, exist_ok=True)
    bin_ = VENV / "bin"
    env = {**os.environ, "CARTPOOL_SOURCES": str(SEEDS), "MPLBACKEND": "Agg"}
    browser = shutil.which("chromium")
    ids = sorted(p.name for p in (root / "data" / "studies").iterdir() if p.is_dir())
    jobs = [("study", i) for i in ids] + [("pooled", None)]
    t0 = time.perf_counter()
    for kind, sid in jobs:
        name = sid or "pooled"
        params = ["-r", "data_dir", "data/studies", "-r", "output_dir", ""] + (["-r", "study_id", sid] if sid else [])
        sh([str(bin_ / "papermill"), f"notebooks/{kind}.ipynb", str(out / f"{name}.ipynb"), *params,
            "--kernel", "python3", "--cwd", str(root), "--no-progress-bar"], cwd=root, env=env)
        sh([str(bin_ / "jupyter-nbconvert"), "--to", "html", "--no-input", str(out / f"{name}.ipynb"),
            "--output-dir", str(out)], cwd=root, env=env)
        if browser:
            sh([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync",
                f"--user-data-dir={out / 'profile'}", "--no-pdf-header-footer",
                f"--print-to-pdf={out / f'{name}.pdf'}", (out / f"{name}.html").as_uri()], env=env)
    return time.perf_counter() - t0


POOLED_ALONE = """
import resource, sys, time
from cartpool.data.load import load_all
from cartpool.analysis.pooled_analysis import PooledAnalysis
from cartpool.analysis.pooled_rows import A_MAIN
t0 = time.perf_counter(); s = load_all(sys.argv[1], sources=None); t1 = time.perf_counter()
a = PooledAnalysis(s); df = a.estimates; t2 = time.perf_counter()
loo = a.leave_one_out
# the Bayesian model is a sensitivity analysis of each population's main row (subgroups and the other
# sensitivity analyses have none by design)
model = df[df["events"].notna() & df["rule"].isin(["random effects", "common effect", "no events", "all events"])
           & (df["analysis"] == A_MAIN)]
assert len(model) and model["bayes_estimate"].notna().all(), "a main row without the Bayesian model"
assert loo.empty or (loo["method"] == "glmm").all(), "leave-one-out refitted another model"
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} {len(df)}"
      f" {len(model)} {len(loo)}")
"""


def pooled_alone(n: int, work: Path) -> tuple[float, float, float]:
    from cartpool.synthetic import generate

    d = work / f"pooled-{n}"
    shutil.rmtree(d, ignore_errors=True)
    generate(n, d / "studies", d / "sources")
    _, p = sh([PY, "-c", POOLED_ALONE, str(d / "studies")], env={**os.environ, "MPLBACKEND": "Agg"})
    load_s, analyse_s, mb, _rows, bayes_rows, loo_rows = p.stdout.split()
    pooled_alone.counts = (int(bayes_rows), int(loo_rows))
    return float(load_s), float(analyse_s), float(mb)


def setup_pair(work: Path) -> tuple[float, float]:
    """Set-up from nothing, uv route (`make env`) and a plain pip install --require-hashes of the
    same lock into a fresh venv, in the same run (the package caches of both are warm: each is run
    once before it is timed)."""
    root = project(work / "setup")
    lock = root / "requirements" / "build.lock"

    def uv_route() -> float:
        shutil.rmtree(root / ".venv", ignore_errors=True)
        return sh(["make", "-C", str(root), "env"])[0]

    def pip_route() -> float:
        venv = work / "setup-pip"
        shutil.rmtree(venv, ignore_errors=True)
        t0 = time.perf_counter()
        sh(["python3", "-m", "venv", str(venv)])  # as make does (PYTHON_SYS)
        sh([str(venv / "bin" / "pip"), "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(lock)])
        return time.perf_counter() - t0

    uv_route(), pip_route()  # warm both caches
    pairs = [(uv_route(), pip_route()) for _ in range(2)]
    shutil.rmtree(root / ".venv", ignore_errors=True)
    shutil.rmtree(work / "setup-pip", ignore_errors=True)
    return statistics.median(u for u, _ in pairs), statistics.median(p for _, p in pairs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated parts to run (a-j); the rest are kept from --out")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))

    def part(letter: str) -> bool:
        return not only or letter in only
    work = ROOT / "build" / ("bench-smoke" if a.smoke else "bench")
    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str]] = []
    notes: list[str] = []

    def log(msg):
        print(f"[bench] {msg}", flush=True)

    # (a) set-up from nothing, and (h) against plain pip in the same run
    if not a.smoke and (part("a") or part("h")):
        uv_s, pip_s = setup_pair(work)
        rows.append(("(a) set-up from nothing (`make env`: venv, uv, pinned packages, bytecode, cartpool)",
                     f"{uv_s:.1f} s", "median of 2, caches warm"))
        rows.append(("(h) plain `pip install --require-hashes` of the same lock into a fresh venv", f"{pip_s:.1f} s",
                     "median of 2, alternated with (a), caches warm"))
        rows.append(("(h) set-up / plain pip", f"{uv_s / pip_s:.2f}", "target ≤ 0.4"))
        log(f"setup {uv_s:.1f}s, plain pip {pip_s:.1f}s")
    if only and not (only & set("bcdef")):  # no build of the real studies needed
        if part("g"):
            pooled_rows(a, rows, work)
        return finish(a, rows, notes, work, only)

    # (b) cold builds of the real studies (smoke: 2 synthetic)
    root = project(work / "real") if not a.smoke else project(work / "real", "synthetic", 2)
    n_studies = len([p for p in (root / "data" / "studies").iterdir() if p.is_dir()])

    def cold(*args, warm: bool = True):
        make(root, "clean")
        return make(root, *args, *([] if warm else ["CARTPOOL_WARM=0"]), "reports")[0]

    reps = 1 if a.smoke else a.repeats
    serial = median_of(lambda: cold(), reps)
    rows.append((f"(b) cold `make reports`, {n_studies} studies", f"{serial:.1f} s", f"median of {reps}"))
    log(f"cold serial {serial:.1f}s")
    if not a.smoke:
        # The warm worker against the same build with it turned off, alternated in pairs
        pairs = [(cold("-j2"), cold("-j2", warm=False)) for _ in range(max(reps, 3))]
        par = statistics.median(w for w, _ in pairs)
        par_off = statistics.median(c for _, c in pairs)
        serial_off = median_of(lambda: cold(warm=False), reps)
        rows.append((f"(b) cold `make -j2 reports`, {n_studies} studies", f"{par:.1f} s",
                     f"median of {len(pairs)}, alternated with the next row; load average "
                     f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end"))
        rows.append(("(b) the same with the warm worker off (`CARTPOOL_WARM=0`: Python, kernel and browser "
                     "started per step)", f"{par_off:.1f} s", f"median of {len(pairs)}"))
        rows.append(("(b) warm / worker off, `-j2`", f"{par / par_off:.2f}", ""))
        rows.append(("(b) warm / worker off, serial", f"{serial / serial_off:.2f}",
                     f"{serial:.1f} s / {serial_off:.1f} s"))
        log(f"cold -j2 {par:.1f}s, worker off {par_off:.1f}s")

    # (c) naive baseline
    if not a.smoke:
        naive = naive_baseline(root)
        rows.append(("(c) naive serial baseline (papermill CLI, nbconvert CLI, Chromium CLI per notebook)",
                     f"{naive:.1f} s", "once"))
        rows.append(("(b)/(c): `make -j2 reports` / naive", f"{par / naive:.2f}", "target ≤ 0.2 (issue 31; 0.5 before)"))
        rows.append(("(b)/(c): `make -j2 reports` with the worker off / naive", f"{par_off / naive:.2f}", ""))
        rows.append(("(b)/(c): `make reports` (serial) / naive", f"{serial / naive:.2f}", ""))
        log(f"naive {naive:.1f}s ratio {par / naive:.2f}")

    # (d) no-op
    noop = median_of(lambda: make(root, "reports")[0], 2 if a.smoke else 5)
    rows.append(("(d) no-op `make reports`", f"{noop:.2f} s", f"median of {2 if a.smoke else 5}; target < 1 s"))

    # (e) one study edited (staleness is by content: touching alone rebuilds nothing)
    sid = sorted(p.name for p in (root / "data" / "studies").iterdir() if p.is_dir())[0]
    with open(root / "data" / "studies" / sid / "results.yaml", "a", encoding="utf-8") as fh:
        fh.write("# edited by the benchmark\n")
    t, p = make(root, "-j2", "reports")
    rows.append((f"(e) rebuild after editing `{sid}` data (a comment: new content, no new value; -j2)", f"{t:.1f} s",
                 "ran: " + ", ".join(ran_steps(p.stdout))))
    if not a.smoke:
        edit_rows(root, rows, notes, naive, par)

    # (f) scaling
    sizes = (2,) if a.smoke else (5, 50, 200) if part("f") else ()
    per = {}
    for n in sizes:
        if a.smoke:  # the smoke run reuses its (b) project: the step runs, the number is not the point
            t, r = serial, root
        else:
            r = project(work / f"syn-{n}", "synthetic", n)
            t, _ = make(r, "-j2", "reports")
        per[n] = t / n
        rows.append((f"(f) cold `make -j2 reports`, {n} synthetic studies", f"{t:.1f} s", f"{per[n]:.2f} s per study"))
        log(f"N={n}: {t:.1f}s ({per[n]:.2f} s/study)")
        if not a.smoke:
            shutil.rmtree(r, ignore_errors=True)
    if not a.smoke and part("f"):  # the same 50 studies with the worker off, for the ratio at scale
        r = project(work / "syn-50-off", "synthetic", 50)
        t, _ = make(r, "-j2", "CARTPOOL_WARM=0", "reports")
        rows.append(("(f) cold `make -j2 reports`, 50 synthetic studies, warm worker off", f"{t:.1f} s",
                     f"{t / 50:.2f} s per study; warm / off = {per[50] / (t / 50):.2f}"))
        log(f"N=50 worker off: {t:.1f}s")
        shutil.rmtree(r, ignore_errors=True)
    if len(sizes) > 1:
        rows.append(("(f) growth: per-study cost at N=200 / at N=5", f"{per[200] / per[5]:.2f}", "target ≤ 1.2"))

    if a.smoke or part("g"):
        pooled_rows(a, rows, work)
    return finish(a, rows, notes, work, only)


def ran_steps(out: str) -> list[str]:
    return sorted({f"{m[0]} {m[1]}" for m in re.findall(r"\[cartpool\] (\S+) +(notebook|html|pdf|validated)", out)})


def step_seconds(out: str, target: str) -> float:
    """The seconds a build log gives for one target's steps (its notebook and its HTML)."""
    return sum(float(m) for m in re.findall(rf"\[cartpool\] {target} +(?:notebook|html) +([\d.]+)s", out))


def value_edit(root: Path) -> tuple[Path, str, str] | None:
    """A value changed in one study's results: one patient's CRS grade 2 made 1 in the first per-patient
    table that has a CRS row (the file, its edited text, and what changed), or None."""
    for csv in sorted((root / "data" / "studies").glob("*/*.csv")):
        text = csv.read_text(encoding="utf-8")
        lines = text.split("\n")
        for i, line in enumerate(lines):
            cells = line.split(",")
            if cells[0].strip().upper().startswith("CRS"):
                for j in range(1, len(cells)):
                    if cells[j].strip() == "2":
                        cells[j] = "1"
                        lines[i] = ",".join(cells)
                        return csv, "\n".join(lines), f"one patient's CRS grade 2 made 1 in `{csv.parent.name}`'s {csv.name}"
    return None


def edit_rows(root: Path, rows, notes, naive: float | None, cold_par: float | None) -> None:
    """(e) the curator's loop on the real studies: a value changed in one study, the build after it, its
    revert, and the pooled step alone; the reports after the revert against the cold build's bytes."""
    before = {str(p.relative_to(root / "reports")): p.read_bytes() for p in sorted((root / "reports").rglob("*"))
              if p.is_file()}
    edit = value_edit(root)
    if edit is None:
        rows.append(("(e) one-study value edit", "not measured", "no per-patient table with a CRS grade of 2"))
        return
    csv, edited, what = edit
    original = csv.read_bytes()
    csv.write_text(edited, encoding="utf-8")
    t_edit, p = make(root, "-j2", "reports")
    pooled_edit = step_seconds(p.stdout, "pooled")
    rows.append(("(e) one-study value edit, `make -j2 reports`", f"{t_edit:.1f} s",
                 f"{what}; ran: " + ", ".join(ran_steps(p.stdout)) + f"; pooled step {pooled_edit:.1f} s; "
                 f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"))
    if naive:
        rows.append(("(e)/(c): one-study value edit / naive", f"{t_edit / naive:.2f}",
                     f"target ≤ 0.1; {t_edit:.1f} s / {naive:.1f} s"))
    csv.write_bytes(original)
    t_revert, p = make(root, "-j2", "reports")
    after = {str(p_.relative_to(root / "reports")): p_.read_bytes() for p_ in sorted((root / "reports").rglob("*"))
             if p_.is_file()}
    same = after == before
    rows.append(("(e) the edit reverted, `make -j2 reports`", f"{t_revert:.1f} s",
                 f"reports byte-identical to the cold build: {'yes' if same else 'NO'}"))
    # the pooled step alone, everything else kept: its page removed, the build runs it (and its PDF) only
    times = []
    for _ in range(3):
        (root / "reports" / "pooled.html").unlink()
        _, p = make(root, "-j2", "reports")
        times.append(step_seconds(p.stdout, "pooled"))
    pooled = statistics.median(times)
    rows.append(("(e) the pooled step alone (notebook and HTML in the warm worker), 5 studies, results kept",
                 f"{pooled:.1f} s", "median of 3; target < 3 s"))
    if cold_par:
        notes.append(f"\nIn this run the cold `make -j2 reports` took {cold_par:.1f} s; the one-study value edit "
                     f"{t_edit:.1f} s (pooled step {pooled_edit:.1f} s), its revert {t_revert:.1f} s.\n")


def pooled_rows(a, rows, work) -> None:
    # (g) pooled analysis alone
    n_g = 20 if a.smoke else 1000
    load_s, analyse_s, mb = pooled_alone(n_g, work)
    bayes_rows, loo_rows = pooled_alone.counts
    rows.append((f"(g) pooled analysis alone, {n_g} synthetic studies", f"{analyse_s:.1f} s",
                 f"plus {load_s:.1f} s loading/validating; peak memory {mb:.0f} MB; the Bayesian model on all "
                 f"{bayes_rows} proportion rows, GLMM leave-one-out on {loo_rows} rows; targets < 10 s, < 1 GB"))
    print(f"[bench] pooled {n_g}: {analyse_s:.1f}s, {mb:.0f} MB", flush=True)


def printer_rows(rows, work, pages_from: Path) -> None:
    """(i) the three PDF printers on one build's pages."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_printers

    browser = shutil.which("chromium")
    pages = sorted(pages_from.glob("*.html"))
    if browser is None or not pages:
        rows.append(("(i) PDF printers", "not measured", "no Chromium or no built pages"))
        return
    t = bench_printers.compare(browser, pages, work / "printers")
    mb = bench_printers.package_mb("playwright")
    rows.append((f"(i) PDFs of one build ({len(pages)} pages), Playwright over DevTools (the build's printer until "
                 "2026-12-06; now in the test group only)",
                 f"{t['playwright']:.1f} s", f"median of 3, alternated; Playwright installed: {mb:.0f} MB"))
    rows.append(("(i) the same, Chromium command line per page", f"{t['cli']:.1f} s",
                 f"{t['cli'] / t['playwright']:.2f} x Playwright"))
    rows.append(("(i) the same, the build's printer: a DevTools client of our own over --remote-debugging-pipe "
                 "(standard library, builder/devtools.py)",
                 f"{t['devtools']:.1f} s", f"{t['devtools'] / t['playwright']:.2f} x Playwright; 0 MB; "
                 "PDFs byte-identical to Playwright's after the date fix"))


def test_rows(rows) -> None:
    """(j) the test suite's wall time on this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    for target in ("test-fast", "test"):
        t, p = sh(["make", "--no-print-directory", "-C", str(ROOT), target], env=env, check=False)
        # make test runs pytest twice (in parallel, then the serial tests): every summary line counts
        tail = "; ".join(line.strip("= ") for line in p.stdout.splitlines()
                         if re.search(r"\d+ (passed|failed|error)", line)) or "?"
        rows.append((f"(j) `make {target}` on this checkout", f"{t:.0f} s", tail))
        print(f"[bench] make {target}: {t:.0f}s ({tail})", flush=True)


def finish(a, rows, notes, work, only) -> int:
    if not a.smoke and (not only or "i" in only):
        built = work / "real" / "reports"
        printer_rows(rows, work, built if built.is_dir() else ROOT / "reports")
    if not a.smoke and (not only or "j" in only):
        test_rows(rows)
    if only:  # keep the rows of the parts not run, from the existing output
        out_path = Path(a.out)
        ran = {k[:3] for k, _, _ in rows}
        old = out_path.read_text(encoding="utf-8") if out_path.is_file() else ""
        date = re.search(r"on (\d{4}-\d{2}-\d{2});", old)
        for line in old.splitlines():
            m = re.match(r"\| (\([a-z]\)[^|]*) \| ([^|]*) \| ([^|]*) \|$", line)
            if m and m.group(1)[:3] not in ran:
                note = m.group(3).strip()
                if "earlier run" not in note:
                    note = (note + "; " if note else "") + f"earlier run ({date.group(1) if date else 'unknown date'})"
                rows.append((m.group(1).strip(), m.group(2).strip(), note))
        rows.sort(key=lambda r: r[0][:3])
    table = "\n".join(f"| {k} | {v} | {c} |" for k, v, c in rows)
    text = f"""# Performance

Generated by `make bench` (`scripts/bench.py`) on {datetime.date.today().isoformat()}; do not edit by hand.

Machine: {machine()}.

| measurement | result | notes |
|---|---|---|
{table}

""" + (Path(ROOT / "docs" / "performance-notes.md").read_text(encoding="utf-8")
       if (ROOT / "docs" / "performance-notes.md").is_file() and not a.smoke else "") + "\n".join(notes)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"[bench] wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
