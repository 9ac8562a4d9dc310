"""The pipeline order, defined once: the way a lead goes through leadkit, command by command.

`run` runs its steps in this order, `leadkit --help` lists the commands in it, and the demo follows it.
"""

from __future__ import annotations

# a lead's way: in, merged with its duplicates, its company filled in, scored (by a model trained
# on the closed ones too), assigned or claimed from the pool, followed up, recycled when neglected,
# reminded of, reported on
PIPELINE = (
    "import", "dedupe", "enrich", "train", "score", "assign", "claim", "log", "recycle", "due",
    "report",
)  # fmt: skip
# what `leadkit run` can do in one pass over the book
RUN_STEPS = ("import", "dedupe", "score", "assign", "recycle", "due", "report")
# before the pipeline: a workspace and its template; around it: checking, running it from cron,
# mending (undo/redo) and the demo
SETUP = ("init", "template")
AROUND = ("check", "run", "cron", "undo", "redo", "demo")
COMMANDS = SETUP + PIPELINE + AROUND


def follows(names: list[str] | tuple[str, ...]) -> bool:
    """Whether `names` (steps, repeats allowed) come in pipeline order."""
    places = [PIPELINE.index(n) for n in names]
    return places == sorted(places)
