"""Assembling the new package: leadkit's rewritten sheets plus the original's carried parts."""

from __future__ import annotations

import contextlib
import copy
import posixpath
import re
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from lxml import etree

from leadkit.bookio.xlsx.parts import (
    _DXF_ATTRS,
    _WORKBOOK_PARTS,
    CONTENT_TYPES,
    MACRO_MAIN_TYPE,
    NS,
    PKG_RELS,
    SHARED_STRINGS_REL,
    SHARED_STRINGS_TYPE,
    VBA_REL,
    M,
    PackageError,
    _bytes,
    _data_rows,
    _first_row,
    _ints,
    _key,
    _last_row,
    _Package,
    _relative,
    _rels_name,
    _resolve,
    _xml,
)
from leadkit.bookio.xlsx.styles import _Strings, _Styles


class _Merge:
    """The new package being assembled: replaced and added parts over the base package."""

    def __init__(self, new: _Package, old: _Package | None) -> None:
        self.new, self.old = new, old
        self.parts: dict[str, bytes] = {}
        self.copied: dict[str, str] = {}
        self.allocated = set(new.names)
        self.styles: _Styles | None = None
        self.strings = _Strings(old, new) if old is not None else None
        self.sst: bytes | None = None
        self.raw: dict[str, str] = {}  # new name -> old entry copied compressed, unchanged
        self.sheet_trees: dict[str, tuple[etree._Element, str, set[int]]] = {}
        self.fast: set[str] = set()  # parts compressed at the fastest level (a grown sheet)

    # -- names and content types

    def unique(self, name: str) -> str:
        if name not in self.allocated:
            self.allocated.add(name)
            return name
        folder, file = posixpath.split(name)
        match = re.match(r"^(.*?)(\d*)(\.[^.]*)?$", file)
        stem, ext = match.group(1), match.group(3) or ""
        n = int(match.group(2) or 1)
        while True:
            n += 1
            candidate = posixpath.join(folder, f"{stem}{n}{ext}")
            if candidate not in self.allocated:
                self.allocated.add(candidate)
                return candidate

    def set_type(self, name: str, content_type: str | None) -> None:
        if content_type is None:
            return
        types = self.new.types
        for item in types:
            if item.get("PartName", "").lstrip("/") == name:
                item.set("ContentType", content_type)
                return
        ext = name.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(name) else ""
        default = next((d for d in types if d.get("Extension", "").lower() == ext), None)
        if default is not None and default.get("ContentType") == content_type:
            return
        if default is None and ext:
            item = etree.Element(f"{{{CONTENT_TYPES}}}Default")
            item.set("Extension", ext)
            item.set("ContentType", content_type)
            types.insert(0, item)
            return
        etree.SubElement(
            types, f"{{{CONTENT_TYPES}}}Override", PartName="/" + name, ContentType=content_type
        )

    def add_workbook_rel(self, kind: str, part: str) -> str:
        rels = self.new.workbook_rels
        taken = {r.get("Id") for r in rels}
        n = len(rels) + 1
        while f"rId{n}" in taken:
            n += 1
        rel = etree.Element(f"{{{PKG_RELS}}}Relationship")
        rel.set("Id", f"rId{n}")
        rel.set("Type", kind)
        rel.set("Target", _relative(self.new.workbook_part, part))
        rels.append(rel)
        return f"rId{n}"

    # -- parts reached through relationships

    def copy_part(self, old_name: str) -> str:
        """Copy one part of the old package, and all it reaches, under a free name; the new name."""
        assert self.old is not None
        if old_name in self.copied:
            return self.copied[old_name]
        new_name = self.unique(old_name)
        self.copied[old_name] = new_name
        content_type = self.old.content_type(old_name)
        restyled = None
        if content_type and content_type.endswith(".table+xml"):
            restyled = self._restyle_table(self.old.read(old_name), old_name)
        if restyled is not None:
            self.parts[new_name] = restyled
        else:
            self.raw[new_name] = old_name  # copied as stored (an image is not compressed again)
        self.set_type(new_name, content_type)
        self._copy_rels(old_name, new_name)
        return new_name

    def _copy_rels(self, old_name: str, new_name: str) -> None:
        assert self.old is not None
        rels_name = _rels_name(old_name)
        if rels_name not in self.old.names:
            return
        root = _xml(self.old.read(rels_name), rels_name)
        for rel in root:
            if rel.get("TargetMode") == "External":
                continue
            target = _resolve(old_name, rel.get("Target", ""))
            if target in self.old.names:
                rel.set("Target", _relative(new_name, self.copy_part(target)))
        self.parts[_rels_name(new_name)] = _bytes(root)

    def _restyle_table(self, data: bytes, name: str) -> bytes | None:
        """A table part with its dxf indices renumbered; None when they all stay the same."""
        root = _xml(data, name)
        changed = False
        for element in root.iter():
            for attr in _DXF_ATTRS:
                value = element.get(attr)
                if value is not None and value.isdigit():
                    new = str(self.styles_part().dxf(int(value)))
                    changed |= new != value
                    element.set(attr, new)
        return _bytes(root) if changed else None

    def styles_part(self) -> _Styles:
        if self.styles is None:
            assert self.old is not None
            new_part = self.new.related(self.new.workbook_part, "/styles")
            old_part = self.old.related(self.old.workbook_part, "/styles")
            if new_part is None or old_part is None:
                raise PackageError("a book without a styles part")
            self.styles = _Styles(
                _xml(self.new.read(new_part), new_part), _xml(self.old.read(old_part), old_part)
            )
            self._styles_name = new_part
        return self.styles

    # -- sheets

    def read_sheet(self, title: str) -> None:
        """First pass over a carried sheet: parse it and note the shared strings it uses."""
        assert self.old is not None and self.strings is not None
        part = self.old.sheet_part(title)
        root = _xml(self.old.read(part), part)
        used = _ints(root.xpath("m:sheetData/m:row/m:c[@t='s']/m:v/text()", namespaces=NS))
        self.strings.used |= used
        self.sheet_trees[title] = (root, part, used)

    def write_sheet(self, title: str) -> None:
        """Second pass: styles and strings renumbered, the sheet put in place of its placeholder.

        Saved again, a sheet leadkit carried before maps every index to itself: its part is then
        copied compressed, as stored, with no XML written.
        """
        assert self.old is not None and self.strings is not None
        root, old_part, strings_used = self.sheet_trees[title]
        styles = self.styles_part()
        # Old indices in ascending order, so the next save appends them in the same places.
        xfs = {
            i: styles.cell_xf(i)
            for i in sorted(_ints(root.xpath(
                "m:sheetData/m:row/m:c/@s | m:sheetData/m:row/@s | m:cols/m:col/@style",
                namespaces=NS,
            )))
        }  # fmt: skip
        dxfs = {
            i: styles.dxf(i)
            for i in sorted(_ints(root.xpath("m:conditionalFormatting/m:cfRule/@dxfId", namespaces=NS)))
        }  # fmt: skip
        strings = self.strings.mapping
        # leadkit's first sheet is the selected tab; two would group the sheets in Excel.
        selected = root.xpath("m:sheetViews/m:sheetView[@tabSelected]", namespaces=NS)
        new_part = self.new.sheet_part(title)
        same = (
            all(k == v for k, v in xfs.items())
            and all(k == v for k, v in dxfs.items())
            and all(strings[i] == i for i in strings_used)
            and not selected
        )
        if same:
            self.raw[new_part] = old_part
        else:
            for element, attr, mapping in (
                *((e, "s", xfs) for e in root.xpath("m:sheetData/m:row[@s] | m:sheetData/m:row/m:c[@s]", namespaces=NS)),
                *((e, "style", xfs) for e in root.xpath("m:cols/m:col[@style]", namespaces=NS)),
                *((e, "dxfId", dxfs) for e in root.xpath("m:conditionalFormatting/m:cfRule[@dxfId]", namespaces=NS)),
            ):  # fmt: skip
                value = element.get(attr)
                if value.isdigit():
                    element.set(attr, str(mapping[int(value)]))
            for value in root.xpath("m:sheetData/m:row/m:c[@t='s']/m:v", namespaces=NS):
                if value.text and value.text.strip().isdigit():
                    value.text = str(strings[int(value.text)])
            for view in selected:
                del view.attrib["tabSelected"]
            self.parts[new_part] = _bytes(root)
        self._copy_rels(old_part, new_part)
        kind = self.old.content_type(old_part)
        if kind != self.new.content_type(new_part):  # a chart sheet in a worksheet's place
            self.set_type(new_part, kind)
            self.new.sheet_rel(title).set("Type", self.old.sheet_rel(title).get("Type", ""))
        new_sheet = self.new.sheets[self.new.titles.index(title)]
        old_sheet = self.old.sheets[self.old.titles.index(title)]
        if old_sheet.get("state"):
            new_sheet.set("state", old_sheet.get("state"))

    def carry_own_sheet(self, title: str) -> None:
        """One of leadkit's own sheets that has not changed since leadkit wrote it: its part is
        copied compressed, as stored, with no XML parsed (the caller vouches that the stored
        file is leadkit's own last write of these very cells; `own_styles_fit` that every style
        it uses means the same in the new package)."""
        assert self.old is not None
        if self.old.titles.index(title) != self.new.titles.index(title):
            raise PackageError(f"{title}: not in the place it was (its tab selection would move)")
        old_part, new_part = self.old.sheet_part(title), self.new.sheet_part(title)
        self.raw[new_part] = old_part
        self._copy_rels(old_part, new_part)

    def append_own_sheet(self, title: str, rows: int) -> None:
        """One of leadkit's own sheets that only grew since leadkit wrote it (`rows` data rows
        then, unchanged): the new part is the writer's, which has the header and the new rows
        in their places (the old ones it was given empty), with the stored part's rows put
        between them as bytes. The writer numbered and sized it all for the whole sheet
        (dimension, dropdown and highlight ranges), so the XML is that of writing every row."""
        assert self.old is not None
        if self.old.titles.index(title) != self.new.titles.index(title):
            raise PackageError(f"{title}: not in the place it was")
        old_part, new_part = self.old.sheet_part(title), self.new.sheet_part(title)
        old, new = self.old.read(old_part), self.new.read(new_part)
        (old_at, old_rows, old_end), (new_at, new_rows, new_end) = (
            _data_rows(old, title),
            _data_rows(new, title),
        )
        if old[old_at:old_rows] != new[new_at:new_rows]:
            raise PackageError(f"{title}: its header row is not the one stored")
        kept = old[old_rows:old_end]
        last, first = _last_row(kept), _first_row(new[new_rows:new_end])
        if last is None or last > rows + 1 or (first is not None and first <= rows + 1):
            raise PackageError(f"{title}: its stored rows are not the {rows} read")
        self.parts[new_part] = b"".join((new[:new_rows], kept, new[new_rows:]))
        self.fast.add(new_part)
        self._copy_rels(old_part, new_part)

    def own_styles_fit(self) -> bool:
        """Whether the new package's styles are the old book's, one for one: leadkit's writer
        registered the same formats in the same order, so a style index means the same."""
        assert self.old is not None
        new_part = self.new.related(self.new.workbook_part, "/styles")
        old_part = self.old.related(self.old.workbook_part, "/styles")
        if new_part is None or old_part is None:
            return False
        new, old = _xml(self.new.read(new_part), new_part), _xml(self.old.read(old_part), old_part)
        for section in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "dxfs"):
            mine, theirs = new.find(M + section), old.find(M + section)
            mine_items = [] if mine is None else [_key(e) for e in mine]
            their_items = [] if theirs is None else [_key(e) for e in theirs]
            if their_items != mine_items:  # (a book with carried user styles: written anew)
                return False
        return True

    # -- workbook-level things

    def carry_names(self, titles: Sequence[str]) -> None:
        """Defined names: the book's global ones and those local to a carried sheet."""
        assert self.old is not None
        old_names = self.old.workbook.find(f"{M}definedNames")
        if old_names is None:
            return
        new_names = self.new.workbook.find(f"{M}definedNames")
        taken = set()
        if new_names is not None:
            taken = {(n.get("name", "").lower(), n.get("localSheetId")) for n in new_names}
        carried = []
        for name in old_names:
            if not isinstance(name.tag, str) or name.tag != M + "definedName":
                continue
            local = name.get("localSheetId")
            item = copy.deepcopy(name)
            if local is not None:
                if not local.isdigit() or int(local) >= len(self.old.titles):
                    continue
                title = self.old.titles[int(local)]
                if title not in titles:
                    continue  # local to one of leadkit's sheets, which leadkit rewrote
                item.set("localSheetId", str(self.new.titles.index(title)))
            if re.search(r"\[\d+\]", name.text or ""):
                continue  # refers to an external workbook link, which is not carried
            key = (item.get("name", "").lower(), item.get("localSheetId"))
            if key not in taken:
                taken.add(key)
                carried.append(item)
        if not carried:
            return
        if new_names is None:
            new_names = etree.Element(M + "definedNames")
            self.new.workbook.find(f"{M}sheets").addnext(new_names)
        new_names.extend(carried)

    def carry_theme(self) -> None:
        """The old book's theme, which theme colours and fonts of the carried sheets refer to."""
        assert self.old is not None
        old_theme = self.old.related(self.old.workbook_part, "/theme")
        new_theme = self.new.related(self.new.workbook_part, "/theme")
        if old_theme and new_theme and old_theme in self.old.names:
            self.parts[new_theme] = self.old.read(old_theme)

    def carry_workbook_parts(self, kinds: Sequence[str]) -> None:
        """Workbook-level parts the carried sheets point into (the people of threaded comments)."""
        assert self.old is not None
        for rel in self.old.workbook_rels:
            kind = rel.get("Type", "")
            if rel.get("TargetMode") == "External" or not kind.endswith(tuple(kinds)):
                continue
            if self.new.related(self.new.workbook_part, kind.rsplit("/", 1)[-1]) is None:
                part = _resolve(self.old.workbook_part, rel.get("Target", ""))
                if part in self.old.names:
                    self.add_workbook_rel(kind, self.copy_part(part))

    def carry_macros(self) -> bool:
        """The VBA project of an .xlsm and the codeName that ties it to the workbook."""
        assert self.old is not None
        vba = self.old.related(self.old.workbook_part, "/vbaProject")
        if vba is None or vba not in self.old.names:
            return False
        self.add_workbook_rel(VBA_REL, self.copy_part(vba))
        old_pr = self.old.workbook.find(f"{M}workbookPr")
        new_pr = self.new.workbook.find(f"{M}workbookPr")
        if old_pr is not None and old_pr.get("codeName"):
            if new_pr is None:
                new_pr = etree.Element(M + "workbookPr")
                self.new.workbook.find(f"{M}sheets").addprevious(new_pr)
            new_pr.set("codeName", old_pr.get("codeName"))
        return True

    def finish(self, macro_enabled: bool) -> None:
        if self.sst is not None:
            existing = self.new.related(self.new.workbook_part, "/sharedStrings")
            name = existing or self.unique(
                posixpath.join(posixpath.dirname(self.new.workbook_part), "sharedStrings.xml")
            )
            if existing is None:
                self.add_workbook_rel(SHARED_STRINGS_REL, name)
                self.set_type(name, SHARED_STRINGS_TYPE)
            self.parts[name] = self.sst
        if macro_enabled:
            self.set_type(self.new.workbook_part, MACRO_MAIN_TYPE)
        if self.styles is not None:
            self.parts[self._styles_name] = _bytes(self.styles.new)
        self.parts[self.new.workbook_part] = _bytes(self.new.workbook)
        rels = etree.Element(f"{{{PKG_RELS}}}Relationships", nsmap={None: PKG_RELS})
        rels.extend(self.new.workbook_rels)
        self.parts[_rels_name(self.new.workbook_part)] = _bytes(rels)
        self.parts["[Content_Types].xml"] = _bytes(self.new.types)


