"""The report in a real headless browser (Debian's chromium): it loads without console or
script errors, every section is there, and every chart is drawn with a visible size.

Skipped when chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ecrm.datasets import sample_shop
from ecrm.report import Report, build_report, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
    "--virtual-time-budget=5000",
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path]:
    shop = sample_shop(500, seed=1)
    report = build_report(shop.orders, as_of=shop.as_of, customers=shop.customers,
                          events=shop.events, store_name=shop.store_name, source="sample")
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return report, path


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root: dict[str, str | None] = {}
        self.sections: list[str] = []
        self.figures = 0
        self.svgs_in_figures = 0
        self._in_figure = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.root = a
        elif tag == "section":
            self.sections.append(a.get("id") or "")
        elif tag == "figure" and "chart" in (a.get("class") or ""):
            self.figures += 1
            self._in_figure = True
        elif tag == "svg" and self._in_figure:
            self.svgs_in_figures += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._in_figure = False


def test_loads_without_errors_and_every_chart_is_visible(page: tuple[Report, Path],
                                                         tmp_path: Path) -> None:
    report, path = page
    proc = _chromium(tmp_path, "--window-size=1280,2000", "--dump-dom", path.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _Dom()
    dom.feed(proc.stdout)
    n_charts = len(report.charts)
    assert n_charts >= 6
    assert dom.sections == [s.key for s in report.sections]
    assert dom.figures == dom.svgs_in_figures == n_charts
    # written by the page's script after load: errors seen, charts found, charts with a size
    assert dom.root.get("data-js-errors") == "0"
    assert dom.root.get("data-charts") == str(n_charts)
    assert dom.root.get("data-charts-visible") == str(n_charts)
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert console == []  # no console messages at all (errors, CSP violations, …)
    assert "Refused to" not in proc.stderr  # no CSP violation


def test_screenshot_shows_the_charts(page: tuple[Report, Path], tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    _, path = page
    shot = tmp_path / "shot.png"
    proc = _chromium(tmp_path, "--window-size=1280,9000", f"--screenshot={shot}", path.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    with image.open(shot) as im:
        rgb = im.convert("RGB")
        width, height = rgb.size
        # the bar colour of the charts (#3b6ea8) must appear in many places down the page
        bands = set()
        data = rgb.load()
        assert data is not None
        for y in range(0, height, 4):
            for x in range(0, width, 8):
                r, g, b = data[x, y][:3]
                if abs(r - 0x3B) < 12 and abs(g - 0x6E) < 12 and abs(b - 0xA8) < 12:
                    bands.add(y // 400)
    assert len(bands) >= 4, f"chart bars found only in bands {sorted(bands)}"


def test_a_script_error_would_be_caught(tmp_path: Path) -> None:
    """The error counter works: a page whose script throws reports it (guards the check)."""
    from ecrm.report._html import _SCRIPT

    bad = tmp_path / "bad.html"
    bad.write_text(f"<!DOCTYPE html><html data-js-errors=\"0\"><head><script>{_SCRIPT}"
                   "</script><script>window.addEventListener('load',function(){"
                   "undefinedFunction();});</script></head><body></body></html>",
                   encoding="utf-8")
    proc = _chromium(tmp_path, "--dump-dom", bad.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r'data-js-errors="1"', proc.stdout)
    assert "CONSOLE" in proc.stderr  # and chromium logs it where the other test looks
    assert "undefinedFunction is not defined" in proc.stderr


def test_the_page_policy_blocks_injected_scripts(page: tuple[Report, Path],
                                                 tmp_path: Path) -> None:
    """Defence in depth: even a script that slipped past escaping would not run."""
    _, path = page
    text = path.read_text(encoding="utf-8").replace(
        "<main>", "<main><script>document.title='pwned';</script>", 1)
    injected = tmp_path / "injected.html"
    injected.write_text(text, encoding="utf-8")
    proc = _chromium(tmp_path, "--dump-dom", injected.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<title>pwned</title>" not in proc.stdout
    assert "Content Security Policy" in proc.stderr
