"""The likelihood inputs of the Bayesian models: rows collapsed into cells, share-class cells.

:class:`_Prepared` turns a fit's :class:`~irmodels.models.design.Design` into the arrays
:func:`irmodels.models.bayes.build_model` puts into ``pm.Data`` containers and the
posterior summaries read back: binomial cells of equal group and covariates
(:func:`collapse`; exact, the Bernoulli likelihood of a cell is the binomial one up to a
constant), multinomial counts per covariate pattern for the ordinal model, and for the
latent-proportion model the counted departments (cells of small teams, whose department
latent the model integrates out, and the larger teams, each with a sampled latent) and the
cells of class-only departments with their trials distribution and class mask
(:mod:`irmodels.models.share`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from irmodels.core.errors import ModelSpecError
from irmodels.models.share import (QUADRATURE_MAX_TRIALS, _class_pairs, _trials_distribution, count_pairs,
                                   share_class_mask)

__all__ = ["collapse"]


def collapse(X: np.ndarray, group: np.ndarray | None, *cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (group, X, cols...) patterns: returns (pattern rows, inverse index, multiplicity)."""
    parts = [X]
    if group is not None:
        parts.append(group[:, None].astype(float))
    parts += [np.asarray(c, dtype=float)[:, None] for c in cols]
    key = np.ascontiguousarray(np.hstack(parts))
    # rows as opaque byte strings: np.unique on a 1-d void view is ~10x faster than axis=0
    rows = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(rows, return_index=True, return_inverse=True, return_counts=True)
    return key[first], inverse.ravel(), counts


