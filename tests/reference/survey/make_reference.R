# Reference numbers for irmodels' design-based estimators (tests/test_weighting.py,
# tests/test_survey.py), computed with R's `survey` package.
#
# Run once from the repository root:
#     Rscript tests/reference/survey/make_reference.R
# It writes, next to this script:
#     apistrat.csv    the reference data (R's `api` data, stratified sample
#                     `apistrat`, a subset of columns plus the 0/1 outcome `hi`)
#     reference.json  raking weights, svymean means and SEs, svyby domain means,
#                     svyglm (quasibinomial) coefficients and SEs
# The tests read only these two files; R is not needed to run the tests.
#
# Design: svydesign(ids = ~1, weights = ~pw): one stage, with replacement, no
# strata, no fpc (the design irmodels assumes for a survey of department heads).
# The weights vary by school type, so raking starts from unequal base weights.
suppressMessages(library(survey))
suppressMessages(library(jsonlite))

here <- local({
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else getwd()
})

data(api)
d <- apistrat[, c("snum", "pw", "api00", "ell", "meals", "stype", "sch.wide", "comp.imp")]
d$hi <- as.numeric(d$api00 > 700)
d$stype <- as.character(d$stype)
d$sch.wide <- as.character(d$sch.wide)
d$comp.imp <- as.character(d$comp.imp)
write.csv(d, file.path(here, "apistrat.csv"), row.names = FALSE)

des <- svydesign(ids = ~1, weights = ~pw, data = d)

pop_stype <- as.data.frame(table(stype = as.character(apipop$stype)))
pop_sw <- as.data.frame(table(sch.wide = as.character(apipop$sch.wide)))
pop_ci <- as.data.frame(table(comp.imp = as.character(apipop$comp.imp)))

# epsilon < 1 is relative to the sum of weights: run IPF to full convergence so
# that the raking solution is unique and comparable to 1e-6.
raked <- rake(des, list(~stype, ~sch.wide, ~comp.imp), list(pop_stype, pop_sw, pop_ci),
              control = list(maxit = 1000, epsilon = 1e-13))

# linear (GREG) and bounded logit calibration to the same margins
pop_totals <- c(`(Intercept)` = sum(pop_stype$Freq),
                stypeH = pop_stype$Freq[pop_stype$stype == "H"], stypeM = pop_stype$Freq[pop_stype$stype == "M"],
                sch.wideYes = pop_sw$Freq[pop_sw$sch.wide == "Yes"], comp.impYes = pop_ci$Freq[pop_ci$comp.imp == "Yes"])
cal_lin <- calibrate(des, ~stype + sch.wide + comp.imp, pop_totals, calfun = "linear")
cal_log <- calibrate(des, ~stype + sch.wide + comp.imp, pop_totals, calfun = "logit", bounds = c(0.5, 2),
                     epsilon = 1e-12, maxit = 200)
m_lin_hi <- svymean(~hi, cal_lin)
m_log_hi <- svymean(~hi, cal_log)
g_lin <- svyglm(hi ~ ell + meals + stype, design = cal_lin, family = quasibinomial())

m_un_api <- svymean(~api00, des)
m_un_hi <- svymean(~hi, des)
m_rk_api <- svymean(~api00, raked)
m_rk_hi <- svymean(~hi, raked)
by_un <- svyby(~hi, ~stype, des, svymean)

g_un <- svyglm(hi ~ ell + meals + stype, design = des, family = quasibinomial())
g_rk <- svyglm(hi ~ ell + meals + stype, design = raked, family = quasibinomial())

ci_logit <- svyciprop(~I(hi == 1), des, method = "logit", df = Inf)

tab <- function(x) setNames(as.list(x$Freq), as.character(x[[1]]))
coefs <- function(g) list(term = names(coef(g)), estimate = unname(coef(g)),
                          std_error = unname(sqrt(diag(vcov(g)))))
out <- list(
  provenance = list(
    script = "tests/reference/survey/make_reference.R",
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    design = "svydesign(ids = ~1, weights = ~pw, data = apistrat); with replacement, no strata, no fpc"
  ),
  margins = list(stype = tab(pop_stype), sch.wide = tab(pop_sw), comp.imp = tab(pop_ci)),
  rake = list(snum = d$snum, weight = unname(weights(raked))),
  calibrate_linear = list(weight = unname(weights(cal_lin)), hi = c(coef(m_lin_hi), SE(m_lin_hi))),
  calibrate_logit_0.5_2 = list(weight = unname(weights(cal_log)), hi = c(coef(m_log_hi), SE(m_log_hi))),
  svymean = list(
    unweighted_design = list(api00 = c(coef(m_un_api), SE(m_un_api)), hi = c(coef(m_un_hi), SE(m_un_hi))),
    raked_design = list(api00 = c(coef(m_rk_api), SE(m_rk_api)), hi = c(coef(m_rk_hi), SE(m_rk_hi)))
  ),
  svyby_hi_by_stype = list(stype = as.character(by_un$stype), estimate = unname(by_un$hi),
                           std_error = unname(SE(by_un))),
  svyciprop_logit_hi = list(estimate = as.numeric(ci_logit),
                            lower = as.numeric(attr(ci_logit, "ci")[1]), upper = as.numeric(attr(ci_logit, "ci")[2])),
  svyglm = list(base_design = coefs(g_un), raked_design = coefs(g_rk), linear_calibrated_design = coefs(g_lin))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "reference.json"))
cat("wrote", file.path(here, "reference.json"), "\n")
