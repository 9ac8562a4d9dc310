"""The rule files of a workspace (or the packaged defaults), each loaded and validated on first use."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from leadkit.rules.base import M, default_rules_dir, load_yaml_model
from leadkit.rules.columns import ColumnsRules, RegionsRules
from leadkit.rules.dedupe import DedupeRules
from leadkit.rules.enrich import EnrichConfig
from leadkit.rules.followup import FollowupRules
from leadkit.rules.pool import PoolRules
from leadkit.rules.report import ChannelsRules, ReportRules
from leadkit.rules.routing import RoutingRules
from leadkit.rules.scoring import ScoringRules


class Rules:
    """The rule files of a workspace (or the packaged defaults), loaded on first use."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or default_rules_dir()

    def _file(self, name: str) -> Path:
        own = self.folder / name
        # A workspace made before a rule file existed falls back to the packaged default.
        return own if own.exists() else default_rules_dir() / name

    @cached_property
    def columns(self) -> ColumnsRules:
        return load_yaml_model(self._file("columns.yaml"), ColumnsRules)

    @cached_property
    def regions(self) -> RegionsRules:
        return load_yaml_model(self._file("regions.yaml"), RegionsRules)

    @cached_property
    def dedupe(self) -> DedupeRules:
        """`dedupe.yaml`."""
        return load_yaml_model(self._file("dedupe.yaml"), DedupeRules)

    @cached_property
    def enrich(self) -> EnrichConfig:
        """`enrich.yaml`."""
        return load_yaml_model(self._file("enrich.yaml"), EnrichConfig, allow_empty=False)

    @cached_property
    def scoring(self) -> ScoringRules:
        """`scoring.yaml`."""
        return load_yaml_model(self._file("scoring.yaml"), ScoringRules)

    @cached_property
    def routing(self) -> RoutingRules:
        """`routing.yaml`."""
        return load_yaml_model(self._file("routing.yaml"), RoutingRules)

    @cached_property
    def pool(self) -> PoolRules:
        """`pool.yaml`."""
        return load_yaml_model(self._file("pool.yaml"), PoolRules)

    @cached_property
    def followup(self) -> FollowupRules:
        """`followup.yaml`."""
        return load_yaml_model(self._file("followup.yaml"), FollowupRules)

    @cached_property
    def report(self) -> ReportRules:
        """`report.yaml`."""
        return load_yaml_model(self._file("report.yaml"), ReportRules, allow_empty=False)

    @cached_property
    def channels(self) -> ChannelsRules:
        """`channels.yaml`."""
        return load_yaml_model(self._file("channels.yaml"), ChannelsRules, allow_empty=False)

    def load(self, path: Path, model: type[M]) -> M:
        """Load an extra rule file (e.g. a one-off `--map`)."""
        return load_yaml_model(path, model)
