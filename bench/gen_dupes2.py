"""A second, independently written labelled generator of Chinese lead books with duplicates.

    python bench/dedupe_quality.py --generator gen_dupes2 --rows 20000

Written without reading gen_dupes.py (issue #14): own name lists, own noise. Same interface:
`generate(rows, seed)` returns a frame of template-key columns plus `entity` (rows of one real
lead share it) and `kind` ("original" for the first record of an entity, else the variant that
made the copy). Colleagues (kind "colleague") share a company and its switchboard but are a
different person, so they get their own entity: a merge with them is a wrong pair.
"""

from __future__ import annotations

import random

import pandas as pd

REGIONS = ["杭州", "宁波", "嘉兴", "绍兴", "苏州", "无锡", "南通", "合肥", "芜湖", "福州",
           "厦门", "泉州", "长沙", "株洲", "南昌", "赣州", "郑州", "洛阳", "济南", "烟台",
           "成都", "绵阳", "昆明", "贵阳", "西安", "兰州", "太原", "石家庄", "保定", "沈阳"]  # fmt: skip
CORES = ["瀚海", "星途", "禾丰", "云帆", "卓远", "恒泰", "思齐", "锦程", "朗润", "博雅",
         "汇智", "鼎信", "青禾", "睿驰", "安澜", "启明", "致远", "蓝鲸", "金穗", "华耀",
         "天衡", "鸿图", "悦享", "优联", "中科", "新锐", "盛景", "弘毅", "晨曦", "永信",
         "泓源", "嘉迅", "德兴", "明德", "凯越", "祥和", "正源", "宏远", "方圆", "普惠"]  # fmt: skip
TRADES = ["信息技术", "网络科技", "教育科技", "文化传媒", "生物医药", "智能制造", "新材料",
          "环保工程", "供应链管理", "餐饮管理", "建筑装饰", "电子商务", "物流", "软件"]  # fmt: skip
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
EN_TRADES = {"信息技术": "Information Technology", "网络科技": "Network Technology",
             "教育科技": "Education Technology", "文化传媒": "Culture Media",
             "生物医药": "Biopharma", "智能制造": "Smart Manufacturing", "新材料": "New Materials",
             "环保工程": "Environmental Engineering", "供应链管理": "Supply Chain",
             "餐饮管理": "Catering Management", "建筑装饰": "Building Decoration",
             "电子商务": "E-Commerce", "物流": "Logistics", "软件": "Software"}  # fmt: skip
SURNAMES = list(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦许何吕施张孔曹严华金魏陶姜谢邹喻苏潘葛范彭鲁马"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉晶")
PINYIN = ["hao", "ming", "lei", "jing", "wei", "fang", "tao", "yan", "jun", "li", "hua", "ping"]
HOMOPHONE = dict(
    zip("伟芳静丽强磊军洋明超", "玮方晶莉墙垒君阳铭潮", strict=True)
)  # typo pairs an IME produces
MAIL = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com"]
COLUMNS = ["company", "contact", "phone", "email", "city"]


def _company(rng: random.Random) -> dict[str, str]:
    return {"region": rng.choice(REGIONS), "core": rng.choice(CORES) + rng.choice(CORES)[0],
            "trade": rng.choice(TRADES), "form": rng.choice(FORMS)}  # fmt: skip


def _layout(c: dict[str, str], how: str) -> str:
    if how == "region_paren":
        return f"{c['core']}{c['trade']}（{c['region']}）{c['form']}"
    if how == "region_paren_ascii":
        return f"{c['core']}{c['trade']}({c['region']}){c['form']}"
    if how == "no_region":
        return f"{c['core']}{c['trade']}{c['form']}"
    if how == "region_shi":
        return f"{c['region']}市{c['core']}{c['trade']}{c['form']}"
    return f"{c['region']}{c['core']}{c['trade']}{c['form']}"


def _mobile(rng: random.Random) -> str:
    return rng.choice(["13", "15", "17", "18", "19"]) + "".join(rng.choices("0123456789", k=9))


def _switchboard(rng: random.Random) -> str:
    return "0" + rng.choice(["571", "574", "21", "512", "551", "591", "731", "28", "29"]) + \
        "".join(rng.choices("0123456789", k=8))  # fmt: skip


