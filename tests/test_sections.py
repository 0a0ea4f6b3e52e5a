"""The report's sections as a registry (``reports.sections.SECTIONS``): the build runs
whatever is registered, so a section planted here — by the test, or by a plugin —
reaches the Markdown, the HTML, report.json, the figures, the summary and the exit
status without a line of ``reports/build.py`` changed."""

import json
import sys

import pytest

from backprop_reference.reports.build import build
from backprop_reference.reports.model import Figure, Section, Table
from backprop_reference.reports.render import write_report
from backprop_reference.reports.sections import SECTIONS
from backprop_reference.reports.sections.registry import Context, Options, Registry, ReportSection, document_order

# A 1×1 PNG (the renderers copy the bytes; nothing decodes them).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def planted(key="planted", *, failed=False, in_verdict=False, rank=50, **changes) -> ReportSection:
    """A section of the test's own: its record is the seed it was given, doubled."""

    def render(record, figures, context):
        return Section(key, "A planted section", f"Planted intro: the record is {record}.",
                       (Table(("what", "value"), (("record", str(record)),), "Planted table"),), figures)

    fields = dict(
        compute=lambda context: 2 * context.options.seed,
        render=render,
        figures=lambda record, context: (Figure(f"{key}.png", PNG, "Planted figure", "planted alt text"), None),
        json=lambda record, context: {key: {"record": record}},
        headline=lambda record, context: f"Planted headline {record}.",
        headline_rank=rank,
        failed=lambda record, context: failed,
        in_verdict=in_verdict,
    )
    fields.update(changes)
    return ReportSection(key, "A planted section", **fields)


# --- the real registry ------------------------------------------------------------------------


def test_the_registry_holds_the_report_in_its_orders():
    assert SECTIONS.keys() == [
        "environment", "agreement", "seed_examples", "delta_forms", "mutants", "taylor", "timing", "training", "speed", "agreement-table",
    ]  # the order they are computed and written to report.json
    assert [s.key for s in document_order(list(SECTIONS))] == [
        "environment", "agreement", "seed_examples", "delta_forms", "mutants", "taylor", "training", "timing", "speed", "agreement-table",
    ]  # the order a reader meets them
    headlines = sorted((s for s in SECTIONS if s.headline), key=lambda s: s.headline_rank)
    assert [s.key for s in headlines] == ["agreement", "mutants", "taylor", "seed_examples", "environment"]
    assert {s.key for s in SECTIONS if s.failed} == {"agreement", "mutants", "training"}
    assert {s.key for s in SECTIONS if s.in_verdict} == {"agreement", "mutants"}


def test_a_section_registered_in_sections_reaches_the_build():
    """Registered in ``SECTIONS`` itself (as a plugin would), a section is run by the build:
    its check refuses before any other section computes anything."""

    def refuse(context):
        raise ValueError("planted check: refused")

    SECTIONS.register(planted(check=refuse), before="agreement-table")
    try:
        assert SECTIONS.keys()[-2:] == ["planted", "agreement-table"]
        with pytest.raises(ValueError, match="planted check: refused"):
            build(Options(quick=True), progress=False)
    finally:
        SECTIONS.unregister("planted")
    assert "planted" not in SECTIONS


