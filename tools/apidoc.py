"""Write docs/api.md: ecrm's public API by package, from each ``__all__`` and the docstrings.

Usage (from the repository root)::

    PYTHONPATH=src python tools/apidoc.py           # rewrite docs/api.md
    PYTHONPATH=src python tools/apidoc.py --check   # exit 1 when docs/api.md is stale

Every public package and module (no ``_`` in its dotted path) is one section: its docstring's
summary, then one row per name in ``__all__`` with its kind and its docstring's summary. A
name that another package owns (``ecrm.tiers.LadderErrorGroup`` is ``ecrm.errors``') points
there. Old names a package still serves with a DeprecationWarning (from its ``__getattr__``)
are listed under it with their replacement. Version notes come from ``.. versionadded:: X`` and ``.. versionchanged:: X``
directives in the docstrings of the names and of their methods, so a note written next to
the code shows up in the page; they are listed at the end by version, newest first.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import pkgutil
import re
import sys
import types
import typing
import warnings
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api.md"

_DIRECTIVE = re.compile(r"^\.\. (versionadded|versionchanged|deprecated):: *(\S+)\s*(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.。])\s")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_DOTTED = re.compile(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)")
_MAX_SUMMARY = 160


def public_modules() -> list[str]:
    """Every public package and module of ecrm, sorted (``ecrm`` first)."""
    import ecrm

    names = ["ecrm"]
    for info in pkgutil.walk_packages(ecrm.__path__, "ecrm."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def summary(doc: str | None) -> str:
    """The first paragraph of ``doc`` on one line (its first sentence when long)."""
    if not doc:
        return ""
    paragraph = " ".join(line.strip() for line in doc.strip().split("\n\n")[0].splitlines())
    if len(paragraph) > _MAX_SUMMARY:
        paragraph = _SENTENCE_END.split(paragraph, maxsplit=1)[0]
    return markdown(paragraph)


def markdown(text: str) -> str:
    """reStructuredText bits of a docstring as Markdown (roles and ``literals``), table-safe."""
    return _ROLE.sub(r"`\1`", text).replace("``", "`").replace("|", "\\|")


def constant_text(value: Any) -> str:
    """A constant's value when it is short and plain, else its type."""
    if isinstance(value, str | int | float) and len(repr(value)) <= 60:
        return f"`{value!r}`"
    return f"a `{type(value).__name__}`"


def version_notes(doc: str | None) -> Iterator[tuple[str, str, str]]:
    """``(kind, version, text)`` for each version directive in ``doc``.

    The text is the directive's own line and its indented continuation, on one line.
    """
    lines = (doc or "").splitlines()
    for i, line in enumerate(lines):
        found = _DIRECTIVE.match(line.strip())
        if not found:
            continue
        kind, version, text = found.groups()
        indent = len(line) - len(line.lstrip())
        body = [text] if text else []
        for more in lines[i + 1:]:
            if not more.strip() or len(more) - len(more.lstrip()) <= indent:
                break
            body.append(more.strip())
        yield kind, version, " ".join(body)


def is_alias(value: Any) -> bool:
    """Whether ``value`` is a type alias (``Send | Defer | Skip``, ``Callable[...]``)."""
    return isinstance(value, types.UnionType) or typing.get_origin(value) is not None


def alias_text(value: Any) -> str:
    """A type alias written out, without module paths."""
    written = _DOTTED.sub(r"\1", str(value))
    return markdown(f"`{written}`")


def kind_of(value: Any) -> str:
    """A short word for what a public name is."""
    if is_alias(value):
        return "type alias"
    if inspect.ismodule(value):
        return "module"
    if inspect.isclass(value):
        if issubclass(value, Warning):
            return "warning"
        if issubclass(value, BaseException):
            return "exception"
        if issubclass(value, enum.Enum):
            return "enum"
        if getattr(value, "_is_protocol", False):
            return "protocol"
        return "class"
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return "function"
    if callable(value) and not isinstance(value, type):
        return "callable"
    return "constant"


def _documented(value: Any) -> bool:
    return inspect.isclass(value) or inspect.isfunction(value) or inspect.ismodule(value)


def _owner(value: Any, name: str, here: str, modules: dict[str, Any]) -> str | None:
    """The public module that owns ``value`` when it is not ``here`` (a re-export)."""
    home = getattr(value, "__module__", None)
    if not _documented(value) or not isinstance(home, str) or home == here:
        return None
    owner = modules.get(home)
    if owner is not None and name in getattr(owner, "__all__", ()):
        return home
    return None


def _members(value: Any) -> Iterator[tuple[str, Any]]:
    """A class's own public methods and properties (for their version notes)."""
    if not inspect.isclass(value):
        return
    for attr, member in vars(value).items():
        if attr.startswith("_"):
            continue
        if isinstance(member, classmethod | staticmethod):
            member = member.__func__
        if isinstance(member, property):
            member = member.fget
        if inspect.isfunction(member):
            yield attr, member


