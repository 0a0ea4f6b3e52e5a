"""JSON renderer and its schema (``reports/report.schema.json``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from backprop_reference.reports.model import Report

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "report.schema.json"


def _finite(value):
    """JSON has no inf or NaN: such a value (an error where a check failed on a
    non-finite gradient) is written as null; the row's failure count says why."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def render_json(report: Report) -> str:
    return json.dumps(_finite(report.data), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
