"""The self-contained HTML report: static checks on the text, then a real headless Chromium.

The browser test opens the written file through Playwright driving Debian's
``/usr/bin/chromium`` (never ``playwright install``), records every request the
page makes and requires that none leaves it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from backprop_reference.reports.render.html import is_numeric, render_html, write_html
from backprop_reference.reports.model import Figure, Report, Section, Table

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
FAILING_ROW = ("sigmoid <b>bold</b>", "torch", "3.1e-09", "1e-12", "FAIL")
PLAIN_ROW = ("tanh", "jax", "2.2e-16", "1e-12", "pass")


def _plot_png() -> bytes:
    """A real matplotlib plot, rendered by the Agg backend to PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    widths = np.array([4, 16, 64, 256, 1024])
    figure, axes = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    try:
        axes.loglog(widths, 2e-6 * widths**1.5, marker="o", label="hand-derived")
        axes.loglog(widths, 5e-6 * widths**1.5, marker="s", label="jax.grad")
        axes.set_xlabel("hidden width")
        axes.set_ylabel("seconds per gradient")
        axes.legend()
        axes.grid(True, which="both", alpha=0.3)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def report() -> Report:
    agreement = Section(
        key="agreement",
        title="Agreement with the oracles",
        intro="Each notation's `grad` against <script>alert(1)</script> every oracle & tolerance.",
        tables=(
            Table(
                headers=("notation", "oracle", "worst error", "tolerance", "verdict"),
                rows=(FAILING_ROW, PLAIN_ROW, ("relu", "complex step", "0.0", "1e-12", "pass")),
                caption="Worst elementwise error per notation and oracle",
                marks=("fail", "", ""),
            ),
        ),
    )
    timing = Section(
        key="timing",
        title="Timing",
        intro="Median wall time of one `backward` call.",
        tables=(
            Table(
                headers=("width", "hand-derived", "jax.grad", "ratio"),
                rows=(("64", "12 µs", "31 µs", "2.6×"), ("1024", "1.4 ms", "2.9 ms", "2.1×")),
                caption="Median of 50 runs",
            ),
        ),
        figures=(
            Figure(name="timing_cpu.png", png=_plot_png(), caption="Time per gradient against width.",
                   alt="Log-log plot of seconds per gradient against hidden width"),
        ),
    )
    return Report(
        title="Backpropagation agreement report",
        summary="1 of 3 checks failed: `sigmoid` against torch.",
        sections=(agreement, timing),
    )


# --- the text -----------------------------------------------------------------------------------


def test_html_fetches_nothing(report: Report) -> None:
    html = render_html(report)
    for forbidden in ("http://", "https://", 'src="//', "<script", "<link", "@import"):
        assert forbidden not in html, f"{forbidden!r} in the rendered page"
    assert not re.search(r"url\(\s*['\"]?(?!data:)", html), "a CSS url() points outside data:"
    sources = re.findall(r'\ssrc="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources), sources
    assert all(h.startswith("#") for h in re.findall(r'\shref="([^"]*)"', html))
    assert ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">") in html


def test_html_escapes_prose_and_cells(report: Report) -> None:
    html = render_html(report)
    assert "<b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>grad</code>" in html and "every oracle &amp; tolerance" in html


def test_html_structure(report: Report) -> None:
    html = render_html(report)
    for section in report.sections:
        assert f'<a href="#{section.key}">' in html and f'<section id="{section.key}">' in html
    assert html.count('<tr class="fail">') == 1
    assert '<td class="num">2.2e-16</td>' in html and '<td class="num">2.6×</td>' in html
    assert '<td>tanh</td>' in html and '<td>pass</td>' in html


@pytest.mark.parametrize(
    ("cell", "numeric"),
    [("1.5", True), ("-2e-13", True), ("2.6×", True), ("40%", True), ("0.3 s", True), ("12 ms", True),
     ("7 µs", True), ("pass", False), ("—", False), ("", False), ("x%", False), ("sigmoid", False)],
)
def test_numeric_cells(cell: str, numeric: bool) -> None:
    assert is_numeric(cell) is numeric


def test_render_html_rejects_non_report() -> None:
    with pytest.raises(TypeError, match="report must be a reports.model.Report"):
        render_html({"title": "not a report"})  # type: ignore[arg-type]


# --- a real browser -----------------------------------------------------------------------------


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = "Debian's chromium is not installed (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


def test_html_in_headless_chromium(report: Report, tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "report.html"
    write_html(report, page_path)
    page_url = page_path.as_uri()
    screenshot = tmp_path / "report.png"
    requests: list[str] = []
    console_errors: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            # A CSP violation (something the page tried to fetch or run) is logged as a console error.
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            page.goto(page_url, wait_until="load")

            tables = page.locator("table")
            assert tables.count() == 2
            for index in range(tables.count()):
                assert tables.nth(index).is_visible()
            widths = page.evaluate("() => Array.from(document.images, image => image.complete && image.naturalWidth)")
            assert len(widths) == 1 and all(width > 0 for width in widths), widths

            failing = page.locator("tr.fail")
            assert failing.count() == 1
            assert failing.locator("td").first.inner_text() == "sigmoid <b>bold</b>"
            backgrounds = page.evaluate(
                "() => Array.from(document.querySelectorAll('table')[0].tBodies[0].rows,"
                " row => getComputedStyle(row).backgroundColor)"
            )
            assert backgrounds[0] not in (backgrounds[1], backgrounds[2], "rgba(0, 0, 0, 0)"), backgrounds

            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    outside = [url for url in requests if url != page_url and not url.startswith("data:")]
    assert not outside, f"the page requested {outside}"
    assert page_url in requests
    assert not console_errors, console_errors
    assert screenshot.stat().st_size > 10_000, f"screenshot is only {screenshot.stat().st_size} bytes"
    if directory := os.environ.get("REPORT_SCREENSHOT_DIR"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, Path(directory) / "report.png")