class _Prepared:
    """Likelihood inputs after collapsing (shared by model building and post-processing)."""

    def __init__(self, f):
        d = f.design
        self.kind = f.family
        X = d.X.to_numpy()
        self.terms = list(d.X.columns)
        self.group_name = f.group
        self.group_levels = d.group_levels
        do_collapse = bool(f.options.get("collapse", True))
        if f.family in ("bernoulli", "binomial") and d.share_class is None:
            k = d.y.astype(float)
            n = np.ones_like(k) if d.trials is None else d.trials.astype(float)
            if do_collapse:
                uniq, inv, _ = collapse(X, d.group)
                self.X = uniq[:, : X.shape[1]]
                self.g = uniq[:, X.shape[1]].astype(int) if d.group is not None else None
                self.k = np.bincount(inv, weights=k, minlength=len(uniq)).astype(int)
                self.n = np.bincount(inv, weights=n, minlength=len(uniq)).astype(int)
                self.row_cell = inv
            else:
                self.X, self.g, self.k, self.n = X, d.group, k.astype(int), n.astype(int)
                self.row_cell = np.arange(len(k))
            self.kind = "logistic"
        elif f.family == "binomial":
            has = d.share_class < 0
            self.kind = "latent"
            self.row_is_count = has
            # counts of small teams: latent integrated out (cells); larger teams: a sampled latent
            quad = has & (np.asarray(d.trials, dtype=float) <= QUADRATURE_MAX_TRIALS)
            sampled = has & ~quad
            self.row_is_sampled = sampled
            self.Xc, self.gc = X[sampled], (d.group[sampled] if d.group is not None else None)
            self.kc, self.nc = d.y[sampled], d.trials[sampled]
            self._prepare_counts(X, d, quad, do_collapse)
            self._prepare_classes(f, X, has, do_collapse)
        elif f.family == "beta_binomial":
            self.X, self.g, self.k, self.n = X, d.group, d.y, d.trials
            self.kind = "beta_binomial"
        else:  # ordinal
            K = len(d.categories)
            if do_collapse:
                uniq, inv, _ = collapse(X, d.group)
            else:
                uniq = np.hstack([X] + ([d.group[:, None].astype(float)] if d.group is not None else []))
                inv = np.arange(len(X))
            counts = np.zeros((len(uniq), K), dtype=int)
            np.add.at(counts, (inv, d.y), 1)
            self.X = uniq[:, : X.shape[1]]
            self.g = uniq[:, X.shape[1]].astype(int) if d.group is not None else None
            self.counts = counts
            self.categories = d.categories
            self.row_cell = inv
            self.kind = "ordinal"

    def _prepare_counts(self, X: np.ndarray, d, quad: np.ndarray, do_collapse: bool) -> None:
        """Count rows of small teams: cells of (covariates, group, n, k) with the latent integrated out.

        Sets ``Xq``, ``gq``, ``nq``, ``kq``, ``mult_q`` (rows per cell), ``count_row_cell`` (cell of
        each such row, in the order of ``row_is_count & ~row_is_sampled``).
        """
        Xq, gq = X[quad], (d.group[quad] if d.group is not None else None)
        nq, kq = np.asarray(d.trials[quad], dtype=float), np.asarray(d.y[quad], dtype=float)
        if do_collapse and quad.any():
            uniq, inv, cnt = collapse(Xq, gq, nq, kq)
            p = X.shape[1]
            Xq, nq, kq = uniq[:, :p], uniq[:, -2], uniq[:, -1]
            gq = uniq[:, p].astype(int) if d.group is not None else None
            self.mult_q, self.count_row_cell = cnt.astype(float), inv
        else:
            self.mult_q, self.count_row_cell = np.ones(int(quad.sum())), np.arange(int(quad.sum()))
        self.Xq, self.gq, self.nq, self.kq = Xq, gq, nq, kq

    def count_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~irmodels.models.share.count_pairs` of the count cells."""
        return count_pairs(self.nq, self.kq)

    def _prepare_classes(self, f, X: np.ndarray, has: np.ndarray, do_collapse: bool) -> None:
        """Class-only rows: cells of (covariates, group, class, reported number of trials or none).

        Sets ``Xs``, ``gs``, ``cls``, ``mult`` (rows per cell), ``class_row_cell`` (cell of each
        class-only row), ``n_values`` (support of the number of trials), ``weight`` (cell x
        ``n_values``: one-hot where the row reports its number of trials, else the trials
        distribution) and ``mask`` (:func:`share_class_mask`).
        """
        d = f.design
        trials, column = f.options["trials"], f.options["share_class"]
        n_rep = pd.to_numeric(d.data[trials], errors="coerce").to_numpy(dtype=float)
        cls = d.share_class[~has]
        n_cls = n_rep[~has]
        known = np.isfinite(n_cls)
        bad = known & ((n_cls <= 0) | (n_cls != np.round(n_cls)))
        if bad.any():
            rows = list(d.data.index[~has][bad][:10])
            raise ModelSpecError(f"rows {rows} have a {column!r} and {trials} = {sorted(set(n_cls[bad]))[:10]}: the "
                                 f"class needs a whole number >= 1 of trials (with {trials} = 0 the share is undefined "
                                 "and the schema requires the class to be missing)")
        self.Xs, self.gs = X[~has], (d.group[~has] if d.group is not None else None)
        self.cls = cls.astype(int)
        self.mult = np.ones(len(cls))
        self.class_row_cell = np.arange(len(cls))
        self.share_column, self.share_levels = column, list(d.share_class_levels)
        if not len(cls):
            self.n_values = np.zeros(0, dtype=int)
            self.weight = np.zeros((0, 0))
            self.mask = np.zeros((0, len(self.share_levels), 0))
            return
        pi_n = pi_p = None
        if (~known).any():
            pi_n, pi_p = _trials_distribution(f, n_rep, trials)
        support = set(n_cls[known].astype(int).tolist()) | set([] if pi_n is None else pi_n.tolist())
        self.n_values = np.array(sorted(support), dtype=int)
        self.mask = share_class_mask(column, self.share_levels, self.n_values, f.options.get("merge_categories"))
        n_key = np.where(known, n_cls, 0.0)  # 0: not reported
        if do_collapse:
            uniq, inv, cnt = collapse(self.Xs, self.gs, self.cls, n_key)
            p = X.shape[1]
            self.Xs = uniq[:, :p]
            self.gs = uniq[:, p].astype(int) if d.group is not None else None
            self.cls = uniq[:, -2].astype(int)
            n_key = uniq[:, -1]
            self.mult = cnt.astype(float)
            self.class_row_cell = inv
        pos = {n: i for i, n in enumerate(self.n_values.tolist())}
        self.weight = np.zeros((len(self.cls), len(self.n_values)))
        for j, n in enumerate(n_key.astype(int)):
            if n > 0:
                self.weight[j, pos[n]] = 1.0
            else:
                self.weight[j, [pos[v] for v in pi_n.tolist()]] = pi_p
        # a class no number of trials can give (1-25 of 1 IR) has probability 0: the data contradict the model
        possible = np.einsum("jn,njk->j", self.weight, self.mask[:, self.cls, :]) > 0
        if not possible.all():
            bad = [(self.share_levels[self.cls[j]], int(n_key[j]) or "unreported") for j in np.flatnonzero(~possible)]
            raise ModelSpecError(f"share classes impossible for the number of trials (class, {trials}): {bad[:10]}; "
                                 f"support of {trials}: {self.n_values.tolist()} (option trials_distribution)")

    def class_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_class_pairs` of the class cells."""
        return _class_pairs(self.weight, self.mask, self.cls, self.n_values)
