"""docs/api.md is the public API as the code has it: regenerating it changes nothing.

Also the two parsers behind it, on hand-written docstrings: the summary line and the
``versionadded`` / ``versionchanged`` / ``deprecated`` notes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _apidoc() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ecrm_tools_apidoc", ROOT / "tools" / "apidoc.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_api_page_is_up_to_date() -> None:
    apidoc = _apidoc()
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    # on failure: PYTHONPATH=src python tools/apidoc.py, and commit docs/api.md
    assert apidoc.render() == committed
    assert apidoc.main(["--check"]) == 0


def test_every_public_name_has_a_row_under_its_package() -> None:
    import ecrm.rfm
    import ecrm.touch.flows

    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for module in (ecrm.rfm, ecrm.touch.flows):
        section = page.split(f"\n## {module.__name__}\n", 1)[1].split("\n## ", 1)[0]
        rows = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
        assert rows == list(module.__all__)


def test_the_index_links_the_api_page() -> None:
    assert "(api.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")


DOC = """Split the scored customers into the eight classic RFM segments, against
a reference (:func:`score` | its mean).

Args:
    result: an ``RfmResult``.

.. versionadded:: 0.1.0

.. versionchanged:: 0.2.0
   Renamed from ``segments``; the old
   name warns.

Returns:
    A table.
"""


def test_the_summary_is_the_first_paragraph_on_one_line_in_markdown() -> None:
    assert _apidoc().summary(DOC) == (
        "Split the scored customers into the eight classic RFM segments, against a reference "
        "(`score` \\| its mean)."
    )
    assert _apidoc().summary(None) == ""


def test_a_long_summary_is_cut_at_its_first_sentence() -> None:
    text = "First sentence here. " + "and more words " * 20
    assert _apidoc().summary(text) == "First sentence here."


def test_version_notes_are_read_with_their_indented_text() -> None:
    assert list(_apidoc().version_notes(DOC)) == [
        ("versionadded", "0.1.0", ""),
        ("versionchanged", "0.2.0", "Renamed from ``segments``; the old name warns."),
    ]
    assert list(_apidoc().version_notes(".. deprecated:: 0.1.0 Use ``b``.")) == [
        ("deprecated", "0.1.0", "Use ``b``.")]


def test_the_page_lists_each_package_s_deprecated_names_with_their_replacement() -> None:
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")

    def section(name: str) -> str:
        return page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]

    assert "- `segments` → `ecrm.rfm.classic_segments`" in section("ecrm.rfm")
    assert "- `Channel` → `ecrm.service.TicketChannel`" in section("ecrm.service")
    assert ("- `high_potential_returning` → `ecrm.touch.flows.high_potential_returners`"
            in section("ecrm.touch.flows"))
    assert "- `mask_phone` → `ecrm.mask_phone`" in section("ecrm.touch")
    assert "- `Progress` → `ecrm.Progress`" in section("ecrm.report")
    assert "Deprecated names" not in section("ecrm.predict")  # nothing renamed there
