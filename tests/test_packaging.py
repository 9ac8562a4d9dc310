from __future__ import annotations

import os
from pathlib import Path

import leadkit
from leadkit.rules import ColumnsRules, default_rules_dir, load_yaml_model, packaged_dir


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
