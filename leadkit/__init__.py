"""leadkit: a small sales team's lead pipeline over the Excel/CSV sheets it already keeps.

`leadkit.pipeline` is the library (one function per command), `leadkit.cli` the command line.
"""

__version__ = "0.1.0"
