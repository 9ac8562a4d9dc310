"""What every rule model shares: strict models, YAML reading with line numbers, header folding."""

from __future__ import annotations

import re
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from leadkit.errors import RuleError

# Status keys (columns.yaml) of a closed lead: won (成交) and lost (流失).
CLOSED_STATUSES = ("won", "lost")

ColumnType = Literal[
    "text", "int", "number", "money", "datetime", "enum", "phone", "email", "timeline"
]


class Strict(BaseModel):
    """Base for rule models: unknown keys are errors, not silently ignored."""

    # schemas are built on first use: a command validates only the rule files it reads
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区)$")


def short_province(name: str) -> str:
    """'广东省' -> '广东', '广西壮族自治区' -> '广西'."""
    return _PROVINCE_SUFFIX.sub("", name.strip())


_FOLD_DROP = re.compile(r"[\s_\-:：*＊.()（）\[\]【】/\\#]+")


def fold_header(text: str) -> str:
    """Case-, space-, punctuation- and full-width-insensitive form of a header or label."""
    return _FOLD_DROP.sub("", unicodedata.normalize("NFKC", str(text)).casefold())


# ---------------------------------------------------------------------------------------------
# Loading

M = TypeVar("M", bound=BaseModel)


def packaged_dir(name: str) -> Path:
    """A data folder shipped with the package (installed wheel) or beside it (source tree)."""
    installed = resources.files("leadkit") / "_data" / name
    if installed.is_dir():
        return Path(str(installed))
    source = Path(__file__).resolve().parents[2] / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"leadkit's packaged {name}/ folder is missing; reinstall leadkit")


def default_rules_dir() -> Path:
    """The rules/ folder that ships with leadkit."""
    return packaged_dir("rules")


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a 1-based line."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == part:
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
        if node is None:
            break
    return line


# libyaml's safe loader when available (several times faster), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> tuple[Any, str]:
    """Safely parse a YAML file: its data and its text; a syntax error becomes a RuleError with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleError(path, [(None, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise RuleError(path, [(None, f"not UTF-8 text ({exc.reason})")]) from None
    try:
        # the node tree (for line numbers) is composed only when a problem needs one: composing
        # it for every file cost more than loading the data, on every command's start-up
        data = yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise RuleError(path, [(line, f"YAML syntax: {exc.problem}")]) from None
    return data, text


def validate_yaml(path: Path, model: type[M], data: Any, text: str) -> M:
    """Validate parsed YAML against a model, reporting each problem with its line in `text`."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        node = yaml.compose(text, Loader=_LOADER)  # parsed once already, so it parses again
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p not in ("function-after",))
            where = ".".join(str(p) for p in loc) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append((_line_of(node, loc), f"{where}: {msg}"))
        raise RuleError(path, problems) from None


def load_yaml_model(path: Path, model: type[M], *, allow_empty: bool = True) -> M:
    """Read and validate one rule file.

    `allow_empty=False`: a file with nothing in it (or only comments) is a rule error, for files
    whose every setting has a default, where an emptied file would pass silently as "defaults".
    """
    data, text = read_yaml(path)
    if data is None and not allow_empty:
        raise RuleError(path, [(None, (
            "the file is empty (nothing but comments); write its settings back (see README) "
            "or delete the file to use leadkit's defaults"
        ))])  # fmt: skip
    return validate_yaml(path, model, data, text)
