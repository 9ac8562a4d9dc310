"""Saved header maps per source, and the `--suggest-map` file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from leadkit.rules.base import fold_header
from leadkit.rules.columns import ColumnsRules
from leadkit.steps.headers.match import HeaderPlan, _how_text

# ---------------------------------------------------------------------------------------------
# Saved maps


@dataclass
class SavedMap:
    """A map a person confirmed (`rules/maps/NAME.yaml`): header -> key, or None to keep extra."""

    path: Path
    columns: dict[str, str | None]

    @cached_property
    def fixed(self) -> dict[str, str | None]:
        return {fold_header(h): k for h, k in self.columns.items()}


def choose_map(
    headers: Sequence[str], maps: Sequence[SavedMap], source: str | None = None
) -> SavedMap | None:
    """The saved map for a sheet: the one named after `--source`, else one naming all its headers.

    Among maps that name every header of the sheet, the one with the fewest other headers wins
    (then the first by file name), so a map made for this very header set beats a broader one.
    """
    if source is not None:
        named = [m for m in maps if fold_header(m.path.stem) == fold_header(source)]
        if named:
            return named[0]
    folded = {fold_header(h) for h in headers}
    covering = [m for m in maps if folded <= set(m.fixed)]
    if not covering:
        return None
    return min(covering, key=lambda m: (len(m.fixed) - len(folded), str(m.path)))


def suggested_map(plans: Sequence[tuple[str, HeaderPlan]], columns: ColumnsRules) -> str:
    """A `--map` YAML of the matcher's choices, every header named, with comments to edit by."""
    spec = columns.sheets["leads"]
    lines = [
        "# leadkit import map: incoming header -> column key (~ keeps the column as an extra one).",
        "# Check each line, then pass it with --map FILE, or save it as rules/maps/NAME.yaml: a",
        "# saved map is used by itself for every sheet whose headers it names (or, named after a",
        "# channel, for `--source NAME`).",
        "columns:",
    ]
    seen: set[str] = set()
    for label, plan in plans:
        lines.append(f"  # {label}")
        for m in plan.matches:
            fold = fold_header(m.header)
            if fold in seen:
                continue
            seen.add(fold)
            header = _yaml_key(m.header)
            if m.key is not None:
                col = spec.by_key.get(m.key)
                shown = f"{col.zh} / {col.en}" if col is not None else m.key
                lines.append(
                    f"  {header}: {m.key}  # {shown}; {_how_text(m.how)}, {m.confidence:.2f}"
                )
            else:
                hint = ""
                if m.guess is not None and m.guess_confidence >= plan.warn_at:
                    hint = f"; looks like {m.guess} ({m.guess_confidence:.2f})"
                    if m.why:
                        hint += f", {m.why}"
                lines.append(f"  {header}: ~  # kept as an extra column{hint}")
    return "\n".join(lines) + "\n"


def _yaml_key(header: str) -> str:
    import json

    # JSON strings are YAML strings: safe for any header ("Phone #", "1、姓名", "a: b")
    return json.dumps(header, ensure_ascii=False)
