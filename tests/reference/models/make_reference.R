# Reference numbers for tests/test_models_*.py, generated once with R.
#
# Run from the repository root:  Rscript tests/reference/models/make_reference.R
# Writes, next to this script:
#   ref_logit.csv, ref_ordinal.csv, ref_counts.csv, ref_glmer.csv   (reference data sets)
#   reference.json                                                 (estimates, SEs, versions)
# Packages: survey (svyglm), ordinal (clm), lme4 (glmer), rstanarm (stan_glm), jsonlite.
# The Python tests read only the stored files; R is never a test dependency.

suppressPackageStartupMessages({
  library(survey); library(ordinal); library(lme4); library(rstanarm); library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

beds_levels <- c("<200", "200-399", "400-799", ">=800")
chair_levels <- c("DR", "DR_some_IR", "DR_IR_equal", "IR_mostly")
coefs <- function(fit) {
  est <- coef(summary(fit))
  list(term = rownames(est), estimate = unname(est[, 1]), std_error = unname(est[, 2]))
}
rename_terms <- function(x) {
  # R names -> irmodels (formulaic) names
  x <- sub("^\\(Intercept\\)$", "Intercept", x)
  x <- sub("^beds_class(.*)$", "beds_class[T.\\1]", x)
  x <- sub("^chair_profile(.*)$", "chair_profile[T.\\1]", x)
  x <- sub("^teachingTRUE$", "teaching", x)
  x
}
out <- list(versions = list(R = R.version.string, survey = as.character(packageVersion("survey")),
                            ordinal = as.character(packageVersion("ordinal")),
                            lme4 = as.character(packageVersion("lme4")),
                            rstanarm = as.character(packageVersion("rstanarm"))))

# 1. weighted logistic regression (svyglm, weights-only design) and plain glm ----------------
set.seed(20170)
n <- 400
d <- data.frame(
  beds_class = factor(sample(beds_levels, n, TRUE, prob = c(.1, .2, .3, .4)), levels = beds_levels),
  teaching = runif(n) < .8,
  chair_profile = factor(sample(chair_levels, n, TRUE), levels = chair_levels)
)
eta <- -0.8 + c(0, .4, .8, 1.2)[as.integer(d$beds_class)] + .5 * d$teaching +
  c(0, .3, .6, 1)[as.integer(d$chair_profile)]
d$cover_24_7 <- runif(n) < plogis(eta)
d$w <- round(exp(rnorm(n, 0, .5)), 4)
write.csv(d, file.path(here, "ref_logit.csv"), row.names = FALSE)
des <- svydesign(ids = ~1, weights = ~w, data = d)
sv <- svyglm(cover_24_7 ~ beds_class + teaching + chair_profile, design = des, family = quasibinomial())
gl <- glm(cover_24_7 ~ beds_class + teaching + chair_profile, data = d, family = binomial())
s1 <- coefs(sv); s1$term <- rename_terms(s1$term); out$svyglm <- s1
s2 <- coefs(gl); s2$term <- rename_terms(s2$term); out$glm <- s2

# 2. ordinal::clm cumulative logit ------------------------------------------------------------
set.seed(20171)
n <- 600
o <- data.frame(
  beds_class = factor(sample(beds_levels, n, TRUE, prob = c(.15, .25, .3, .3)), levels = beds_levels),
  teaching = runif(n) < .7
)
cats <- c("0", "1-25", "26-50", "51-75", ">75")
lat <- c(0, .3, .6, .9)[as.integer(o$beds_class)] + .4 * o$teaching + rlogis(n)
o$female_ir_share_class <- factor(cats[findInterval(lat, c(-1, 0, 1, 2)) + 1], levels = cats, ordered = TRUE)
write.csv(o, file.path(here, "ref_ordinal.csv"), row.names = FALSE)
cl <- clm(female_ir_share_class ~ beds_class + teaching, data = o, link = "logit")
cs <- coef(summary(cl))
term <- rownames(cs)
term <- ifelse(grepl("\\|", term), paste0("threshold[", term, "]"), rename_terms(term))
out$clm <- list(term = term, estimate = unname(cs[, 1]), std_error = unname(cs[, 2]),
                logLik = as.numeric(logLik(cl)))

# 3. binomial counts (glm) ------------------------------------------------------------------
set.seed(20172)
n <- 300
k <- data.frame(
  beds_class = factor(sample(beds_levels, n, TRUE), levels = beds_levels),
  teaching = runif(n) < .75
)
k$n_ir <- 1 + rpois(n, 4)
p <- plogis(-1.2 + c(0, .2, .4, .6)[as.integer(k$beds_class)] + .3 * k$teaching)
k$n_female_ir <- rbinom(n, k$n_ir, rbeta(n, p * 15, (1 - p) * 15))
write.csv(k, file.path(here, "ref_counts.csv"), row.names = FALSE)
gb <- glm(cbind(n_female_ir, n_ir - n_female_ir) ~ beds_class + teaching, data = k, family = binomial())
s3 <- coefs(gb); s3$term <- rename_terms(s3$term); out$glm_binomial <- s3
# beta-binomial by direct maximum likelihood (mean expit(x'b), precision phi), optim BFGS
X <- model.matrix(~ beds_class + teaching, data = k)
nll <- function(th) {
  mu <- plogis(X %*% th[1:ncol(X)]); phi <- exp(th[ncol(X) + 1])
  a <- mu * phi; b <- (1 - mu) * phi
  -sum(lchoose(k$n_ir, k$n_female_ir) + lbeta(k$n_female_ir + a, k$n_ir - k$n_female_ir + b) - lbeta(a, b))
}
opt <- optim(c(coef(gb), log(10)), nll, method = "BFGS", hessian = TRUE,
             control = list(reltol = 1e-14, maxit = 10000))
se <- sqrt(diag(solve(opt$hessian)))
out$betabinomial <- list(term = c(rename_terms(colnames(X)), "log_phi"), estimate = unname(opt$par),
                         std_error = unname(se), logLik = -opt$value)

# 4. glmer random-intercept logistic on a large set -------------------------------------------
set.seed(20173)
n <- 4000; J <- 20
g <- data.frame(
  country = sprintf("C%02d", sample(J, n, TRUE)),
  beds_class = factor(sample(beds_levels, n, TRUE, prob = c(.1, .2, .3, .4)), levels = beds_levels),
  teaching = runif(n) < .8,
  chair_profile = factor(sample(chair_levels, n, TRUE), levels = chair_levels)
)
a <- rnorm(J, 0, .6); names(a) <- sprintf("C%02d", 1:J)
eta <- -1 + c(0, .4, .8, 1.2)[as.integer(g$beds_class)] + .5 * g$teaching +
  c(0, .3, .6, 1)[as.integer(g$chair_profile)] + a[g$country]
g$cover_24_7 <- runif(n) < plogis(eta)
write.csv(g, file.path(here, "ref_glmer.csv"), row.names = FALSE)
gm <- glmer(cover_24_7 ~ beds_class + teaching + chair_profile + (1 | country), data = g, family = binomial(),
            nAGQ = 1)
s4 <- list(term = rename_terms(names(fixef(gm))), estimate = unname(fixef(gm)),
           std_error = unname(sqrt(diag(as.matrix(vcov(gm))))),
           sd_country = as.data.frame(VarCorr(gm))$sdcor[1])
out$glmer <- s4

# 5. rstanarm::stan_glm under matched priors (ref_logit data, no intercept centring) ------------
Xl <- model.matrix(~ beds_class + teaching + chair_profile, data = d)
colnames(Xl) <- rename_terms(colnames(Xl))
dl <- data.frame(y = as.integer(d$cover_24_7), Xl, check.names = FALSE)
scales <- ifelse(colnames(Xl) == "Intercept", 2.5, 1.5)
sg <- stan_glm(y ~ 0 + ., data = dl, family = binomial(), prior = normal(0, scales, autoscale = FALSE),
               chains = 4, iter = 4000, seed = 20174, refresh = 0)
dr <- as.matrix(sg)
out$stan_glm <- list(term = gsub("`", "", colnames(dr)), mean = unname(colMeans(dr)),
                     sd = unname(apply(dr, 2, sd)), n_draws = nrow(dr),
                     prior = "Normal(0, 2.5) intercept, Normal(0, 1.5) coefficients, no autoscale")

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "reference.json"))
cat("wrote", file.path(here, "reference.json"), "\n")
