from __future__ import annotations

import os
from pathlib import Path

import leadkit
from leadkit.rules.base import default_rules_dir, load_yaml_model, packaged_dir
from leadkit.rules.columns import ColumnsRules


def test_rules_and_samples_ship_with_the_package():
    rules = default_rules_dir()
    assert (
        load_yaml_model(rules / "columns.yaml", ColumnsRules).sheets["leads"].keys[0] == "lead_id"
    )
    samples = packaged_dir("samples")
    assert {"website_form.csv", "trade_show.xlsx", "partner_referral.xlsx", "roster.yaml"} <= {
        p.name for p in samples.iterdir()
    }
    if os.environ.get("LEADKIT_EXPECT_INSTALLED"):
        # CI installs a built wheel: the data must come from inside the package, not the checkout
        package = Path(leadkit.__file__).resolve().parent
        assert rules == package / "_data" / "rules"
        assert "site-packages" in str(package)
    # the division table the company key drops regions by (read from the package, not rules/)
    table = Path(leadkit.__file__).resolve().parent / "data" / "regions_cn.csv"
    assert table.read_text(encoding="utf-8").startswith("adcode,level,name,short\n")


def test_the_floor_file_pins_every_dependency_at_its_lower_bound():
    import re
    import tomllib

    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        return  # an installed package without its source tree: nothing to compare
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    bounds = {}
    for spec in declared["project"]["dependencies"]:
        name, low = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", spec.strip()).groups()
        bounds[name.lower()] = low
    pinned = {}
    for line in (root / ".ci" / "floor.txt").read_text(encoding="utf-8").split():
        name, version = line.split("==")
        pinned[name.lower()] = version

    def release(version: str) -> tuple[int, ...]:  # 3, 3.0 and 3.0.0 are one release
        parts = [int(p) for p in version.split(".")]
        while parts and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    assert {n: release(v) for n, v in pinned.items()} == {n: release(v) for n, v in bounds.items()}