def _candidates(modules: dict[str, Any]) -> set[str]:
    """Strings a module keeps in private tables: the old names its ``__getattr__`` may know."""
    found: set[str] = set()
    for module in modules.values():
        for attr, table in vars(module).items():
            if not attr.startswith("_") or attr.startswith("__"):
                continue
            if isinstance(table, Mapping | tuple | frozenset | set):
                found |= {key for key in table if isinstance(key, str) and key.isidentifier()}
    return found


def deprecated_names(module: Any, candidates: set[str]) -> list[tuple[str, str]]:
    """``(old name, warning text)`` for each name ``module`` resolves with a DeprecationWarning.

    Old names are not in ``__all__``; a module serves them from ``__getattr__`` for one
    release. Asking for each candidate and keeping those that warn finds them all, whatever
    table the module keeps them in.
    """
    names = []
    for name in sorted(candidates - set(vars(module))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                getattr(module, name)
            except AttributeError:
                continue
        texts = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
        if texts:
            names.append((name, texts[0]))
    return names


def render() -> str:
    """The text of docs/api.md."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # importing optional parts must not change the page
        modules = {name: importlib.import_module(name) for name in public_modules()}
    out = [
        "# API reference",
        "",
        "The public names of ecrm by package: each package's `__all__`, what each name is and",
        "the first line of its docstring. Everything else (modules and names starting with `_`)",
        "is private and may change without notice. This page is generated by",
        "`PYTHONPATH=src python tools/apidoc.py` from the code; a test fails when it is stale.",
        "",
        "Version notes (`.. versionadded:: 0.1.0`, `.. versionchanged:: 0.1.0` and",
        "`.. deprecated::` in a docstring, on a name or on one of its methods) are collected in",
        "[Version notes](#version-notes) at the end: write them next to the code from now on.",
        "Old names that still work for one release are listed under their package.",
        "",
        "Packages: " + ", ".join(f"[`{n}`](#{n.replace('.', '')})" for n in modules) + ".",
        "",
    ]
    notes: dict[str, list[str]] = defaultdict(list)
    candidates = _candidates(modules)
    for module_name, module in modules.items():
        names = list(getattr(module, "__all__", ()))
        out += [f"## {module_name}", "", summary(module.__doc__) or "(no docstring)", ""]
        if not names:
            out += ["No public names (it is run, not imported).", ""]
            continue
        out += ["| name | kind | summary |", "|---|---|---|"]
        for name in names:
            value = getattr(module, name)
            kind = kind_of(value)
            owner = _owner(value, name, module_name, modules)
            if owner is not None:
                text = f"see `{owner}.{name}`"
            elif is_alias(value):
                text = alias_text(value)
            elif _documented(value):
                text = summary(inspect.getdoc(value))
            else:
                text = constant_text(value)
            out.append(f"| `{name}` | {kind} | {text} |")
            if owner is None and _documented(value):
                path = f"{module_name}.{name}"
                for note in version_notes(inspect.getdoc(value)):
                    notes[note[1]].append(_note_line(path, *note))
                for attr, member in _members(value):
                    for note in version_notes(inspect.getdoc(member)):
                        notes[note[1]].append(_note_line(f"{path}.{attr}", *note))
        out.append("")
        old = deprecated_names(module, candidates)
        if old:
            out += ["Deprecated names (they still work, with a `DeprecationWarning`, until the "
                    "next release):", ""]
            out += [f"- `{name}` → {_replacement(text)}" for name, text in old]
            out.append("")
    out += ["## Version notes", ""]
    if not notes:
        out += ["None yet.", ""]
    for version in sorted(notes, key=_version_key, reverse=True):
        out += [f"### {version}", "", *sorted(notes[version]), ""]
    return "\n".join(out).rstrip("\n") + "\n"


_USE = re.compile(r"(?:; use | moved to )(?P<new>\S+?)(?:;|$)")


def _replacement(warning: str) -> str:
    """What a deprecation warning says to use instead (the whole text when it says it
    otherwise)."""
    found = _USE.search(warning)
    return f"`{found['new']}`" if found else markdown(warning)


def _note_line(path: str, kind: str, version: str, text: str) -> str:
    word = {"versionadded": "added", "versionchanged": "changed", "deprecated": "deprecated"}
    return markdown(f"- `{path}` ({word[kind]}): {text}".rstrip(": "))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.\-]", version))


def main(argv: list[str] | None = None) -> int:
    """Write docs/api.md, or with ``--check`` say whether it is up to date (exit 1 if not)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when docs/api.md differs from the code")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run PYTHONPATH=src python tools/apidoc.py",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
