"""Brute-force reference for cartpool.stats.bayes, independent of its quadrature.

The binomial-normal posterior is integrated on plain grids: each study's random effect on a
standardised scale (theta = mu + tau * z, z on [-8, 8] with Simpson's rule, no adaptation, no
Gauss-Hermite), then (mu, tau) on a fine rectangular grid with the same priors (mu ~ N(0, 4^2),
tau ~ half-normal(0.5)). The two cases with many studies (60 and 200) use plain grids narrowed to
their posterior. Slow (about a minute per data set on two cores, several for the large ones) and
therefore run once; the tests read bayes_bruteforce.json.

    .venv/bin/python tests/reference/make_bayes_reference.py tests/reference [--keep]
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy import integrate, special, stats

CASES = [([6, 8, 6], [11, 8, 6]), ([11, 5, 6], [11, 8, 6]), ([0, 0, 0], [6, 8, 11]),
         ([6, 8, 12], [6, 8, 12]), ([1, 4, 0, 3], [11, 12, 8, 25]), ([15, 5], [18, 12])]


def many_studies(k: int, seed: int):
    """k studies of 6 to 39 patients around a pooled proportion of about 0.7 (tau about 0.8): a
    posterior much narrower than the default grid's spacing allows, so cartpool lays a grid of its
    own over it (stats/bayes.py, `ZOOM`)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(6, 40, k)
    x = rng.binomial(n, special.expit(rng.normal(0.85, 0.8, k)))
    return [int(v) for v in x], [int(v) for v in n]


#: Cases with many studies, each with a plain grid narrowed to where its posterior lies (the edges
#: are checked to be negligible): (x, n, mu window, tau window).
NARROW_CASES = [(*many_studies(60, 1), (-0.6, 2.2), (0.0, 2.2)), (*many_studies(200, 2), (0.05, 1.4), (0.35, 1.55))]


def brute(x, n, mu_sd=4.0, tau_scale=0.5, mu_window=(-12, 12), tau_window=(0, 3), points=(1201, 301, 1601),
          check_edges=False):
    x, n = np.asarray(x, float), np.asarray(n, float)
    z = np.linspace(-8, 8, points[2])
    wz = stats.norm.pdf(z)
    mus = np.linspace(*mu_window, points[0])
    taus = np.linspace(*tau_window, points[1])
    log_post = np.empty((len(mus), len(taus)))
    for j, t in enumerate(taus):
        theta = mus[:, None] + t * z[None, :]
        ll = 0.0
        for xi, ni in zip(x, n, strict=True):
            # binomial log-likelihood written out (scipy's logpmf is too slow for 10^9 points)
            log_p = xi * -np.logaddexp(0, -theta) + (ni - xi) * -np.logaddexp(0, theta)
            f = np.exp(log_p + special.gammaln(ni + 1) - special.gammaln(xi + 1) - special.gammaln(ni - xi + 1)) * wz
            ll = ll + np.log(integrate.simpson(f, x=z, axis=1))
        log_post[:, j] = ll + stats.norm.logpdf(mus, 0, mu_sd) + stats.halfnorm.logpdf(t, scale=tau_scale)
    post = np.exp(log_post - log_post.max())
    if check_edges:
        edges = np.concatenate([log_post[0], log_post[-1], log_post[:, -1], log_post[:, 0] if tau_window[0] > 0 else []])
        assert edges.max() - log_post.max() < -25, "the window cuts off posterior mass"
    out = {}
    for name, grid, marg in (("mu", mus, integrate.simpson(post, x=taus, axis=1)),
                             ("tau", taus, integrate.simpson(post, x=mus, axis=0))):
        cdf = integrate.cumulative_simpson(marg, x=grid, initial=0)
        cdf /= cdf[-1]
        out[name] = [float(np.interp(p, cdf, grid)) for p in (0.025, 0.5, 0.975)]
    return {"x": [int(v) for v in x], "n": [int(v) for v in n],
            "p_low": float(special.expit(out["mu"][0])), "p_median": float(special.expit(out["mu"][1])),
            "p_high": float(special.expit(out["mu"][2])),
            "tau_low": out["tau"][0], "tau_median": out["tau"][1], "tau_high": out["tau"][2]}


if __name__ == "__main__":
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/reference")
    # --keep: reuse the cases already in the destination file (the computation is deterministic)
    old = json.loads((dest / "bayes_bruteforce.json").read_text())["cases"] if "--keep" in sys.argv else []
    done = {(tuple(c["x"]), tuple(c["n"])): c for c in old}
    rows = []
    for x, n in CASES:
        rows.append(done.get((tuple(x), tuple(n))) or brute(x, n))
        print(rows[-1], flush=True)
    for x, n, mu_window, tau_window in NARROW_CASES:
        rows.append(done.get((tuple(x), tuple(n))) or brute(x, n, mu_window=mu_window, tau_window=tau_window,
                                                             points=(401, 201, 601), check_edges=True))
        print(rows[-1], flush=True)
    (dest / "bayes_bruteforce.json").write_text(json.dumps(
        {"method": "plain grids: z Simpson 1601 points on [-8, 8]; mu 1201 points on [-12, 12]; tau 301 on [0, 3]; "
                   "the cases with many studies: z 601 points, mu 401 and tau 201 points on windows around "
                   "their posterior (edges checked to be negligible)",
         "priors": {"mu_sd": 4.0, "tau_halfnormal_scale": 0.5}, "cases": rows}, indent=1) + "\n")