def _typo(text: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(text) if ch in HOMOPHONE]
    if spots:
        i = rng.choice(spots)
        return text[:i] + HOMOPHONE[text[i]] + text[i + 1 :]
    if len(text) > 3:  # swap two neighbours, as a fast typist does
        i = rng.randrange(len(text) - 1)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


def _phone_format(phone: str, rng: random.Random) -> str:
    if phone.startswith("1"):
        return rng.choice([f"+86 {phone}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
                           f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"86{phone}"])  # fmt: skip
    area = phone[:4] if phone[1] in "3456789" else phone[:3]
    return rng.choice([f"{area}-{phone[len(area) :]}", f"({area}){phone[len(area) :]}"])


VARIANTS = ["region_prefix_paren", "region_drop", "short_name", "typo_company", "typo_contact",
            "english_name", "contact_title", "phone_format", "email_case", "missing_fields",
            "combined"]  # fmt: skip


def _variant(rec: dict[str, str], c: dict[str, str], kind: str, rng: random.Random) -> dict:
    out = dict(rec)
    if kind == "region_prefix_paren":
        out["company"] = _layout(
            c, rng.choice(["region_paren", "region_paren_ascii", "region_shi"])
        )
    elif kind == "region_drop":
        out["company"] = _layout(c, "no_region")
    elif kind == "short_name":
        out["company"] = rng.choice([c["core"] + "公司", c["core"], c["region"] + c["core"]])
    elif kind == "typo_company":
        out["company"] = _typo(out["company"], rng)
    elif kind == "typo_contact":
        out["contact"] = _typo(out["contact"], rng)
    elif kind == "english_name":
        out["company"] = f"{c['region']} {c['core']} {EN_TRADES[c['trade']]} Co., Ltd."
    elif kind == "contact_title":
        out["contact"] = out["contact"][0] + rng.choice(["先生", "女士", "总", "经理", "工"])
    elif kind == "phone_format":
        out["phone"] = _phone_format(out["phone"], rng)
    elif kind == "email_case":
        out["email"] = out["email"].upper() if rng.random() < 0.5 else out["email"].title()
    elif kind == "missing_fields":
        for col in rng.sample(["phone", "email", "city", "contact"], 2):
            out[col] = None
    elif kind == "combined":  # two things at once, as real re-entries have
        for sub in rng.sample(["short_name", "typo_contact", "contact_title", "phone_format",
                               "email_case", "region_prefix_paren"], 2):  # fmt: skip
            out = _variant(out, c, sub, rng)
    return out


def generate(rows: int, seed: int = 14, dup_share: float = 0.2, colleague_share: float = 0.06):
    """`rows` records: originals, labelled variant copies and colleagues sharing a switchboard."""
    rng = random.Random(seed)
    records: list[dict] = []
    entity = 0
    while len(records) < rows:
        c = _company(rng)
        surname = rng.choice(SURNAMES)
        contact = surname + "".join(rng.choices(GIVEN, k=rng.choice([1, 2])))
        board = _switchboard(rng) if rng.random() < 0.35 else None
        phone = board or _mobile(rng)
        mail_user = rng.choice(PINYIN) + rng.choice(PINYIN) + str(rng.randrange(100))
        domain = rng.choice(MAIL) if rng.random() < 0.6 else f"{rng.choice(PINYIN)}{entity}.cn"
        base = {"company": _layout(c, rng.choice(["prefix", "prefix", "no_region", "region_paren"])),
                "contact": contact, "phone": phone, "email": f"{mail_user}@{domain}",
                "city": c["region"] if rng.random() < 0.7 else None}  # fmt: skip
        records.append({**base, "entity": entity, "kind": "original"})
        eid = entity
        entity += 1
        while rng.random() < dup_share / (1 + dup_share) * 1.6 and len(records) < rows:
            kind = rng.choice(VARIANTS)
            records.append({**_variant(base, c, kind, rng), "entity": eid, "kind": kind})
            if rng.random() < 0.5:
                break
        if board and rng.random() < colleague_share * 3 and len(records) < rows:
            other = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=2))
            records.append({**base, "contact": other, "entity": entity, "kind": "colleague",
                            "email": f"{rng.choice(PINYIN)}{rng.randrange(1000)}@{domain}"})  # fmt: skip
            entity += 1
    frame = pd.DataFrame(records[:rows])
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)
