"""Styles and shared strings of two packages merged into one, each index renumbered."""

from __future__ import annotations

import copy

from lxml import etree

from leadkit.bookio.xlsx.parts import _STYLE_SECTIONS, MAIN, M, PackageError, _key, _Package, _xml


class _Styles:
    """The new styles part, with the old book's styles appended as the carried sheets use them.

    Each old style is appended once and only if no identical one is there already, so carrying
    the same sheet save after save does not grow the styles part.
    """

    def __init__(self, new: etree._Element, old: etree._Element) -> None:
        self.new, self.old = new, old
        self.memo: dict[tuple[str, int], int] = {}
        old_fmts = old.find(f"{M}numFmts")
        self.old_fmts = {
            int(f.get("numFmtId", "0")): f.get("formatCode", "")
            for f in (old_fmts if old_fmts is not None else [])
        }

    def section(self, root: etree._Element, name: str, create: bool = False) -> etree._Element:
        found = root.find(M + name)
        if found is None and create:
            found = etree.Element(M + name)
            later = _STYLE_SECTIONS[_STYLE_SECTIONS.index(name) + 1 :]
            after = next((root.find(M + s) for s in later if root.find(M + s) is not None), None)
            if after is None:
                root.append(found)
            else:
                after.addprevious(found)
        return found

    def _append(self, name: str, item: etree._Element) -> int:
        target = self.section(self.new, name, create=True)
        key = _key(item)
        for i, existing in enumerate(target):
            if _key(existing) == key:
                return i
        target.append(item)
        target.set("count", str(len(target)))
        return len(target) - 1

    def _carry(self, name: str, index: int, remap: bool = False) -> int:
        if (name, index) in self.memo:
            return self.memo[(name, index)]
        old = self.section(self.old, name)
        if old is None or not 0 <= index < len(old):
            return 0
        item = copy.deepcopy(old[index])
        if remap:
            self._remap_xf(item)
        result = self._append(name, item)
        self.memo[(name, index)] = result
        return result

    def _remap_xf(self, xf: etree._Element) -> None:
        for attr, section in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
            if xf.get(attr) is not None:
                xf.set(attr, str(self._carry(section, int(xf.get(attr)))))
        if xf.get("numFmtId") is not None:
            xf.set("numFmtId", str(self.num_fmt(int(xf.get("numFmtId")))))
        if xf.get("xfId") is not None:
            xf.set("xfId", str(self.style_xf(int(xf.get("xfId")))))

    def num_fmt(self, fmt_id: int) -> int:
        if fmt_id not in self.old_fmts:
            return fmt_id  # a built-in format: the same id everywhere
        code = self.old_fmts[fmt_id]
        target = self.section(self.new, "numFmts", create=True)
        used = {int(f.get("numFmtId", "0")): f.get("formatCode") for f in target}
        for new_id, new_code in used.items():
            if new_code == code:
                return new_id
        new_id = max([163, *used]) + 1
        etree.SubElement(target, M + "numFmt", numFmtId=str(new_id), formatCode=code)
        target.set("count", str(len(target)))
        return new_id

    def style_xf(self, index: int) -> int:
        """A named cell style (cellStyleXfs): the new book's of the same name, else appended."""
        if ("cellStyleXfs", index) in self.memo:
            return self.memo[("cellStyleXfs", index)]
        names = self.section(self.old, "cellStyles")
        old_style = next(
            (s for s in (names if names is not None else []) if s.get("xfId") == str(index)), None
        )
        new_names = self.section(self.new, "cellStyles")
        if old_style is not None and new_names is not None:
            same = next((s for s in new_names if s.get("name") == old_style.get("name")), None)
            if same is not None:
                self.memo[("cellStyleXfs", index)] = int(same.get("xfId", "0"))
                return self.memo[("cellStyleXfs", index)]
        old = self.section(self.old, "cellStyleXfs")
        if old is None or not 0 <= index < len(old):
            return 0
        item = copy.deepcopy(old[index])
        item.attrib.pop("xfId", None)
        for attr, section in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
            if item.get(attr) is not None:
                item.set(attr, str(self._carry(section, int(item.get(attr)))))
        if item.get("numFmtId") is not None:
            item.set("numFmtId", str(self.num_fmt(int(item.get("numFmtId")))))
        result = self._append("cellStyleXfs", item)
        self.memo[("cellStyleXfs", index)] = result
        if old_style is not None:
            names_new = self.section(self.new, "cellStyles", create=True)
            style = copy.deepcopy(old_style)
            style.set("xfId", str(result))
            names_new.append(style)
            names_new.set("count", str(len(names_new)))
        return result

    def cell_xf(self, index: int) -> int:
        """A cell's style index in the new book for its index in the old one."""
        return self._carry("cellXfs", index, remap=True)

    def dxf(self, index: int) -> int:
        """A conditional format's (or table's) differential style index in the new book."""
        return self._carry("dxfs", index)


class _Strings:
    """The carried sheets' shared strings, renumbered into the new package's shared strings part."""

    def __init__(self, old: _Package, new: _Package) -> None:
        self.old, self.new = old, new
        self.used: set[int] = set()
        self.mapping: dict[int, int] = {}

    def build(self) -> bytes | None:
        """The new shared strings part (None when no carried cell uses one)."""
        if not self.used:
            return None
        part = self.old.related(self.old.workbook_part, "/sharedStrings")
        if part is None:
            raise PackageError("cells use shared strings but the book has none")
        picked: dict[int, bytes] = {}
        with self.old.zf.open(part) as fh:
            items = etree.iterparse(
                fh, events=("end",), tag=M + "si", resolve_entities=False, no_network=True,
                load_dtd=False,
            )  # fmt: skip
            for index, (_, item) in enumerate(items):
                if index in self.used:
                    picked[index] = etree.tostring(item)
                item.clear()
        existing = self.new.related(self.new.workbook_part, "/sharedStrings")
        kept: list[bytes] = []
        if existing is not None:
            root = _xml(self.new.read(existing), existing)
            kept = [etree.tostring(si) for si in root.findall(M + "si")]
        count = len(kept)
        for offset, index in enumerate(sorted(self.used)):
            self.mapping[index] = count + offset
            kept.append(picked.get(index, b"<si><t/></si>"))
        total = len(kept)
        head = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" '
            f'count="{total}" uniqueCount="{total}">'
        ).encode()
        return head + b"".join(kept) + b"</sst>"