def _copy_raw(
    src: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile, name: str | None = None
) -> None:
    """Copy one entry as compressed bytes: recompressing a 100k-row sheet costs more than writing it.

    zipfile has no public call for this; it uses the same steps as ZipFile._open_to_write, with
    the CRC and sizes known in advance (so no data descriptor).
    """
    src.fp.seek(info.header_offset)
    header = src.fp.read(30)
    if header[:4] != b"PK\x03\x04":
        raise PackageError(f"{info.filename}: bad local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    src.fp.seek(info.header_offset + 30 + name_len + extra_len)
    data = src.fp.read(info.compress_size)
    out = zipfile.ZipInfo(name or info.filename, info.date_time)
    out.compress_type = info.compress_type
    out.external_attr = info.external_attr or 0o600 << 16
    out.CRC, out.compress_size, out.file_size = info.CRC, info.compress_size, info.file_size
    zip64 = max(info.file_size, info.compress_size) > zipfile.ZIP64_LIMIT
    dst.fp.seek(dst.start_dir)
    out.header_offset = dst.fp.tell()
    dst._writecheck(out)
    dst._didModify = True
    dst.fp.write(out.FileHeader(zip64))
    dst.fp.write(data)
    dst.start_dir = dst.fp.tell()
    dst.filelist.append(out)
    dst.NameToInfo[out.filename] = out


def carryable(source: Path, titles: Sequence[str]) -> list[str]:
    """The titles, among `titles`, that `source` holds as worksheets that can be carried whole."""
    try:
        with zipfile.ZipFile(source) as zf:
            old = _Package(zf)
            if _date1904(old):
                return []  # its date serials would shift by four years in leadkit's 1900 book
            return [t for t in titles if old.can_carry(t)]
    except (zipfile.BadZipFile, PackageError, OSError):
        return []


def _date1904(package: _Package) -> bool:
    pr = package.workbook.find(f"{M}workbookPr")
    return pr is not None and pr.get("date1904") in ("1", "true")


def assemble(
    base: IO[bytes] | Path,
    target: Path,
    *,
    source: Path | None,
    titles: Sequence[str],
    macro_enabled: bool = False,
    own: Sequence[str] = (),
    appended: dict[str, int] | None = None,
) -> None:
    """Write `target`: the package `base` (leadkit's writer, with an empty placeholder sheet for
    each of `titles`), each placeholder replaced by that sheet of `source` as stored there, with
    the parts, styles, strings and names it uses; and the VBA project of `source`, if it has one.

    `own` are leadkit's sheets unchanged since leadkit wrote `source`: copied as stored (see
    `_Merge.carry_own_sheet`); `appended` (title -> rows) those that only grew, their stored
    rows put above the new ones (`_Merge.append_own_sheet`); PackageError if the new styles do
    not fit them.
    """
    with contextlib.ExitStack() as stack:
        zb = stack.enter_context(zipfile.ZipFile(base))
        zs = stack.enter_context(zipfile.ZipFile(source)) if source is not None else None
        new = _Package(zb)
        old = _Package(zs) if zs is not None else None
        merge = _Merge(new, old)
        if own or appended:
            if old is None or not merge.own_styles_fit():
                raise PackageError("leadkit's own sheets were written with other styles")
            for title in own:
                merge.carry_own_sheet(title)
            for title, rows in (appended or {}).items():
                merge.append_own_sheet(title, rows)
        if old is not None:
            for title in titles:
                merge.read_sheet(title)
            merge.sst = merge.strings.build()
            for title in titles:
                merge.write_sheet(title)
            merge.carry_names(titles)
            if titles:
                merge.carry_theme()
                merge.carry_workbook_parts(_WORKBOOK_PARTS)
            if macro_enabled:  # an .xlsx cannot hold macros: Excel refuses the file
                merge.carry_macros()
        merge.finish(macro_enabled)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for info in zb.infolist():
                if info.filename in merge.fast:
                    # a grown sheet is mostly rows compressed before: deflate's fastest level
                    # costs a third of the default's for a file a tenth larger (entry as the
                    # writer's, its date included)
                    entry = zipfile.ZipInfo(info.filename, info.date_time)
                    entry.compress_type, entry.external_attr = (
                        info.compress_type,
                        info.external_attr,
                    )
                    out.writestr(entry, merge.parts.pop(info.filename), compresslevel=1)
                elif info.filename in merge.parts:
                    out.writestr(info.filename, merge.parts.pop(info.filename))
                elif info.filename in merge.raw and zs is not None:
                    old_name = merge.raw.pop(info.filename)
                    _copy_raw(zs, zs.getinfo(old_name), out, info.filename)
                else:
                    _copy_raw(zb, info, out)
            for name, data in merge.parts.items():
                out.writestr(name, data)
            for name, old_name in merge.raw.items():
                assert zs is not None
                _copy_raw(zs, zs.getinfo(old_name), out, name)
