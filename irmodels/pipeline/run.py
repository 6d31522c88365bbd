"""Running a wave's pipeline: steps in order, cached by content hash, failures recorded.

:func:`run_wave` runs :data:`irmodels.pipeline.steps.STEPS` (or, for a wave of which only
aggregates were published, :data:`irmodels.pipeline.published.STEPS`) for one wave config and
writes the report (:mod:`irmodels.pipeline.report`).

Caching. A step's key is the sha256 of its name, the package's source, the config keys it
reads, the content of the input files and the outputs of the steps it needs. The key and
the hashes of the files it wrote are recorded in ``<output>/.steps/<step>.json``; a step
whose key is unchanged and whose outputs are still there with the recorded content is not
run again. ``force=True`` reruns every step.

Failures. A step that raises is recorded (``run_log.csv``: status ``failed`` and the error)
and the run goes on with every step that does not need it; steps that need it are recorded as
``skipped``. Outputs are written atomically, only after the step finished, so a failed step
leaves no half-written output (its earlier outputs, from a previous successful run, are
removed, so that nothing stale is reported as current).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from irmodels.core.io import write_table_atomic, write_text_atomic
from irmodels.core.tablecache import file_sha256 as _sha_file
from irmodels.core.tablecache import package_source_hash
from irmodels.pipeline.config import WaveConfig, load_wave_config

__all__ = ["run_wave", "RunResult"]


@dataclass
class RunResult:
    """What :func:`run_wave` did.

    Attributes
    ----------
    config : WaveConfig
    log : DataFrame
        ``step``, ``status`` (``ran``, ``cached``, ``failed``, ``skipped``, ``not applicable``),
        ``reason``, ``outputs`` (number of files). The ``run_log.csv`` written to the output
        folder says ``done`` for both ``ran`` and ``cached``, so that a warm run writes the same
        bytes as a cold one.
    seconds : dict
        Wall time of each step run (not written to any output: outputs are byte-reproducible).
    """

    config: WaveConfig
    log: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no step failed."""
        return not self.log["status"].eq("failed").any()


def _write_output(path: Path, obj: Any) -> list[Path]:
    from matplotlib.figure import Figure

    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, pd.DataFrame):
        return [write_table_atomic(obj, path, float_format="%.10g")]
    if isinstance(obj, Figure):
        from irmodels.figures.style import save_figure
        return save_figure(obj, path)
    if isinstance(obj, str):
        return [write_text_atomic(obj, path)]
    if isinstance(obj, bytes):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(obj)
        os.replace(tmp, path)
        return [path]
    raise TypeError(f"a step returned {type(obj).__name__} for {path}")


def _step_key(step: Any, cfg: WaveConfig, src: str, upstream: dict[str, str]) -> str:
    h = hashlib.sha256()
    h.update(step.name.encode() + b"\0" + src.encode())
    conf = {k: cfg.raw.get(k) for k in (*step.config_keys, "wave", "seed")}
    h.update(json.dumps(conf, sort_keys=True, default=str).encode())
    if "data" in step.config_keys or "frame" in step.config_keys:
        for f in cfg.input_files()[1:]:
            h.update(str(f).encode() + b"\0" + _sha_file(Path(f)).encode())
    for k in sorted(upstream):
        h.update(k.encode() + b"\0" + upstream[k].encode())
    return h.hexdigest()


def _cached(record_path: Path, key: str, out: Path) -> dict[str, str] | None:
    if not record_path.is_file():
        return None
    rec = json.loads(record_path.read_text(encoding="utf-8"))
    if rec.get("key") != key:
        return None
    files = rec.get("outputs", {})
    for rel, sha in files.items():
        p = out / rel
        if not p.is_file() or _sha_file(p) != sha:
            return None
    return files


def _forget(record_path: Path, out: Path) -> None:
    """Remove a step's outputs of an earlier run (the step failed now: nothing stale stays)."""
    if record_path.is_file():
        for rel in json.loads(record_path.read_text(encoding="utf-8")).get("outputs", {}):
            (out / rel).unlink(missing_ok=True)
        record_path.unlink()