def test_a_plugin_registers_a_section(tmp_path, monkeypatch):
    """``backprop-report --plugin MODULE``: the module is imported before the build reads the registry."""
    (tmp_path / "planted_plugin.py").write_text(
        "from backprop_reference.reports.sections import SECTIONS\n"
        "from tests.test_sections import planted\n"
        "def refuse(context):\n    raise ValueError('refused by the plugin section')\n"
        "SECTIONS.register(planted('from_plugin', check=refuse), before='agreement-table')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        from backprop_reference.reports.cli import main

        assert main(["--quick", "--quiet", "--plugin", "planted_plugin", "--out", str(tmp_path / "out")]) == 2
        assert "from_plugin" in SECTIONS
    finally:
        if "from_plugin" in SECTIONS:
            SECTIONS.unregister("from_plugin")
        sys.modules.pop("planted_plugin", None)
    assert not (tmp_path / "out" / "report.md").exists()


# --- a build of planted sections -------------------------------------------------------------


@pytest.fixture(scope="module")
def small_registry():
    """The real environment and worked-examples sections (seconds, not a minute), and two planted ones."""
    registry = Registry([SECTIONS["environment"], SECTIONS["seed_examples"]])
    registry.register(planted(rank=15), before="seed_examples")
    registry.register(planted("late", failed=True, rank=99, shown_after="environment"))
    return registry


def test_a_planted_section_reaches_every_output(small_registry, tmp_path):
    report = build(Options(seed=21), progress=False, sections=small_registry)
    write_report(report, tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    data = json.loads((tmp_path / "report.json").read_text())
    assert [s.key for s in report.sections] == ["environment", "late", "planted", "seed_examples"]
    assert '<a id="planted"></a>' in markdown and "## A planted section" in markdown and "- [A planted section](#planted)" in markdown
    assert "Planted intro: the record is 42." in markdown and "Planted table" in markdown and "| record | 42      |" in markdown
    assert "![planted alt text](planted.png)" in markdown and (tmp_path / "planted.png").read_bytes() == PNG
    assert '<section id="planted">' in html and "Planted intro: the record is 42." in html
    assert list(data) == ["schema", "seed", "quick", "environment", "planted", "seed_examples", "late"]
    assert data["planted"] == {"record": 42} and data["seed"] == 21 and "timing" in data["environment"]
    # the headlines by rank; the failed section fails the run but, outside the verdict, not the summary's PASS
    assert report.summary.startswith("PASS: Planted headline 42. 5 printed number(s)")
    assert report.summary.endswith(". Planted headline 42.") and "Machine: " in report.summary
    assert report.failed


def test_a_failure_in_the_verdict_says_fail(small_registry):
    registry = Registry([planted(failed=True, in_verdict=True)])
    report = build(Options(), progress=False, sections=registry)
    assert report.summary == "FAIL: Planted headline 0." and report.failed
    quiet = build(Options(), progress=False, sections=Registry([planted(headline=None)]))
    assert quiet.summary == "PASS:" and not quiet.failed


def test_a_later_section_reads_an_earlier_record():
    reader = planted("reader", compute=lambda context: context.record("planted") + 1, json=lambda record, context: {"reader": record})
    report = build(Options(seed=5), progress=False, sections=Registry([planted(), reader]))
    assert report.data["reader"] == 11
    with pytest.raises(LookupError, match="no record of section 'planted' yet"):
        build(Options(), progress=False, sections=Registry([reader, planted()]))


# --- what the build and the registry refuse ---------------------------------------------------


def test_the_build_refuses_a_section_out_of_its_key_or_a_json_clash():
    wrong = planted(render=lambda record, figures, context: Section("other", "Other", ""))
    with pytest.raises(ValueError, match="section 'planted' \\('A planted section'\\) rendered as 'other' \\('Other'\\)"):
        build(Options(), progress=False, sections=Registry([wrong]))
    clash = planted("second", json=lambda record, context: {"planted": 1})
    with pytest.raises(ValueError, match="section 'second' writes report.json keys already written: \\['planted'\\]"):
        build(Options(), progress=False, sections=Registry([planted(), clash]))
    seed = planted("seed_again", json=lambda record, context: {"seed": 1})
    with pytest.raises(ValueError, match="keys already written: \\['seed'\\]"):
        build(Options(), progress=False, sections=Registry([seed]))


def test_the_registry_refuses_duplicates_and_unknown_places():
    registry = Registry([planted()])
    with pytest.raises(ValueError, match="a section keyed 'planted' is already registered"):
        registry.register(planted())
    with pytest.raises(KeyError, match="no section keyed 'nowhere'"):
        registry.register(planted("b"), before="nowhere")
    with pytest.raises(TypeError, match="section must be a ReportSection"):
        registry.register("planted")
    with pytest.raises(ValueError, match="shown after 'missing', which is not registered"):
        document_order([planted(shown_after="missing")])
    with pytest.raises(ValueError, match="in a loop"):
        document_order([planted("a", shown_after="b"), planted("b", shown_after="a")])
    chain = [planted("a"), planted("b", shown_after="a"), planted("c", shown_after="b"), planted("d"), planted("e", shown_after="a")]
    assert [s.key for s in document_order(chain)] == ["a", "b", "c", "e", "d"]


@pytest.mark.parametrize(("changes", "error", "match"), [
    (dict(seed=-1), ValueError, "seed must be an integer with 0 ≤ seed < 2\\*\\*32"),
    (dict(seed=2**32), ValueError, "seed must be"),
    (dict(device="tpu"), ValueError, "device must be one of 'auto', 'cpu', 'gpu'"),
    (dict(workers=0), ValueError, "workers must be a positive integer"),
    (dict(plugins="mod"), TypeError, "plugins must be a sequence of module names"),
])
def test_options_are_validated(changes, error, match):
    with pytest.raises(error, match=match):
        Options(**changes)


def test_shared_inputs_are_made_once():
    context = Context(Options(quick=True))
    made = []
    assert context.shared("x", lambda: made.append(1) or "value") == context.shared("x", lambda: made.append(2) or "other") == "value"
    assert made == [1] and context.scales == (1.0,)
    assert context.cases is context.cases  # the sweep's cases, drawn once for the agreement and the Taylor sections
