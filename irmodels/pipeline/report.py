"""The wave report: Markdown and HTML, every number read from the wave's generated tables.

The report is a list of blocks (heading, paragraph, table, figure) built from the CSV files in
the wave's output folder and rendered twice (:func:`render_markdown`, :func:`render_html`). No
number is typed here: each comes from a table row, formatted by :func:`fmt`. A step that failed
or was skipped is listed with its reason; the sections whose tables it would have written say
so instead of showing stale numbers.
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irmodels.core.io import write_text_atomic
from irmodels.pipeline.config import WaveConfig

__all__ = ["build_report", "render_markdown", "render_html", "write_report", "fmt"]

Block = tuple  # ("h", level, text) | ("p", text) | ("table", DataFrame) | ("img", path, caption)


def fmt(x: Any, digits: int = 3) -> str:
    """A number as text: integers without decimals, others to ``digits`` significant places
    (at least the units digit, never scientific notation)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "NA"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x)).lower()
    if isinstance(x, (int, np.integer)):
        return f"{int(x):d}"
    if isinstance(x, (float, np.floating)):
        if float(x).is_integer():
            return f"{int(x):d}"
        mag = int(np.floor(np.log10(abs(x)))) if x != 0 else 0
        return f"{x:.{max(digits - 1 - mag, 0)}f}"
    return str(x)


def _pct(x: float) -> str:
    return "NA" if pd.isna(x) else f"{100 * x:.1f}%"


def _read(cfg: WaveConfig, rel: str) -> pd.DataFrame | None:
    p = cfg.output / rel
    return pd.read_csv(p, keep_default_na=False, na_values=[""]) if p.is_file() else None


def _status(log: pd.DataFrame, step: str) -> str:
    r = log[log["step"] == step]
    return "" if r.empty else str(r["status"].iloc[0])


def _missing(log: pd.DataFrame, step: str) -> Block:
    r = log[log["step"] == step]
    why = "" if r.empty else f"{r['status'].iloc[0]}: {r['reason'].iloc[0]}"
    return ("p", f"*Not available (step `{step}` {why}).*")


def _harmonised(rep: pd.DataFrame | None) -> list[str]:
    """Canonical variables whose classes were harmonised at import (from the import report)."""
    if rep is None or not len(rep):
        return []
    harm = rep[rep["action"].astype(str) == "harmonised"]
    return sorted(set(harm["reason"].astype(str).str.split(":").str[0].str.strip()))


def _data_section(cfg: WaveConfig, log: pd.DataFrame) -> list[Block]:
    out: list[Block] = [("h", 2, "Data")]
    resp = _read(cfg, "tables/respondents.csv")
    if resp is None:
        return out + [_missing(log, "import")]
    src = cfg.data.get("export") or cfg.data.get("table")
    out.append(("p", f"{len(resp)} responses in the validated table, from `{Path(src).name}`."))
    rep = _read(cfg, "tables/import_report.csv")
    if rep is not None and len(rep):
        counts = rep.groupby("action").size().rename("rows").reset_index()
        out += [("p", "Import report (every excluded, dropped, recoded or harmonised value; full list in "
                      "`tables/import_report.csv`):"), ("table", counts)]
    harmonised = _harmonised(rep)
    if harmonised:
        harm = rep[rep["action"].astype(str) == "harmonised"]
        out += [("p", f"Harmonised variables (the wave's own classes mapped to the canonical ones; results that use "
                      f"them rest on that mapping): {', '.join(harmonised)}."),
                ("table", harm[["column", "value", "reason"]].rename(columns={"column": "export column",
                                                                             "value": "wave class"}))]
    desc = _read(cfg, "tables/descriptives.csv")
    if desc is not None:
        d = desc[desc["variable"] != "country"].copy()
        d["variable"] = [f"{v} (harmonised)" if v in harmonised else v for v in d["variable"]]
        d["n (%)"] = [f"{c} ({p:.1f}%)" for c, p in zip(d["count"], d["percent_of_answered"])]
        out += [("h", 3, "Respondents (Table 1)"),
                ("table", d[["variable", "category", "n (%)", "answered", "missing"]])]
        num = _read(cfg, "tables/descriptives_numeric.csv")
        if num is not None and len(num):
            n = num.copy()
            n["median (IQR)"] = [f"{fmt(m)} ({fmt(a)} to {fmt(b)})" for m, a, b in zip(n["median"], n["q1"], n["q3"])]
            out.append(("table", n[["variable", "source", "median (IQR)", "min", "max", "answered", "missing"]]))
        cty = desc[desc["variable"] == "country"]
        out.append(("p", f"{cty['category'].nunique()} countries; largest: " + ", ".join(
            f"{r.category} {r['count']}" for _, r in cty.sort_values("count", ascending=False).head(5).iterrows())
            + "."))
    return out


