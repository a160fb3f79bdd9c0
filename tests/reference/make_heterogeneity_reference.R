# Reference values for cartpool.stats.heterogeneity and the GLMM at two studies, computed by R.
#
#   Rscript tests/reference/make_heterogeneity_reference.R tests/reference
#
# Writes heterogeneity.json: for each set of studies, metafor's rma.glmm (measure "PLO", ML) tests
# for heterogeneity (QE.LRT, QEp.LRT, QE.Wld), tau^2 and I^2, and for two studies Fisher's exact
# test (fisher.test). Fixed sets (0% and 100% studies, the CR example of Guo 2026 and Hu 2026's
# BCMA patients) and seeded random sets. A fit that warns is left out and listed.
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/reference"
seed <- 20261206
set.seed(seed)
quiet <- function(expr) tryCatch(expr, warning = function(w) structure(conditionMessage(w), class = "warned"),
                                 error = function(e) structure(conditionMessage(e), class = "failed"))

row <- function(x, n) {
  z <- quiet(rma.glmm(measure = "PLO", xi = x, ni = n, method = "ML"))
  r <- list(x = x, n = n)
  if (inherits(z, "warned") || inherits(z, "failed")) {
    r$left_out <- as.character(z)
  } else {
    r$qe_lrt <- z$QE.LRT; r$qep_lrt <- z$QEp.LRT; r$qe_wld <- z$QE.Wld; r$tau2 <- z$tau2; r$i2 <- z$I2
  }
  if (length(x) == 2) r$fisher_p <- fisher.test(matrix(c(x, n - x), nrow = 2))$p.value
  r
}

fixed <- list(list(c(1, 4), c(12, 6)), list(c(1, 7), c(12, 11)), list(c(0, 5), c(8, 6)), list(c(8, 11), c(8, 11)),
              list(c(10, 0, 3), c(12, 8, 9)), list(c(6, 8, 6), c(11, 8, 6)), list(c(0, 0, 2), c(10, 12, 9)),
              list(c(9, 11, 127), c(12, 11, 134)))
rows <- lapply(fixed, function(s) row(s[[1]], s[[2]]))
for (i in 1:40) {
  k <- sample(2:6, 1)
  n <- sample(5:60, k, replace = TRUE)
  p <- plogis(rnorm(1, 0, 1.5) + rnorm(k, 0, runif(1, 0, 1.5)))
  x <- rbinom(k, n, p)
  rows[[length(rows) + 1]] <- row(x, n)
}
write_json(list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")), seed = seed),
                rows = rows), file.path(out, "heterogeneity.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
