"""Form values <-> the text of content files, and file lines -> the form field they concern.

Session-free: the studio turns form fields into the same YAML and Markdown files authors write
by hand, so `lms content check` and the studio validate exactly the same thing."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Loc = tuple[str | int, ...]

_INT_RE = re.compile(r"[+-]?\d+")
_MISSING_RE = re.compile(r"missing required key '([^']+)'(?: in (\S+))?")
_DOTTED_PART_RE = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line prompts and summaries read best as block literals, as authors write them.
    if "\n" in value.strip():
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(data: object) -> str:
    """YAML text in the documented key order (no sorting), UTF-8 kept readable."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


def load_yaml_mapping(text: str) -> dict[str, Any]:
    """The file's top-level mapping, or {} when it does not parse (the check reports why)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def clean_text(value: str) -> str:
    """Browsers send textarea lines with CRLF; files use LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def lines_of(value: str) -> list[str]:
    return [line.strip() for line in clean_text(value).split("\n") if line.strip()]


def number(value: str) -> int | float | str:
    """An int or float from a form field; anything else stays a string, which the check rejects
    with its usual message (so the error appears next to the field)."""
    text = value.strip()
    if _INT_RE.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def day(value: str) -> date | str:
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


# --- module files -------------------------------------------------------------------------------


@dataclass
class ModuleText:
    front: dict[str, Any]
    front_text: str
    body: str
    body_offset: int  # file line of the body's first line, minus one
    is_parsed: bool  # False when the front matter is missing or does not parse


def split_module(text: str) -> ModuleText:
    lines = clean_text(text).removeprefix("\ufeff").splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() == "---":
                front_text = "".join(lines[1:index])
                try:
                    front = yaml.safe_load(front_text)
                except yaml.YAMLError:
                    front = None
                body = "".join(lines[index + 1 :])
                if isinstance(front, dict):
                    return ModuleText(front, front_text, body, index + 1, True)
                return ModuleText({}, front_text, body, index + 1, False)
    return ModuleText({}, "", clean_text(text), 0, False)


def join_module(front: Mapping[str, Any], body: str) -> str:
    body = clean_text(body).strip("\n")
    return f"---\n{dump_yaml(dict(front))}---\n\n{body}\n"


# --- problem locations --------------------------------------------------------------------------


def locate(text: str, line: int) -> Loc:
    """The deepest key path in YAML text that starts at or before `line` (1-based): the key or
    item a problem on that line belongs to; () if none."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return ()
    loc: Loc = ()
    node: Node | None = root
    while node is not None:
        children: list[tuple[str | int, int, Node]] = []
        if isinstance(node, MappingNode):
            children = [
                (str(k.value) if isinstance(k, ScalarNode) else "?", k.start_mark.line + 1, v)
                for k, v in node.value
            ]
        elif isinstance(node, SequenceNode):
            children = [(i, item.start_mark.line + 1, item) for i, item in enumerate(node.value)]
        node = None
        for key, start, child in children:
            if start > line:
                break
            found, node = key, child
        if node is not None:
            loc = (*loc, found)
    return loc


def problem_loc(text: str, line: int, message: str) -> Loc:
    """Where a problem reported at `line` belongs; a missing key belongs to that key."""
    missing = _MISSING_RE.search(message)
    if missing:
        # The message names the parent ("... in approvals[0].cebroker"): more exact than the
        # line, which is the parent's first key.
        return (*undotted(missing.group(2) or ""), missing.group(1))
    return locate(text, line)


def undotted(text: str) -> Loc:
    """The key path of the check's dotted notation: "approvals[0].cebroker" ->
    ("approvals", 0, "cebroker")."""
    return tuple(
        int(m.group(1)) if m.group(1) is not None else m.group(2)
        for m in _DOTTED_PART_RE.finditer(text)
    )


# --- diffs --------------------------------------------------------------------------------------


@dataclass
class DiffRow:
    kind: str  # "added" | "removed" | "same" | "gap"
    old_line: int | None
    new_line: int | None
    text: str


def diff_rows(old: str, new: str, context: int = 3) -> list[DiffRow]:
    """A line diff (difflib) as table rows, with unchanged context and gaps between hunks."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    groups = list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context))
    for number_, group in enumerate(groups):
        if number_ > 0:
            rows.append(DiffRow("gap", None, None, "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [DiffRow("same", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1)]
                continue
            if tag in ("replace", "delete"):
                rows += [DiffRow("removed", i + 1, None, a[i]) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                rows += [DiffRow("added", None, j + 1, b[j]) for j in range(j1, j2)]
    return rows