def _weight_section(cfg: WaveConfig, log: pd.DataFrame) -> list[Block]:
    out: list[Block] = [("h", 2, "Frame and weights")]
    if _status(log, "frame") == "not applicable":
        return out + [("p", "No frame in the config: the wave is described and modelled, not weighted.")]
    chk, summ = _read(cfg, "tables/frame_check.csv"), _read(cfg, "tables/weight_summary.csv")
    if chk is not None:
        bad = chk[chk["status"] != "ok"]
        n_units = chk["N"].sum()
        out.append(("p", f"Frame: {fmt(n_units)} departments in {len(chk)} cells (its counts used as given); "
                         f"{int(chk['respondents'].sum())} respondents, response rate "
                         f"{_pct(chk['respondents'].sum() / n_units)}."))
        if len(bad):
            out += [("p", f"**{len(bad)} frame cells contradict the respondents** (more respondents than frame "
                          "units): the frame is wrong there or the respondents are misclassified."),
                    ("table", bad)]
    if summ is None:
        return out + [_missing(log, "weight")]
    s = summ.iloc[0]
    out.append(("p", f"Weights ({s['method']}, margins {s['margins']}, frame '{s['scenario']}' with total "
                     f"{fmt(s['frame_total'])}): sum {fmt(s['sum'])}, range {fmt(s['min'])} to {fmt(s['max'])}, "
                     f"Kish design effect {fmt(s['deff_kish'])}, effective n {fmt(s['n_eff'])} of {fmt(s['n'])}."))
    for k in ("collapsed", "flags"):
        if isinstance(s.get(k), str) and s[k]:
            out.append(("p", f"{'Merged categories' if k == 'collapsed' else 'Flags'}: {s[k]}."))
    return out


def _prevalence_section(cfg: WaveConfig, log: pd.DataFrame) -> list[Block]:
    out: list[Block] = [("h", 2, "Prevalence")]
    prev = _read(cfg, "tables/prevalence.csv")
    if prev is None:
        return out + [_missing(log, "prevalence")]
    allr = prev[prev["by"] == "all"]
    for outcome, g in allr.groupby("outcome", sort=False):
        u = g[g["weighting"] == "unweighted"].iloc[0]
        w = g[g["weighting"] == "weighted"].iloc[0]
        out.append(("p", f"**{u['label']}**: {_pct(u['estimate'])} of the {fmt(u['n'])} respondents who answered "
                         f"({_pct(u['lower'])} to {_pct(u['upper'])}; identified); weighted to the frame "
                         f"{_pct(w['estimate'])} ({_pct(w['lower'])} to {_pct(w['upper'])}; rests on the assumption "
                         "that non-response is ignorable given the weighting margins)."))
    t = prev[["outcome", "by", "group", "weighting", "estimate", "lower", "upper", "n"]].copy()
    for c in ("estimate", "lower", "upper"):
        t[c] = t[c].map(_pct)
    return out + [("table", t)]


def _bounds_section(cfg: WaveConfig, log: pd.DataFrame) -> list[Block]:
    out: list[Block] = [("h", 2, "What the data identify about the population")]
    b, tp = _read(cfg, "tables/bounds.csv"), _read(cfg, "tables/tipping_point.csv")
    if b is None or tp is None:
        return out + [_missing(log, "bounds")]
    for _, r in b.iterrows():
        t = tp[tp["outcome"] == r["outcome"]].iloc[0]
        orr = t["odds_ratio_star"]
        tip = ("never crosses the threshold within the range examined" if pd.isna(orr) else
               f"{'falls' if t['estimate_mar'] > t['threshold'] else 'rises'} to {_pct(t['threshold'])} when "
               f"non-respondents' odds are {fmt(orr)} times the respondents'")
        label = cfg.outcomes.get(r["outcome"], {}).get("label", r["outcome"])
        out.append(("p", f"**{label}**: whatever the non-respondents answered, the prevalence among the "
                         f"{fmt(r['invited'])} invited departments lies between {_pct(r['lower'])} and "
                         f"{_pct(r['upper'])} (worst-case bounds, no assumption). Under the weighting assumption it is "
                         f"{_pct(t['estimate_mar'])}; the estimate {tip} (tipping point)."))
    return out


def _models_section(cfg: WaveConfig, log: pd.DataFrame) -> list[Block]:
    out: list[Block] = [("h", 2, "Models")]
    if _status(log, "models") == "not applicable":
        return out + [("p", "Models not run (models: false).")]
    res, fail = _read(cfg, "tables/model_results.csv"), _read(cfg, "tables/model_failures.csv")
    if res is None:
        return out + [_missing(log, "models")]
    coef = res[~res["term"].astype(str).str.contains(r"Intercept|\||sd\(|threshold|phi|sd_", regex=True)].copy()
    if len(coef):
        coef["odds ratio (95% interval)"] = [f"{np.exp(e):.2f} ({np.exp(lo):.2f} to {np.exp(hi):.2f})"
                                             for e, lo, hi in zip(coef["estimate"], coef["lower"], coef["upper"])]
        out += [("p", f"{coef['spec_id'].nunique()} model specifications fitted "
                      f"({', '.join(sorted(set(coef['engine'].astype(str))))}); full tidy table in "
                      "`tables/model_results.csv`."),
                ("table", coef[["spec_id", "engine", "term", "odds ratio (95% interval)"]])]
    if fail is not None and len(fail):
        out += [("p", "Not fitted or not reported, with the reason:"), ("table", fail)]
    return out


