"""Made-up company list for enrich: names, valid credit codes, company data. Ships no real data.

python bench/gen_companies.py N OUT.csv [--seed S]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from leadkit.steps.enrich import CODE_ALPHABET, credit_code_check

CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "苏州", "西安"]
SYLLABLES = list("华星云海明远博瑞泰安恒信达宏兴鑫盛德创新智联科汇金中天")
TRADES = ["科技", "信息技术", "物流", "机械", "电子", "医疗器械", "新材料", "贸易", "软件", "环保"]
FORMS = ["有限公司", "股份有限公司", "有限责任公司"]
SIZES = ["微型", "小型", "中型", "大型"]
STATUS = ["存续", "在业", "注销", "吊销"]


def generate(n: int, seed: int = 0) -> pd.DataFrame:
    """n companies with distinct names; every credit code passes its check digit."""
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(SYLLABLES, 3)) for _ in range(n)]
    city = rng.choice(CITIES, n)
    trade = rng.choice(TRADES, n)
    names = [
        f"{c}{w}{t}{i:x}{rng.choice(FORMS)}"
        for i, (c, w, t) in enumerate(zip(city, words, trade, strict=True))
    ]
    bodies = ["91" + "".join(rng.choice(list(CODE_ALPHABET), 15)) for _ in range(n)]
    return pd.DataFrame(
        {
            "company": names,
            "credit_code": [b + credit_code_check(b) for b in bodies],
            "legal_form": rng.choice(["有限责任公司", "股份有限公司"], n),
            "registered_capital": rng.integers(10, 10000, n) * 10_000,
            "industry": trade,
            "size": rng.choice(SIZES, n),
            "address": [
                f"{c}市某区某路{k}号" for c, k in zip(city, rng.integers(1, 999, n), strict=True)
            ],
            "status": rng.choice(STATUS, n, p=[0.7, 0.2, 0.07, 0.03]),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate(args.n, args.seed).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
