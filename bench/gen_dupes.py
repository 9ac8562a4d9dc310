"""A labelled book of realistic Chinese B2B leads with duplicates of many kinds, for dedupe.

Every row has an `entity` label: rows with the same label are the same customer. Kinds of
duplicate: phone written differently (+86, spaces, dashes, 0086), legal-form variants (有限公司 /
股份有限公司 / 集团 / none), region variants ((北京) in brackets, a leading 上海), one-character
typos, missing phone or e-mail, a colleague at the same company on the same company phone (another lead: must NOT merge), and a
third of the name variants arriving with another phone number (so only name evidence is left). Near
misses that must NOT merge: subsidiaries and branches of one group (华信科技 / 华信终端 /
华信科技上海分公司), common names (王伟) at different companies.

    python bench/gen_dupes.py 100000 bench/out/dupes_100000.csv
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pandas as pd

CITIES = [("上海", "021"), ("北京", "010"), ("深圳", "0755"), ("广州", "020"), ("杭州", "0571"),
          ("苏州", "0512"), ("南京", "025"), ("成都", "028"), ("武汉", "027"), ("西安", "029")]  # fmt: skip
CHARS = "智联华信远航恒通博创新锐天成云启鼎盛聚力宏图星辰海纳启明卓越领航瑞丰金桥正泰中科东方德润嘉禾凯盛永安"
TRADES = [
    "科技",
    "信息技术",
    "制造",
    "医疗器械",
    "物流",
    "电子",
    "软件",
    "新能源",
    "化工",
    "教育科技",
]
SISTER_TRADES = {"科技": "终端", "软件": "云计算", "制造": "贸易", "电子": "半导体"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静磊强洋艳杰涛明超霞平刚晨悦婷鹏飞丹辉玲浩宇欣颖"
FORMS = ["有限公司", "股份有限公司", "集团有限公司", "有限责任公司"]
FREE = ["qq.com", "163.com", "126.com", "gmail.com"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 1, 2])))


def _mobile(rng: random.Random) -> str:
    return (
        rng.choice(["13", "15", "17", "18", "19"])
        + str(rng.randrange(0, 10))
        + f"{rng.randrange(10**8):08d}"
    )


def _dress_phone(phone: str, rng: random.Random) -> str:
    kind = rng.randrange(5)
    if len(phone) != 11:
        return phone if kind < 3 else phone.replace("-", " ")
    return [phone, f"+86 {phone}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", f"0086{phone}",
            f"{phone[:3]} {phone[3:7]} {phone[7:]}"][kind]  # fmt: skip


def _typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    return text[:i] + rng.choice(CHARS) + text[i + 1 :]


def generate(n_rows: int, seed: int = 11) -> pd.DataFrame:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    entity = 0
    used_cores: set[str] = set()
    while len(rows) < n_rows:
        entity += 1
        city, area = rng.choice(CITIES)
        while True:
            core = "".join(rng.choice(CHARS) for _ in range(rng.choice([2, 3, 4])))
            trade = rng.choice(TRADES)
            if core + trade not in used_cores:
                used_cores.add(core + trade)
                break
        form = rng.choice(FORMS)
        contact = _name(rng)
        phone = (
            _mobile(rng) if rng.random() < 0.85 else f"{area}-{rng.randrange(2000_0000, 8999_9999)}"
        )
        corp = rng.random() < 0.5
        email = f"{rng.choice(['sales', 'info', 'hr', contact and 'x'])}{entity}@" + (
            f"{core.encode('utf-8').hex()[:8]}.com.cn" if corp else rng.choice(FREE)
        )
        base = {"company": f"{city}{core}{trade}{form}", "contact": contact, "phone": phone,
                "email": email, "city": city, "entity": entity, "kind": "original"}  # fmt: skip
        rows.append(base)
        roll = rng.random()
        copies = 0 if roll < 0.7 else (1 if roll < 0.9 else rng.choice([2, 3]))
        for _ in range(copies):
            dup = dict(base)
            variant = rng.choice(
                ["phone", "form", "region", "typo", "missing", "colleague", "bracket"]
            )
            dup["kind"] = variant
            dup["phone"] = _dress_phone(phone, rng)
            if variant == "form":
                dup["company"] = (
                    f"{city}{core}{trade}{rng.choice([f for f in FORMS if f != form] + [''])}"
                )
            elif variant == "region":
                dup["company"] = f"{core}{trade}{form}"
            elif variant == "bracket":
                dup["company"] = f"{core}{trade}（{city}）{form}"
            elif variant == "typo" and len(core) >= 3:
                dup["company"] = f"{city}{_typo(core, rng)}{trade}{form}"
            elif variant == "missing":
                dup[rng.choice(["phone", "email"])] = None
            elif variant == "colleague":
                # another person on the same company phone is another lead (issue #14), not a copy
                dup["contact"] = _name(rng)
                dup["email"] = None
                entity += 1
                dup["entity"] = entity
            if variant in ("form", "region", "bracket", "typo") and rng.random() < 0.35:
                # another channel, another number: a business card's landline, a second mobile
                dup["phone"] = (
                    f"{area}-{rng.randrange(2000_0000, 8999_9999)}"
                    if rng.random() < 0.5
                    else _mobile(rng)
                )
                dup["kind"] = variant + "+other phone"
                if rng.random() < 0.5:
                    dup["email"] = None
            rows.append(dup)
        if rng.random() < 0.05:  # the group's other companies and branches: must NOT merge
            sister = SISTER_TRADES.get(trade, "投资")
            entity += 1
            rows.append({"company": f"{city}{core}{sister}{form}", "contact": _name(rng),
                         "phone": _mobile(rng), "email": None, "city": city, "entity": entity,
                         "kind": "subsidiary"})  # fmt: skip
            entity += 1
            other_city, _ = rng.choice([c for c in CITIES if c[0] != city])
            rows.append({"company": f"{core}{trade}{form}{other_city}分公司", "contact": _name(rng),
                         "phone": _mobile(rng), "email": None, "city": other_city, "entity": entity,
                         "kind": "branch"})  # fmt: skip
    frame = pd.DataFrame(rows[:n_rows])
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return frame


def main() -> None:
    n = int(sys.argv[1])
    out = Path(sys.argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    generate(n).to_csv(out, index=False, encoding="utf-8")


if __name__ == "__main__":
    main()
