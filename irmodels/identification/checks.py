"""Checks that a reconstruction reproduces every published 2017 count and constraint.

:func:`check_reconstruction` returns one row per replicate and check: every published margin
and missing-answer count (:func:`irmodels.identification.targets.published_targets`) and every
constraint of :data:`irmodels.identification.targets.CONSTRAINTS`, with the expected number
read from ``published_margins()`` and ``statements.csv`` (never typed here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from irmodels.identification.targets import _BOOLS, N_RESPONDENTS, _item_n, _margin, _stated, published_targets

__all__ = ["check_reconstruction"]


class _Checks:
    """Rows of :func:`check_reconstruction`, collected in order, one group of checks per method."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.rep = df["replicate"].to_numpy()
        self.reps = np.unique(self.rep)
        self.out: list[pd.DataFrame] = []
        self.v = self._values()

    def _values(self) -> dict[str, np.ndarray]:
        """Every column as an object array (``None`` for missing; booleans as "true"/"false")."""
        df = self.df

        def s(col: str) -> np.ndarray:
            return df[col].astype(object).where(df[col].notna(), None).to_numpy()

        vals = {c: s(c) for c in df.columns if c != "replicate"}
        for c in _BOOLS:
            arr = np.full(len(df), None, dtype=object)
            arr[df[c].fillna(False).to_numpy(dtype=bool)] = "true"
            arr[(~df[c]).fillna(False).to_numpy(dtype=bool)] = "false"
            vals[c] = arr
        return vals

    def add(self, name: str, kind: str, per_row: np.ndarray | pd.Series, expected: int) -> None:
        """One check: the number of rows of each replicate where ``per_row`` holds."""
        rep, reps = self.rep, self.reps
        obs = pd.Series(np.asarray(per_row, dtype=np.int64)).groupby(rep).sum().reindex(reps, fill_value=0)
        self.out.append(pd.DataFrame({"replicate": reps, "check": name, "kind": kind, "expected": expected,
                                      "observed": obs.to_numpy()}))

    def add_flag(self, name: str, observed: np.ndarray) -> None:
        """One published check that holds (1) or not (0) per replicate."""
        self.out.append(pd.DataFrame({"replicate": self.reps, "check": name, "kind": "published", "expected": 1,
                                      "observed": observed.astype(int)}))

    def margins(self) -> None:
        """Every published count and number of missing answers, and the number of rows."""
        vals, add = self.v, self.add
        t = published_targets()
        for row in t.itertuples(index=False):
            add(f"margin:{row.variable}={row.category}", "published", vals[row.variable] == row.category, row.count)
        for var, grp in t.groupby("variable", sort=False):
            add(f"missing:{var}", "published", vals[var] == None, N_RESPONDENTS - int(grp["item_n"].iloc[0]))  # noqa: E711
        add("rows", "published", np.ones(len(self.df)), N_RESPONDENTS)

    def memberships(self) -> None:
        """The membership combinations (audit) and the CIRSE-only chairs (published)."""
        v, add = self.v, self.add
        esr, cir = v["member_esr"] == "true", v["member_cirse"] == "true"
        mc = {c: _margin("member_esr_cirse", c) for c in ("both", "esr_only", "cirse_only", "neither")}
        add("membership_combination:both", "audit", esr & cir, mc["both"])
        add("membership_combination:esr_only", "audit", esr & ~cir, mc["esr_only"])
        add("membership_combination:cirse_only", "audit", ~esr & cir, mc["cirse_only"])
        add("membership_combination:neither", "audit", ~esr & ~cir, mc["neither"])
        co = ~esr & cir
        co_ir, co_eq = _stated("R2-10"), _stated("R2-11")
        add("cirse_only_chairs:IR_mostly", "published", co & (v["chair_profile"] == "IR_mostly"), co_ir)
        add("cirse_only_chairs:DR_IR_equal", "published", co & (v["chair_profile"] == "DR_IR_equal"), co_eq)
        add("cirse_only_chairs:DR_or_DR_some_IR", "published", co & np.isin(v["chair_profile"], ["DR", "DR_some_IR"]),
            mc["cirse_only"] - co_ir - co_eq)

    def staff(self) -> np.ndarray:
        """Radiologist and resident numbers; returns the residents (float, NaN for missing)."""
        v, add, df, rep, reps = self.v, self.add, self.df, self.rep, self.reps
        nrad = df["n_radiologists"].to_numpy(dtype=float, na_value=np.nan)
        nres = df["n_residents"].to_numpy(dtype=float, na_value=np.nan)
        beds = v["beds_class"]
        big, mid = beds == ">=800", beds == "400-799"
        teach = v["teaching"] == "true"
        add("radiologists_below_10", "published", nrad < 10, _margin("n_radiologists", "<10"))
        add("radiologists_below_10:in_>=800", "published", (nrad < 10) & big, 0)
        add("radiologists_max_90", "published", nrad == 90, 1)
        add("radiologists_max_90:in_>=800", "published", (nrad == 90) & big, 1)
        add("radiologists_max_90:above_90", "published", nrad > 90, 0)
        add("radiologists_min_4", "plausibility", nrad < 4, 0)
        add("residents_zero", "published", nres == 0, _margin("n_residents", "0"))
        add("residents_zero:teaching", "published", (nres == 0) & teach, 0)
        r612 = (nres >= 6) & (nres <= 12)
        add("residents_6_12", "published", r612, _margin("n_residents", "6-12"))
        grp_any = lambda m: pd.Series(m).groupby(rep).any().reindex(reps, fill_value=False).to_numpy()  # noqa: E731
        self.add_flag("residents_6_12:both_bed_classes", grp_any(r612 & mid) & grp_any(r612 & big))
        add("residents_above_21", "published", nres > 21, _margin("n_residents", ">21"))
        add("residents_above_12_large:400-799_teaching", "published", (nres > 12) & mid & teach, _stated("R3-11"))
        add("residents_above_12_large:other", "published", (nres > 12) & ~big & ~(mid & teach), 0)
        add("residents_range:70", "published", nres == 70, 1)
        add("residents_range:above_70", "published", nres > 70, 0)
        add("nonteaching_residents", "plausibility", ~teach & (nres > 5), 0)
        return nres

    def no_ir(self, nres: np.ndarray) -> None:
        """The departments without IR or interventions, missing answers, the partial responder."""
        v, add, rep, reps = self.v, self.add, self.rep, self.reps
        small = np.isin(v["beds_class"], ["<200", "200-399"])
        teach = v["teaching"] == "true"
        no_ir = v["ir_share_class"] == "0"
        vol0 = v["procedure_volume_class"] == "0"
        add("no_ir_small", "published", no_ir & ~small, 0)
        n_vol0 = _margin("procedure_volume_class", "0")
        add("volume_zero:no_ir", "published", vol0 & no_ir, n_vol0)
        add("volume_zero:teaching", "published", vol0 & teach, _stated("DIS-04"))
        add("no_ir_third_volume", "published", no_ir & (v["procedure_volume_class"] == "1-200"),
            _margin("ir_share_class", "0") - n_vol0)
        self.add_flag("minimal_volume_trainees",
                      pd.Series((v["procedure_volume_class"] == "1-200") & (nres > 0)).groupby(rep).sum()
                      .reindex(reps, fill_value=0).to_numpy() >= _stated("DIS-05"))
        fna = v["female_ir_share_class"] == None  # noqa: E711
        ina = v["ir_share_class"] == None  # noqa: E711
        add("female_ir_missing", "published", no_ir & ~fna, 0)
        add("female_ir_missing_nonresponse", "plausibility", fna & ~(no_ir | ina), 0)
        add("biopsy_missing", "plausibility", (v["biopsy_share_class"] == None) & ~ina, 0)  # noqa: E711
        part = np.zeros(len(self.df), dtype=bool)
        items97 = ["outpatient_service", "day_case_beds", "admission_under_ir", "ward_rounds", "cover_24_7", "ir_specialised"]
        for c in items97:
            part |= v[c] == None  # noqa: E711
        add("partial_responder", "plausibility", part, 1)
        add("partial_responder:all_items", "plausibility",
            part & np.all([v[c] == None for c in items97], axis=0) & ina, 1)  # noqa: E711
        bad = np.zeros(len(self.df), dtype=bool)
        for c in ("ir_unit", "outpatient_service", "day_case_beds", "ward_rounds", "cover_24_7", "ir_specialised"):
            bad |= no_ir & (v[c] == "true")
        bad |= no_ir & (v["admission_under_ir"] != "mostly_other")
        add("no_ir_services", "plausibility", bad, 0)
        add("no_ir_chair", "plausibility",
            no_ir & ((v["chair_profile"] != "DR") | (v["member_cirse"] == "true") | (v["member_national_ir"] == "true")), 0)
        add("no_ir_neuro_cardiac", "plausibility", no_ir & ((v["neuro_performed"] == "true") | (v["cardiac_provider"] == "ir")), 0)

    def conditionals(self) -> None:
        """Conditional items are answered exactly by their published number of parent-"true" departments."""
        v = self.v
        for child, parent in (("outpatient_location", "outpatient_service"), ("day_case_beds_management", "day_case_beds"),
                              ("neuro_provider", "neuro_performed"), ("cardiac_provider", "cardiac_performed")):
            self.add(f"conditional:{child}", "published", (v[child] != None) & (v[parent] == "true"), _item_n(child))  # noqa: E711


def check_reconstruction(ensemble: pd.DataFrame) -> pd.DataFrame:
    """Check every published count and constraint in every replicate.

    Parameters
    ----------
    ensemble : pandas.DataFrame
        Output of :func:`irmodels.identification.reconstruction.reconstruct` (a ``replicate``
        column; one replicate without the column is also accepted).

    Returns
    -------
    pandas.DataFrame
        One row per replicate and check: ``replicate``, ``check`` (``margin:<variable>=<category>``,
        ``missing:<variable>`` or a constraint name of
        :data:`irmodels.identification.targets.CONSTRAINTS`), ``kind``
        (``published``, ``audit``, ``plausibility``), ``expected``, ``observed``, ``ok``.
    """
    df = ensemble if "replicate" in ensemble.columns else ensemble.assign(replicate=0)
    c = _Checks(df)
    c.margins()
    c.memberships()
    nres = c.staff()
    c.no_ir(nres)
    c.conditionals()
    res = pd.concat(c.out, ignore_index=True)
    res["ok"] = res["expected"] == res["observed"]
    return res
