# Reference values for the interval a new study's survival at a landmark enters the update triggers
# with (cartpool.analysis.triggers._landmark_ci), computed by R's survival package.
#
#   Rscript tests/reference/make_landmark_ci_reference.R tests/reference
#
# Writes landmark_ci.json: for n patients of whom d die before the landmark (12) and the rest are
# followed beyond it (no censoring before the landmark), survfit's Kaplan-Meier estimate at 12
# and its 95% interval with conf.type = "log-log" (Greenwood's variance, which without censoring is
# the binomial variance S(1 - S) / n).
suppressMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/reference"
cases <- list(c(20, 8), c(11, 7), c(9, 4), c(50, 10), c(100, 47), c(1000, 530), c(12, 1), c(12, 11))
rows <- lapply(cases, function(case) {
  n <- case[1]; d <- case[2]
  time <- c(seq(1, 11, length.out = d), rep(24, n - d))
  status <- c(rep(1, d), rep(0, n - d))
  s <- summary(survfit(Surv(time, status) ~ 1, conf.type = "log-log"), times = 12)
  list(n = n, deaths = d, surv = s$surv, lower = s$lower, upper = s$upper)
})
writeLines(toJSON(list(generated_by = "tests/reference/make_landmark_ci_reference.R",
                       r_version = R.version.string, survival = as.character(packageVersion("survival")),
                       rows = rows), digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out, "landmark_ci.json"))
