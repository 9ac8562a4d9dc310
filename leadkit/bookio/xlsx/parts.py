"""The parts of an .xlsx package and the XML helpers every carrier uses."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

from lxml import etree

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
SHARED_STRINGS_REL = REL_NS + "/sharedStrings"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
MACRO_MAIN_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
M = f"{{{MAIN}}}"
NS = {"m": MAIN}
R_ID = f"{{{REL_NS}}}id"

# Relationship kinds a sheet can have that point outside its own part graph (the workbook keeps
# the pivot caches): such a sheet is written from its values instead.
_UNCARRIED_RELS = ("/pivotTable",)
# Workbook-level parts that carried sheets refer to by id, carried with them.
_WORKBOOK_PARTS = ("/person",)
# Attributes of table parts that index the styles part's dxfs.
_DXF_ATTRS = (
    "dxfId", "headerRowDxfId", "dataDxfId", "totalsRowDxfId", "headerRowBorderDxfId",
    "tableBorderDxfId", "totalsRowBorderDxfId",
)  # fmt: skip
# The order of a styles part's sections (CT_Stylesheet), for adding one that is missing.
_STYLE_SECTIONS = (
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
    "tableStyles", "colors", "extLst",
)  # fmt: skip

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=False
)


class PackageError(Exception):
    """The old book cannot give its sheets as parts (not a package leadkit can read this way)."""


def _xml(data: bytes, name: str) -> etree._Element:
    try:
        tree = etree.parse(io.BytesIO(data), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise PackageError(f"{name}: not well-formed XML ({exc})") from None
    if tree.docinfo.doctype:
        raise PackageError(f"{name}: has a DTD (refused: entity expansion)")
    return tree.getroot()


def _ints(values: list) -> set[int]:
    return {int(v) for v in values if str(v).strip().isdigit()}


def _key(element: etree._Element) -> bytes:
    """An element as canonical XML, namespaces it does not use left out: equal if the same."""
    return etree.tostring(element, method="c14n", exclusive=True)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))


def _relative(part: str, target: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(part) or ".")


class _Package:
    """One .xlsx/.xlsm package read: its parts, content types, workbook and sheets by title."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.names = set(zf.namelist())
        self.types = _xml(self.read("[Content_Types].xml"), "[Content_Types].xml")
        office = [r for r in self.rels("") if r.get("Type", "").endswith("/officeDocument")]
        if not office:
            raise PackageError("no workbook in the package")
        self.workbook_part = _resolve("", office[0].get("Target", ""))
        self.workbook = _xml(self.read(self.workbook_part), self.workbook_part)
        if self.workbook.tag != M + "workbook":
            raise PackageError("not a transitional SpreadsheetML workbook (Strict Open XML?)")
        self.workbook_rels = self.rels(self.workbook_part)
        self.sheets = self.workbook.findall(f"{M}sheets/{M}sheet")
        self.titles = [s.get("name", "") for s in self.sheets]

    def read(self, name: str) -> bytes:
        try:
            return self.zf.read(name)
        except KeyError:
            raise PackageError(f"part {name} is missing") from None

    def rels(self, part: str) -> list[etree._Element]:
        name = _rels_name(part) if part else "_rels/.rels"
        if name not in self.names:
            return []
        return list(_xml(self.read(name), name))

    def related(self, part: str, kind: str) -> str | None:
        rels = self.workbook_rels if part == self.workbook_part else self.rels(part)
        for rel in rels:
            if rel.get("Type", "").endswith(kind) and rel.get("TargetMode") != "External":
                return _resolve(part, rel.get("Target", ""))
        return None

    def sheet_rel(self, title: str) -> etree._Element:
        rid = self.sheets[self.titles.index(title)].get(R_ID)
        for rel in self.workbook_rels:
            if rel.get("Id") == rid:
                return rel
        raise PackageError(f"sheet {title!r} has no part")

    def sheet_part(self, title: str) -> str:
        return _resolve(self.workbook_part, self.sheet_rel(title).get("Target", ""))

    def can_carry(self, title: str) -> bool:
        """Whether this package holds the sheet as a part that can be carried whole."""
        if title not in self.titles:
            return False
        part = self.sheet_part(title)
        kind = self.content_type(part) or ""
        if part not in self.names or not kind.endswith(("worksheet+xml", "chartsheet+xml")):
            return False  # a dialog or macro sheet, or a part that is not there
        kinds = [r.get("Type", "") for r in self.rels(part)]
        return not any(k.endswith(u) for k in kinds for u in _UNCARRIED_RELS)

    def content_type(self, name: str) -> str | None:
        for item in self.types:
            if item.get("PartName", "").lstrip("/") == name:
                return item.get("ContentType")
        ext = name.rsplit(".", 1)[-1].lower()
        for item in self.types:
            if item.get("Extension", "").lower() == ext:
                return item.get("ContentType")
        return None


_ROW = re.compile(rb'<row r="(\d+)"')


def _data_rows(part: bytes, title: str) -> tuple[int, int, int]:
    """Where a sheet part's sheetData starts, its rows below the header start and it ends.

    leadkit's writer puts no row attributes or text that could hold these markers (text has its
    '<' escaped), so a search finds them."""
    start = part.find(b"<sheetData>")
    end = part.rfind(b"</sheetData>")
    header_end = part.find(b"</row>", start)
    if start < 0 or end < 0 or header_end < 0 or not part.startswith(b'<row r="1"', start + 11):
        raise PackageError(f"{title}: not a sheet as leadkit writes it")
    return start, header_end + 6, end


def _first_row(rows: bytes) -> int | None:
    match = _ROW.match(rows)
    return int(match.group(1)) if match else None


def _last_row(rows: bytes) -> int | None:
    at = rows.rfind(b'<row r="')
    return _first_row(rows[at:]) if at >= 0 else None
