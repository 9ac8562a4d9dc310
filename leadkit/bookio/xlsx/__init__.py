"""The .xlsx package carried through a rewrite: the user's sheets, styles and parts as they were.

leadkit's own sheets come from the writer; everything else is copied from the original file."""

from leadkit.bookio.xlsx.merge import assemble, carryable
from leadkit.bookio.xlsx.parts import (
    CONTENT_TYPES,
    MACRO_MAIN_TYPE,
    MAIN,
    NS,
    PKG_RELS,
    R_ID,
    REL_NS,
    SHARED_STRINGS_REL,
    SHARED_STRINGS_TYPE,
    VBA_REL,
    M,
    PackageError,
)

__all__ = [
    "CONTENT_TYPES",
    "MACRO_MAIN_TYPE",
    "MAIN",
    "NS",
    "PKG_RELS",
    "REL_NS",
    "R_ID",
    "SHARED_STRINGS_REL",
    "SHARED_STRINGS_TYPE",
    "VBA_REL",
    "M",
    "PackageError",
    "assemble",
    "carryable",
]
