"""leadkit: a small sales team's lead pipeline over the Excel/CSV sheets it already keeps."""

__version__ = "0.1.0"
