"""Shared helpers: read the tables of a rendered report back out of its HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest


class _Tables(HTMLParser):
    """Collects ``caption → rows of cell texts`` (header row first) and section ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.section_ids: list[str] = []
        self._caption: str | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.section_ids.append(dict(attrs).get("id") or "")
        elif tag == "table":
            self._rows, self._caption = [], ""
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            assert self._caption is not None
            self.tables[self._caption] = self._rows
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self._caption = (self._caption or "") + data
        elif self._cell is not None:
            self._cell.append(data)


def parse_report(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="session")
def read_tables():  # type: ignore[no-untyped-def]
    """``read_tables(page)`` → the parsed tables and section ids of a report page."""
    return parse_report
