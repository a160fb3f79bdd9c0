# Reference values for cartpool's statistics, computed by R (metafor, lme4, survival).
#
# Regenerate (needs Debian's r-base-core r-cran-metafor r-cran-lme4 r-cran-survival; `make test` never
# needs R, it reads the committed JSON):
#
#   Rscript tests/reference/make_references.R tests/reference            # random sets (about 2 minutes)
#   Rscript tests/reference/make_references.R tests/reference FILE.csv   # also the real pooled rows
#
# FILE.csv is reports/tables/pooled-inputs.csv (columns outcome, view, subgroup, analysis, study,
# events, events_high, total, in_fit, ...); every group of rows with the same (outcome, view, subgroup,
# level, analysis) is refitted with rma.glmm on the studies that enter its model (in_fit), at the low ends of
# its ranges and, where it has ranges, at their high ends, and written to pooled-rows.json keyed by
# the sorted (events, total).
#
# Every fit is wrapped in tryCatch(warning=): a fit that warns (for example a GLMM that did not
# converge, or Fisher scoring that set tau^2 to 0 after a warning) is left out and listed.
suppressMessages({library(metafor); library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/reference"
seed <- 20261122
set.seed(seed)

versions <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                 lme4 = as.character(packageVersion("lme4")), survival = as.character(packageVersion("survival")),
                 seed = seed)

quiet <- function(expr) tryCatch(expr, warning = function(w) structure(conditionMessage(w), class = "warned"),
                                 error = function(e) structure(conditionMessage(e), class = "failed"))

glmm_row <- function(x, n) {
  z <- quiet(rma.glmm(measure = "PLO", xi = x, ni = n, method = "ML"))
  t <- quiet(rma.glmm(measure = "PLO", xi = x, ni = n, method = "ML", test = "t"))
  if (inherits(z, "warned") || inherits(z, "failed") || inherits(t, "warned") || inherits(t, "failed"))
    return(list(left_out = as.character(if (is.character(z)) z else t)))
  pz <- predict(z); pt <- predict(t)
  list(beta = unname(z$beta[1]), se = z$se, tau2 = z$tau2, loglik = as.numeric(logLik(z)),
       ci_lb = pz$ci.lb, ci_ub = pz$ci.ub, pi_lb = pz$pi.lb, pi_ub = pz$pi.ub,
       ci_lb_t = pt$ci.lb, ci_ub_t = pt$ci.ub, pi_lb_t = pt$pi.lb, pi_ub_t = pt$pi.ub)
}

iv_rows <- function(x, n) {
  res <- list()
  for (measure in c("PLO", "PFT", "PR")) {
    es <- escalc(measure = measure, xi = x, ni = n)
    for (method in c("REML", "ML", "DL", "PM")) {
      for (test in c("z", "knha")) {
        key <- paste(measure, method, test, sep = "/")
        f <- quiet(rma(es$yi, es$vi, method = method, test = test))
        if (inherits(f, "warned") || inherits(f, "failed")) { res[[key]] <- list(left_out = as.character(f)); next }
        p <- predict(f)
        res[[key]] <- list(beta = unname(f$beta[1]), se = f$se, tau2 = f$tau2, ci_lb = p$ci.lb, ci_ub = p$ci.ub,
                           pi_lb = p$pi.lb, pi_ub = p$pi.ub)
      }
    }
  }
  res
}

# --- random proportion data sets ------------------------------------------------------------
scenarios <- c("near0", "near1", "mid", "all1mix")
sets <- vector("list", 1000)
for (i in seq_len(1000)) {
  k <- sample(2:15, 1)
  n <- sample(4:150, k, replace = TRUE)
  sc <- scenarios[(i - 1) %% 4 + 1]
  tau <- c(0, 0.3, 1, 2)[sample(1:4, 1)]
  mu <- switch(sc, near0 = runif(1, -5, -2), near1 = runif(1, 2, 5), mid = runif(1, -1.5, 1.5),
               all1mix = runif(1, 2.5, 6))
  p <- plogis(mu + rnorm(k, 0, tau))
  x <- rbinom(k, n, p)
  if (sc == "all1mix") { full <- sample(c(TRUE, FALSE), k, replace = TRUE); x[full] <- n[full] }
  sets[[i]] <- list(id = i, scenario = sc, x = x, n = n, glmm = glmm_row(x, n), iv = iv_rows(x, n))
}

# --- Kaplan-Meier against survfit ---------------------------------------------------------
km <- vector("list", 160)
for (i in seq_len(160)) {
  m <- sample(5:40, 1)
  time <- round(rexp(m, 1 / 12) * 2) / 2 + 0.5   # half-month resolution: many ties
  cens <- round(runif(m, 1, 36) * 2) / 2
  status <- as.integer(time <= cens)
  if (i %% 5 == 0) status[sample(seq_len(m), m %/% 2)] <- 0L  # heavy censoring
  time <- pmin(time, cens)
  if (i %% 7 == 0) status[which.max(time)] <- 1L   # curve reaches 0
  curves <- list()
  for (ct in c("log", "log-log", "plain")) {
    f <- survfit(Surv(time, status) ~ 1, conf.type = ct)
    q <- quantile(f, probs = 0.5)
    times <- c(3, 6, 12, 24, 48, 60)
    s <- summary(f, times = times, extend = TRUE)
    curves[[ct]] <- list(time = f$time, surv = f$surv, lower = f$lower, upper = f$upper, n_risk = f$n.risk,
                         median = unname(q$quantile[1]), median_lower = unname(q$lower[1]),
                         median_upper = unname(q$upper[1]),
                         at_times = times, at_surv = s$surv, at_lower = s$lower, at_upper = s$upper)
  }
  km[[i]] <- list(id = i, time = time, status = status, fits = curves)
}

con <- gzfile(file.path(out, "proportions.json.gz"), "w")  # 5 MB of JSON, 1 MB compressed
writeLines(toJSON(list(versions = versions, proportions = sets), digits = NA, auto_unbox = TRUE, null = "null",
                  na = "null"), con)
close(con)
write_json(list(versions = versions, kaplan_meier = km), file.path(out, "kaplan_meier.json"), digits = NA,
           auto_unbox = TRUE, null = "null", na = "null")

# --- the real pooled rows (optional) ----------------------------------------------------------
if (length(args) >= 2) {
  d <- read.csv(args[2], stringsAsFactors = FALSE, colClasses = c(level = "character"))
  d$level[is.na(d$level)] <- ""
  keys <- unique(d[, c("outcome", "view", "subgroup", "level", "analysis")])
  rows <- list()
  for (j in seq_len(nrow(keys))) {
    s <- merge(d, keys[j, ])
    # only the studies that enter the row's model (a study shown beside it but left out has in_fit False)
    if ("in_fit" %in% names(s)) s <- s[as.logical(s$in_fit), ]
    if (nrow(s) < 3 || anyNA(s$events)) next
    # a row with ranges is fitted at their low ends and at their high ends
    for (ends in unique(list(s$events, s$events_high))) {
      o <- order(ends, s$total)
      rows[[length(rows) + 1]] <- c(as.list(keys[j, ]), list(x = ends[o], n = s$total[o],
                                                              glmm = glmm_row(ends[o], s$total[o])))
    }
  }
  write_json(list(versions = versions, rows = rows), file.path(out, "pooled-rows.json"), digits = NA,
             auto_unbox = TRUE, null = "null", na = "null")
}
cat("written to", out, "\n")
