"""The pipeline's steps: pure functions over the book's frames, one module (or package) per step.

They take and return DataFrames and dataclasses; they never print, exit or open a file they were not given."""
