"""JSON renderer and its schema (``reports/report.schema.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from reports.model import Report

SCHEMA_PATH = Path(__file__).resolve().parent / "report.schema.json"


def render_json(report: Report) -> str:
    return json.dumps(report.data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
