"""Generate a large, realistic incoming-leads CSV (alias headers, messy phones, dates and money).

python bench/gen_leads.py 100000 bench/out/leads_100000.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

CITIES = [
    "上海市",
    "北京市",
    "深圳市",
    "广州市",
    "杭州市",
    "苏州市",
    "南京市",
    "成都市",
    "武汉市",
    "西安市",
    "",
    "",
]
WORDS = list("智联华信远航恒通博创新锐天成云启鼎盛聚力宏图星辰海纳启明卓越领航瑞丰金桥正泰中科")
TRADES = [
    "科技有限公司",
    "制造有限公司",
    "医疗器械有限公司",
    "物流股份有限公司",
    "电子有限公司",
    "新能源集团",
]
INDUSTRIES = ["软件/IT", "制造业", "医疗健康", "物流", "电子制造", "能源电力", "教育培训", ""]
TITLES = ["总经理", "采购经理", "IT总监", "技术负责人", "运营主管", "CEO", "采购专员", "工程师", ""]
NEEDS = [
    "想了解报价，计划本季度上线",
    "和竞品对比中",
    "预算有限，价格敏感",
    "涉及多个部门审批",
    "先了解一下",
    "",
]
TIMELINES = ["1个月内", "本季度", "3个月", "半年内", "暂无计划", "2026-06-30", ""]
AREA_CODES = [
    "010", "020", "021", "022", "023", "024", "025", "027", "028", "029", "0311", "0351", "0371",
    "0431", "0451", "0512", "0531", "0532", "0551", "0571", "0574", "0591", "0592", "0731",
    "0755", "0757", "0769", "0871", "0898",
]  # fmt: skip
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
GIVEN = list("伟芳娜敏静磊强洋艳杰涛明超霞平刚晨悦")


def generate(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pick = lambda xs: np.asarray(xs, dtype=object)[rng.integers(0, len(xs), n)]  # noqa: E731
    words = np.asarray(WORDS, dtype=object)
    company = (
        pick(CITIES).astype(str).astype(object)
        + words[rng.integers(0, len(words), n)] + words[rng.integers(0, len(words), n)]
        + pd.Series(rng.integers(1, 5000, n)).astype(str).to_numpy(dtype=object)
        + pick(TRADES)
    )  # fmt: skip
    mobile = (
        (rng.integers(130, 200, n) * 10**8 + rng.integers(0, 10**8, n)).astype(str).astype(object)
    )
    dress = rng.integers(0, 6, n)
    phone = mobile.copy()
    phone[dress == 1] = "+86 " + mobile[dress == 1]
    phone[dress == 2] = [f"{m[:3]}-{m[3:7]}-{m[7:]}" for m in mobile[dress == 2]]
    # landlines with real area codes and 8-digit numbers, one in ten with an extension
    areas = np.asarray(AREA_CODES, dtype=object)[rng.integers(0, len(AREA_CODES), n)]
    landline = areas + "-" + rng.integers(2000_0000, 8999_9999, n).astype(str).astype(object)
    extension = rng.random(n) < 0.1
    landline[extension] = (
        landline[extension] + "转" + rng.integers(100, 999, n)[extension].astype(str)
    )
    phone[dress == 3] = landline[dress == 3]
    phone[dress == 4] = "0086" + mobile[dress == 4]
    created = pd.Timestamp("2026-01-01") + pd.to_timedelta(
        rng.integers(0, 300 * 86400, n), unit="s"
    )
    date_text = created.strftime("%Y/%m/%d %H:%M").to_numpy(dtype=object)
    chinese = rng.random(n) < 0.2
    date_text[chinese] = created[chinese].strftime("%Y年%m月%d日").to_numpy(dtype=object)
    budget = pd.Series(rng.choice([5, 8, 10, 20, 30, 50, 100], n)).astype(str).to_numpy(
        dtype=object
    ) + pick(["万", "w", "万元", ""])
    budget[rng.random(n) < 0.3] = ""
    email = (
        pd.Series(rng.integers(0, 10**6, n)).astype(str).radd("u").to_numpy(dtype=object)
        + pick(["@qq.com", "@163.com", "@corp.com.cn", "@gmail.com"])
    )  # fmt: skip
    email[rng.random(n) < 0.3] = ""
    contact = pick(SURNAMES) + pick(GIVEN)
    frame = pd.DataFrame({
        "提交时间": date_text, "公司名称": company, "姓名": contact, "职务": pick(TITLES),
        "手机号": phone, "电子邮箱": email, "所在城市": pick(CITIES), "行业": pick(INDUSTRIES),
        "员工人数": pick(["50-99人", "100-499人", "1000人以上", "20", "300", ""]),
        "预算": budget, "计划采购时间": pick(TIMELINES), "咨询内容": pick(NEEDS),
        "来源": pick(["官网表单", "展会", "合作伙伴推荐", "社交媒体", "电话咨询"]),
        "微信号": pick(["", "wx_a", "wx_b"]), "备注": pick(["", "老客户介绍", "=1+1", "回访"]),
    })  # fmt: skip
    bad = rng.random(n) < 0.01
    frame.loc[bad, ["手机号", "电子邮箱"]] = ""
    return frame


def main() -> None:
    n = int(sys.argv[1])
    out = Path(sys.argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    generate(n).to_csv(out, index=False, encoding="utf-8")


if __name__ == "__main__":
    main()