def _run_steps(cfg: WaveConfig, steps: list, *, force: bool, only: set[str] | None,
               progress: Callable[[str], None]) -> tuple[list[dict], dict[str, float]]:
    from irmodels.pipeline.steps import Context

    out, rec_dir = cfg.output, cfg.output / ".steps"
    rec_dir.mkdir(parents=True, exist_ok=True)
    src = package_source_hash()
    status: dict[str, str] = {}
    produced: dict[str, dict[str, str]] = {}
    log, seconds = [], {}
    ctx = Context(cfg, progress)
    for step in steps:
        reason = step.applies(cfg)
        if reason:
            status[step.name] = "not applicable"
            log.append({"step": step.name, "status": "not applicable", "reason": reason, "outputs": 0})
            continue
        bad = [n for n in step.needs if status.get(n) in ("failed", "skipped")]
        if bad or (only is not None and step.name not in only and not (rec_dir / f"{step.name}.json").is_file()):
            status[step.name] = "skipped"
            why = f"needs {', '.join(bad)}, which did not run" if bad else "not selected and never run"
            log.append({"step": step.name, "status": "skipped", "reason": why, "outputs": 0})
            continue
        upstream = {f"{n}:{k}": v for n in step.needs for k, v in produced.get(n, {}).items()}
        key = _step_key(step, cfg, src, upstream)
        rec = rec_dir / f"{step.name}.json"
        files = None if force else _cached(rec, key, out)
        if files is not None or (only is not None and step.name not in only):
            files = files if files is not None else json.loads(rec.read_text(encoding="utf-8"))["outputs"]
            produced[step.name], status[step.name] = files, "cached"
            log.append({"step": step.name, "status": "cached", "reason": "inputs unchanged", "outputs": len(files)})
            progress(f"{step.name}: cached")
            continue
        progress(f"{step.name}: running")
        t0 = time.perf_counter()
        try:
            results = step.run(ctx)
            written: dict[str, str] = {}
            for rel, obj in results.items():
                for p in _write_output(out / rel, obj):
                    written[str(p.relative_to(out))] = _sha_file(p)
        except Exception as exc:  # recorded; the run goes on with what does not need this step
            _forget(rec, out)
            status[step.name] = "failed"
            log.append({"step": step.name, "status": "failed", "reason": f"{type(exc).__name__}: {exc}",
                        "outputs": 0})
            progress(f"{step.name}: FAILED ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
            continue
        seconds[step.name] = time.perf_counter() - t0
        old = json.loads(rec.read_text(encoding="utf-8")).get("outputs", {}) if rec.is_file() else {}
        for rel in set(old) - set(written):
            (out / rel).unlink(missing_ok=True)
        write_text_atomic(json.dumps({"key": key, "outputs": written}, indent=1, sort_keys=True), rec)
        produced[step.name], status[step.name] = written, "ran"
        log.append({"step": step.name, "status": "ran", "reason": "", "outputs": len(written)})
        progress(f"{step.name}: done in {seconds[step.name]:.1f} s ({len(written)} files)")
    return log, seconds


def run_wave(config: str | Path | WaveConfig, *, force: bool = False, steps: list[str] | None = None,
             progress: Callable[[str], None] | None = None) -> RunResult:
    """Run the pipeline of one wave config and write its report.

    Parameters
    ----------
    config : path or WaveConfig
        The wave config (:func:`irmodels.pipeline.config.load_wave_config`).
    force : bool
        Rerun every step even when its inputs are unchanged.
    steps : list of str, optional
        Run only these steps (others are used from the cache when there, else skipped).
    progress : callable, optional
        Called with a line of text at each step (the CLI prints them).

    Returns
    -------
    RunResult
        The run log; ``ok`` is False when a step failed (the report says which and why).

    Raises
    ------
    ConfigError
        If the config is invalid (nothing is run).
    """
    from irmodels.pipeline.report import write_report
    from irmodels.pipeline.steps import STEPS

    cfg = config if isinstance(config, WaveConfig) else load_wave_config(config)
    say = progress or (lambda msg: None)
    body = None
    if cfg.kind == "published":
        from irmodels.pipeline.published import STEPS as PSTEPS, report_blocks
        step_list, body = PSTEPS, report_blocks
    else:
        step_list = STEPS
    known = {s.name for s in step_list}
    if steps is not None:
        from irmodels.core.errors import ConfigError, Problem
        unknown = [s for s in steps if s not in known]
        if unknown:
            raise ConfigError([Problem(f"unknown step (steps: {', '.join(s.name for s in step_list)})", value=u)
                               for u in unknown])
    cfg.output.mkdir(parents=True, exist_ok=True)
    log, seconds = _run_steps(cfg, step_list, force=force, only=set(steps) if steps else None, progress=say)
    log_df = pd.DataFrame(log, columns=["step", "status", "reason", "outputs"])
    # what is written does not depend on whether a step was taken from the cache: the outputs of a
    # warm run are byte-identical to those of a cold one (the live log, with "cached", is returned)
    done = log_df["status"].isin(["ran", "cached"])
    written = log_df.assign(status=log_df["status"].where(~done, "done"), reason=log_df["reason"].where(~done, ""))
    write_table_atomic(written, cfg.output / "run_log.csv")
    write_report(cfg, written, body=body)
    say(f"report: {', '.join(str(cfg.output / f'report.{f}') for f in cfg.report_formats)}")
    return RunResult(cfg, log_df, seconds)