def _figures_section(cfg: WaveConfig) -> list[Block]:
    figs = sorted((cfg.output / "figures").glob("*.png")) if (cfg.output / "figures").is_dir() else []
    return [("h", 2, "Figures")] + [("img", f"figures/{p.name}", p.stem.replace("_", " ")) for p in figs]


def _provenance(cfg: WaveConfig, log: pd.DataFrame) -> list[Block]:
    from irmodels.core.version import __version__

    rows = [{"item": "irmodels version", "value": __version__}, {"item": "seed", "value": str(cfg.seed)}]
    for f in cfg.input_files():
        rows.append({"item": f"sha256 {Path(f).name}", "value": hashlib.sha256(Path(f).read_bytes()).hexdigest()[:16]})
    return [("h", 2, "Provenance"), ("table", pd.DataFrame(rows)),
            ("p", "Steps of this run (`run_log.csv`):"), ("table", log)]


def build_report(cfg: WaveConfig, log: pd.DataFrame, body: Any = None) -> list[Block]:
    """The report's blocks for a wave (see the module docstring).

    ``body`` (a function ``(cfg, log) -> blocks``) replaces the sections of a respondent-level
    wave, e.g. :func:`irmodels.pipeline.published.report_blocks` for a published-aggregates wave.
    """
    if body is not None:
        body = body(cfg, log)
    else:
        body = (_data_section(cfg, log) + _weight_section(cfg, log) + _prevalence_section(cfg, log)
                + _bounds_section(cfg, log) + _models_section(cfg, log) + _figures_section(cfg))
    title = cfg.title or f"Survey wave {cfg.wave}"
    head: list[Block] = [("h", 1, title)]
    if cfg.description:
        head.append(("p", cfg.description))
    failed = log[log["status"] == "failed"]
    if len(failed):
        head.append(("p", "**Steps failed in this run:** " + "; ".join(f"{r.step} ({r.reason.splitlines()[0]})"
                                                                      for r in failed.itertuples()) + "."))
    return head + body + _provenance(cfg, log)


def _md_table(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return fmt(v).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def render_markdown(blocks: list[Block]) -> str:
    """Blocks as GitHub-flavoured Markdown."""
    parts = []
    for b in blocks:
        if b[0] == "h":
            parts.append("#" * b[1] + " " + b[2])
        elif b[0] == "p":
            parts.append(b[1])
        elif b[0] == "table":
            parts.append(_md_table(b[1]))
        elif b[0] == "img":
            parts.append(f"![{b[2]}]({b[1]})")
    return "\n\n".join(parts) + "\n"


def _inline(text: str) -> str:
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"\*(.+?)\*", r"<em>\1</em>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def render_html(blocks: list[Block], title: str) -> str:
    """Blocks as one self-contained HTML page (figures referenced by relative path)."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}img{max-width:100%}</style></head><body>"]
    for b in blocks:
        if b[0] == "h":
            parts.append(f"<h{b[1]}>{_inline(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            parts.append(f"<p>{_inline(b[1])}</p>")
        elif b[0] == "table":
            df = b[1]
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                           for row in df.itertuples(index=False))
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b[0] == "img":
            parts.append(f"<figure><img src=\"{html.escape(b[1])}\" alt=\"{html.escape(b[2])}\">"
                         f"<figcaption>{html.escape(b[2])}</figcaption></figure>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(cfg: WaveConfig, log: pd.DataFrame, body: Any = None) -> list[Path]:
    """Write ``report.md`` / ``report.html`` (the config's formats) and ``manifest.json``
    (``body``: see :func:`build_report`)."""
    blocks = build_report(cfg, log, body)
    written = []
    if "md" in cfg.report_formats:
        written.append(write_text_atomic(render_markdown(blocks), cfg.output / "report.md"))
    if "html" in cfg.report_formats:
        written.append(write_text_atomic(render_html(blocks, cfg.title or cfg.wave), cfg.output / "report.html"))
    written.append(write_text_atomic(json.dumps(_manifest(cfg), indent=1, sort_keys=True) + "\n",
                                     cfg.output / "manifest.json"))
    return written


def _manifest(cfg: WaveConfig) -> dict[str, Any]:
    from irmodels.core.version import __version__

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    outs = {str(p.relative_to(cfg.output)): sha(p) for p in sorted(cfg.output.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(cfg.output).parts)
            and p.name not in ("manifest.json", "report.md", "report.html")}
    return {"wave": cfg.wave, "irmodels_version": __version__, "seed": cfg.seed,
            "config": {"path": cfg.path.name, "sha256": sha(cfg.path)},
            "inputs": {Path(f).name: sha(Path(f)) for f in cfg.input_files()[1:]}, "outputs": outs}
