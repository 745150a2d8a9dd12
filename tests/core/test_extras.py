"""Each optional extra holds only packages ecrm imports at run time (tools go in dev/bench)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: distribution name -> the top-level module ecrm imports from it
IMPORT_NAME = {
    "alibabacloud-dysmsapi20170525": "alibabacloud_dysmsapi20170525",
    "tencentcloud-sdk-python-sms": "tencentcloud",
    "pyarrow": "pyarrow",
}
TOOLING = {"dev", "bench"}
#: needed at run time although ecrm does not import it itself
USED_BY_USERS = {
    "distributed",  # the scheduler a dask extra user runs ecrm's graphs on past one machine
}


def _requirement_name(req: str) -> str:
    return re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]


def test_every_runtime_extra_is_imported_by_the_package() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    for extra, requirements in extras.items():
        if extra in TOOLING:
            continue
        for req in requirements:
            name = _requirement_name(req)
            if name in USED_BY_USERS:
                continue
            module = IMPORT_NAME.get(name, name.replace("-", "_"))
            # a plain import, or a lazy import_module("module") / import_sdk("module.sub", ...)
            quoted = rf"(import_module|import_sdk)\(\"{re.escape(module)}[.\"]"
            pattern = rf"^\s*(import|from) {re.escape(module)}\b|{quoted}"
            assert re.search(pattern, source, re.M), f"extra {extra!r}: nothing imports {name}"
