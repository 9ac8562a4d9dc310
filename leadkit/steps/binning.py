"""Naive Bayes' view of a lead: each field as a small integer code (its own module so that
scikit-learn is imported only by the commands that train or predict)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class Binner(BaseEstimator, TransformerMixin):
    """Fields to small integer codes for naive Bayes, as Odoo's lead scoring counts field values.

    Numbers fall in quantile bins (a missing number is a bin of its own); text keeps its frequent
    values, the rest (and values never seen) share one code.
    """

    def __init__(self, categorical: list[str] | None = None, bins: int = 5, top: int = 30) -> None:
        self.categorical = categorical
        self.bins = bins
        self.top = top

    def fit(self, x: pd.DataFrame, y: Any = None) -> Binner:
        cats = set(self.categorical or [])
        self.columns_ = list(x.columns)
        self.edges_: dict[str, np.ndarray] = {}
        self.values_: dict[str, list[str]] = {}
        for c in self.columns_:
            if c in cats:
                counts = x[c].astype(str).value_counts()
                self.values_[c] = counts[counts >= 3].index[: self.top].tolist()
            else:
                v = pd.to_numeric(x[c], errors="coerce").to_numpy(dtype=float)
                v = v[~np.isnan(v)]
                qs = np.linspace(0, 1, self.bins + 1)[1:-1]
                self.edges_[c] = np.unique(np.quantile(v, qs)) if len(v) else np.array([])
        return self

    @property
    def codes_(self) -> int:
        """How many codes a column can take at most."""
        return max(self.bins + 1, self.top + 1)

    def transform(self, x: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(x), len(self.columns_)), dtype=int)
        for j, c in enumerate(self.columns_):
            if c in self.values_:
                known = self.values_[c]
                code = pd.Index(known).get_indexer(x[c].astype(str))
                out[:, j] = np.where(code < 0, len(known), code)
            else:
                v = pd.to_numeric(x[c], errors="coerce").to_numpy(dtype=float)
                code = np.searchsorted(self.edges_[c], v, side="right")
                out[:, j] = np.where(np.isnan(v), self.bins, code)
        return out
