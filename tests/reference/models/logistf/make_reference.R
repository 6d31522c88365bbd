# Refresh tests/reference/models/logistf/reference.json with a local R + logistf.
#
# NOT how the stored numbers were made: R is not installed on the machine that added this
# reference, so reference.json holds published logistf output transcribed verbatim from the
# sources listed in README.md. This script recomputes the same quantities (to compare a
# refreshed logistf with the stored numbers, print with digits = 10).
#
# Run from the repository root:  Rscript tests/reference/models/logistf/make_reference.R
suppressPackageStartupMessages({ library(logistf); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

sex2 <- read.table(file.path(here, "sex2.txt"), header = TRUE)
endometrial <- read.csv(file.path(here, "endometrial.csv"))
tab <- function(fit, level) {
  list(level = level, term = names(coef(fit)), estimate = unname(coef(fit)),
       lower = unname(fit$ci.lower), upper = unname(fit$ci.upper),
       chisq = unname(qchisq(1 - fit$prob, 1)), p_value = unname(fit$prob),
       lr_test = unname(-2 * (fit$loglik["null"] - fit$loglik["full"])), lr_df = fit$df)
}
f95 <- logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2)
f90 <- logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2, alpha = 0.1)
fen <- logistf(HG ~ NV + PI + EH, data = endometrial)
out <- list(versions = list(R = R.version.string, logistf = as.character(packageVersion("logistf"))),
            sex2_95 = tab(f95, 0.95), sex2_90 = tab(f90, 0.90), endometrial_95 = tab(fen, 0.95))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "reference_refreshed.json"))
