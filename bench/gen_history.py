"""A labelled history of closed leads, written as a team's CRM export would be, not from leadkit.

python bench/gen_history.py 20000 bench/out/history_20000      (leads.csv, events.csv)

Who wins follows a hidden pattern that no rule file knows: budget and seniority help, but a big
budget helps most at a mid-sized company, manufacturers buy on a near timeline and hardly otherwise,
partner referrals and phone inquiries win more, social media less, a few titles (采购专员) rarely
decide anything, and the keener leads look at the pricing page in their first days. Behaviour also
follows the outcome: a deal on its way has demos, inquiries and pricing views in the weeks before it
closes, a lost one goes quiet or unsubscribes. That late behaviour is real in the export, but it is
not known when a lead comes in: a model that learns from it looks good and predicts badly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SOURCES = ["website", "trade_show", "partner", "social", "phone"]
SOURCE_SHARE = [0.35, 0.2, 0.15, 0.2, 0.1]
INDUSTRIES = ["软件/IT", "制造业", "医疗健康", "物流", "电子制造", "教育培训"]
REGIONS = ["华东", "华北", "华南", "西南", "华中"]
TITLES = [
    "总经理",
    "CEO",
    "IT总监",
    "财务总监",
    "采购经理",
    "技术负责人",
    "运营主管",
    "采购专员",
    "工程师",
]
TIMELINES = ["1个月内", "3个月内", "半年内", "今年", "暂无计划", None]
EMPLOYEES = [None, 15, 60, 150, 400, 1200, 3000]
BUDGETS = [None, 3, 5, 8, 10, 20, 30, 50, 80, 120]


def generate(n: int, seed: int = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(leads with `won`, events) over two years of closed leads."""
    rng = np.random.default_rng(seed)

    def pick(xs: list, p: list[float] | None = None) -> np.ndarray:
        return np.asarray(xs, dtype=object)[rng.choice(len(xs), n, p=p)]

    created = pd.Timestamp("2024-01-02 08:00") + pd.to_timedelta(
        rng.integers(0, 700 * 24 * 60, n), unit="min"
    )
    source, industry, region = pick(SOURCES, SOURCE_SHARE), pick(INDUSTRIES), pick(REGIONS)
    title, timeline = pick(TITLES), pick(TIMELINES)
    employees, budget = pick(EMPLOYEES), pick(BUDGETS)
    emp = np.array([e or 0 for e in employees], dtype=float)
    bud = np.array([b or 0 for b in budget], dtype=float)
    senior = np.isin(title, ["总经理", "CEO", "IT总监", "财务总监"])
    near = np.isin(timeline, ["1个月内", "3个月内"])
    mid = (emp >= 100) & (emp < 2000)
    logit = (
        -1.6
        + 0.9 * np.log1p(bud) / np.log(121) * (1 + 0.8 * mid)
        + 1.1 * senior
        - 1.2 * (title == "采购专员")
        + np.select(
            [source == "partner", source == "phone", source == "social"], [1.0, 0.6, -0.8], 0
        )
        + np.where(industry == "制造业", np.where(near, 1.4, -0.9), 0.7 * near)
        - 0.9 * (timeline == "暂无计划")
        - 0.6 * (budget == None)  # noqa: E711 (object array of numbers and None)
        + rng.normal(0, 0.4, n)  # what nobody wrote down
    )
    keen = 1 / (1 + np.exp(-logit))
    won = rng.random(n) < keen
    cycle = rng.integers(12, 150, n)
    closed = (
        created
        + pd.to_timedelta(cycle, unit="D")
        + pd.to_timedelta(rng.integers(0, 600, n), unit="min")
    )
    ids = np.array([f"LX{c.year}{i + 1:06d}" for i, c in enumerate(created)], dtype=object)
    leads = pd.DataFrame({
        "lead_id": ids, "created_at": created, "source": source, "industry": industry,
        "region": region, "employees": employees, "budget": budget, "title": title,
        "purchase_timeline": timeline, "company": [f"客户{i}有限公司" for i in range(n)],
        "contact": "联系人", "phone": [f"139{i:08d}" for i in range(n)],
        "status": np.where(won, "won", "lost"), "closed_at": closed, "won": won,
    })  # fmt: skip

    events = []
    # the first days: keener leads look around more (known on arrival: a fair signal)
    early = rng.poisson(0.4 + 1.6 * keen)
    at = np.repeat(np.arange(n), early)
    events.append(pd.DataFrame({
        "lead_id": ids[at], "time": created[at] + pd.to_timedelta(rng.integers(30, 4 * 24 * 60, len(at)), unit="min"),
        "event": np.asarray(["浏览页面", "查看价格", "下载资料"], dtype=object)[rng.integers(0, 3, len(at))],
    }))  # fmt: skip
    # the weeks before the close: the outcome's own behaviour
    late = np.where(won, rng.poisson(4.0, n), rng.poisson(0.8, n))
    at = np.repeat(np.arange(n), late)
    share = rng.uniform(0.35, 1.0, len(at))
    when = created[at] + pd.to_timedelta(cycle[at] * share, unit="D")
    kinds = np.where(
        won[at],
        np.asarray(["预约演示", "咨询", "查看价格", "参加直播"], dtype=object)[
            rng.integers(0, 4, len(at))
        ],
        np.asarray(["打开邮件", "退订", "浏览页面"], dtype=object)[rng.integers(0, 3, len(at))],
    )
    events.append(pd.DataFrame({"lead_id": ids[at], "time": when, "event": kinds}))
    ev = (
        pd.concat(events, ignore_index=True)
        .sort_values("time", kind="stable")
        .reset_index(drop=True)
    )
    return leads, ev


def main() -> None:
    n, out = int(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    leads, events = generate(n)
    leads.to_csv(out / "leads.csv", index=False)
    events.to_csv(out / "events.csv", index=False)


if __name__ == "__main__":
    main()
