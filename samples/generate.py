"""Regenerate the bundled sample inputs: three channels, three shapes, with near-duplicates across
channels and a few bad rows. Deterministic (fixed seed); run `python samples/generate.py`.

- website_form.csv: a web-form export in GBK with alias headers (公司名称, 姓名, 手机号 …)
- trade_show.xlsx: a booth sign-up sheet with a merged title row, booth numbers and talk minutes
- partner_referral.xlsx: a partner's list with English headers
- roster.yaml: the sales team, for routing
- events.csv: website behaviour (page views, pricing page, downloads …) tied to leads by phone
- history.xlsx: a lead book of 420 closed leads whose outcomes follow a hidden pattern, to train on
- companies.csv: a made-up company list (工商信息) holding most of the demo leads' companies, for enrich
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent
rng = random.Random(20260301)

CITIES = [
    ("上海", "上海", "021"), ("北京", "北京", "010"), ("广东", "深圳", "0755"), ("广东", "广州", "020"),
    ("浙江", "杭州", "0571"), ("江苏", "苏州", "0512"), ("江苏", "南京", "025"), ("四川", "成都", "028"),
    ("湖北", "武汉", "027"), ("山东", "青岛", "0532"), ("陕西", "西安", "029"), ("辽宁", "沈阳", "024"),
]  # fmt: skip
WORDS = ["智联", "华信", "远航", "恒通", "博创", "新锐", "天成", "云启", "鼎盛", "聚力", "宏图", "星辰",
         "海纳", "启明", "卓越", "领航", "瑞丰", "金桥", "正泰", "中科"]  # fmt: skip
TRADES = [("科技", "软件/IT"), ("制造", "制造业"), ("医疗器械", "医疗健康"), ("物流", "物流"),
          ("电子", "电子制造"), ("教育科技", "教育培训"), ("新能源", "能源电力"), ("化工", "精细化工")]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "强",
    "洋",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "晨",
    "悦",
]
TITLES = [
    "总经理",
    "采购经理",
    "IT总监",
    "技术负责人",
    "运营主管",
    "CEO",
    "采购专员",
    "财务总监",
    "工程师",
]
NEEDS = [
    "想了解CRM系统报价，计划本季度上线", "需要销售管理工具，和竞品对比中", "咨询线索管理功能，预算有限，价格敏感",
    "要做渠道管理，涉及多个部门审批", "希望演示一下报表功能", "现有系统到期，1个月内要替换", "先了解一下，暂无计划",
]  # fmt: skip
TIMELINES = ["1个月内", "本季度", "3个月", "半年内", "暂无计划", "2026-06-30"]


def company(i: int) -> tuple[str, str, tuple[str, str, str]]:
    word = WORDS[i % len(WORDS)] + WORDS[(i * 7 + 3) % len(WORDS)]
    trade, industry = TRADES[i % len(TRADES)]
    place = CITIES[i % len(CITIES)]
    return f"{place[1]}{word}{trade}有限公司", industry, place


def person(i: int) -> str:
    return (
        SURNAMES[i % len(SURNAMES)]
        + GIVEN[(i * 5) % len(GIVEN)]
        + ("" if i % 3 else GIVEN[i % len(GIVEN)])
    )


def mobile(i: int) -> str:
    prefix = ["138", "139", "186", "135", "158", "177", "189", "150"][i % 8]
    return f"{prefix}{(i * 7919 + 12345678) % 100000000:08d}"


def email(i: int, name_en: str) -> str:
    domain = ["qq.com", "163.com", f"corp{i % 50}.com.cn", "gmail.com"][i % 4]
    return f"{name_en}{i}@{domain}"


def website_rows(start: datetime) -> list[list[str]]:
    rows = []
    for i in range(40):
        name, _industry, place = company(i)
        when = start + timedelta(hours=7 * i + 3)
        phone = mobile(i)
        if i % 5 == 1:
            phone = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
        if i % 7 == 2:
            phone = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        rows.append([
            when.strftime("%Y/%m/%d %H:%M"), name, person(i), phone, email(i, "user").upper() if i % 6 == 0 else email(i, "user"),
            place[1] + "市", NEEDS[i % len(NEEDS)], f"{rng.choice([5, 10, 20, 50])}万" if i % 3 else "", "官网表单",
        ])  # fmt: skip
    # bad rows: no way to reach them; nobody named; a formula; a bad phone beside a good e-mail
    rows.append(
        [
            start.strftime("%Y/%m/%d %H:%M"),
            "某某贸易有限公司",
            "赵先生",
            "",
            "",
            "上海市",
            "咨询",
            "",
            "官网表单",
        ]
    )
    rows.append(
        [
            start.strftime("%Y/%m/%d %H:%M"),
            "",
            "",
            "13900001111",
            "",
            "",
            "随便看看",
            "",
            "官网表单",
        ]
    )
    rows.append([start.strftime("%Y/%m/%d %H:%M"), "=HYPERLINK(\"http://x.example\",\"点我\")", "钱女士", "13911112222", "", "北京市", "@SUM(1+1)", "", "官网表单"])  # fmt: skip
    rows.append([start.strftime("%Y/%m/%d %H:%M"), "远景咨询有限公司", "孙经理", "12345", "sun@yuanjing.cn", "杭州市", "要报价", "3万", "官网表单"])  # fmt: skip
    return rows


def write_website(path: Path, start: datetime) -> None:
    headers = [
        "提交时间",
        "公司名称",
        "姓名",
        "手机号",
        "电子邮箱",
        "所在城市",
        "咨询内容",
        "预算",
        "来源",
    ]
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(website_rows(start))


def write_trade_show(path: Path, start: datetime) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "展会登记"
    headers = [
        "序号",
        "客户名称",
        "联系人",
        "职务",
        "联系电话",
        "展位号",
        "洽谈时长(分钟)",
        "意向",
        "需求描述",
        "员工人数",
        "登记日期",
    ]
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.cell(1, 1, "2026 上海国际工业自动化展 · 展位来访登记表").font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    for c, h in enumerate(headers, 1):
        ws.cell(3, c, h).font = Font(bold=True)
    r = 4
    for n, i in enumerate(range(30, 62)):
        name, _industry, _place = company(i)
        if i < 36:  # the same customers as on the website form, written differently
            name, _industry, _place = company(i - 30)
            name = name.replace("有限公司", "") + "（" + _place[1] + "）有限公司" if i % 2 else name
        phone: object = mobile(i - 30 if i < 36 else i)
        if n % 4 == 0:
            phone = int(phone)  # typed as a number, as Excel users do
        row = [n + 1, name, person(i - 30 if i < 34 else i), TITLES[i % len(TITLES)], phone,
               f"A{(i * 13) % 90 + 10}", rng.choice([3, 5, 8, 15, 25]), rng.choice(["高", "中", "低"]),
               NEEDS[i % len(NEEDS)], rng.choice(["50-99人", "100-499人", "1000人以上", "20", "300"]),
               start + timedelta(days=10, hours=n)]  # fmt: skip
        for c, v in enumerate(row, 1):
            ws.cell(r, c, v)
        ws.cell(r, len(headers)).number_format = "yyyy-mm-dd hh:mm"
        r += 1
    ws.cell(r, 2, "")  # a stray blank line at the end, as sign-up sheets have
    wb.save(path)


def write_partner(path: Path, start: datetime) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Referrals"
    headers = ["Company Name", "Contact Name", "Job Title", "Mobile", "Email", "Industry", "Employees",
               "Annual Revenue", "Budget", "Timeline", "Referrer", "Notes"]  # fmt: skip
    ws.append(headers)
    for n, i in enumerate(range(60, 85)):
        name, industry, _place = company(i)
        if n < 4:  # customers the trade show met too
            name, industry, _place = company(n + 36)
            name = name.replace("有限公司", "股份有限公司")
        ws.append([
            name, person(i if n >= 4 else n + 36), TITLES[i % len(TITLES)],
            f"0086{mobile(i if n >= 4 else n + 36)}", email(i, "contact"), industry,
            rng.choice([30, 120, 600, 2500]), rng.choice(["500万", "2000万", "1.2亿", "8,000"]),
            rng.choice(["10w", "¥8万元", "30万", "50"]), TIMELINES[i % len(TIMELINES)],
            rng.choice(["华东渠道-李总", "深圳合作伙伴-陈经理", "老客户转介绍"]), "",
        ])  # fmt: skip
    ws.append(["", "", "", "", "", "", "", "", "", "", "", "empty referral, ignore"])
    wb.save(path)


ROSTER = """\
# The sales team, for `leadkit assign` (copied into rules/routing.yaml by later versions).
team:
  - {name: 王经理, email: wang@example.com, level: manager, regions: [华东, 华北], capacity: 40}
  - {name: 李娜, email: lina@example.com, level: senior, regions: [华东], industries: [软件/IT, 制造业], capacity: 60}
  - {name: 张伟, email: zhangwei@example.com, level: senior, regions: [华南, 西南], capacity: 60}
  - {name: 陈静, email: chenjing@example.com, level: junior, regions: [华东, 华中], capacity: 80}
  - {name: 刘洋, email: liuyang@example.com, level: junior, regions: [华北, 东北, 西北], capacity: 80}
"""


def write_events(path: Path, start: datetime) -> None:
    """Behaviour events from the website's analytics, tied to leads by phone or e-mail."""
    kinds = ["浏览页面", "查看价格", "下载资料", "参加直播", "咨询", "打开邮件", "退订", "预约演示"]
    weights = [40, 15, 10, 5, 6, 15, 2, 4]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["时间", "手机号", "邮箱", "行为", "页面"])
        for i in range(0, 40, 2):
            for _ in range(rng.randint(1, 6)):
                when = start + timedelta(
                    days=rng.randint(0, 26), hours=rng.randint(8, 22), minutes=rng.randint(0, 59)
                )
                kind = rng.choices(kinds, weights)[0]
                page = {"查看价格": "/pricing", "下载资料": "/whitepaper.pdf"}.get(kind, "/")
                w.writerow([when.strftime("%Y-%m-%d %H:%M"), mobile(i), "", kind, page])
        w.writerow(
            [start.strftime("%Y-%m-%d %H:%M"), "", "", "浏览页面", "/"]
        )  # nobody to tie it to


YEAR_END = datetime(2025, 12, 31, 17, 0)
# how quickly each rep makes the first call, as a multiple of the team's usual (the report's
# response time vs SLA by rep has something to show)
PACE = {"王经理": 1.0, "李娜": 0.6, "张伟": 1.5, "陈静": 0.9, "刘洋": 2.2}
FIRST_CONTACT_SLA_HOURS = 4  # the history's leads had no grade; B's SLA in routing.yaml


def year_of_work(lead: dict, won: bool, plan: random.Random, follow_ups: list[dict]) -> dict:
    """A closed lead's year as the team kept it: assigned within hours, a first call on the SLA's
    working-hours clock, a follow-up about every week (a few missed) with the status after each
    (a lost lead stopped at some stage before it was lost), the last one the close. So the 2025
    report has a funnel with its middle stages, response times and a follow-up plan."""
    import pandas as pd
    from leadkit.routing import add_working_hours

    from leadkit.rules import Rules

    hours = Rules().routing.working_hours
    created, closed, owner = lead["created_at"], lead["closed_at"], lead["owner"]
    assigned = created + timedelta(minutes=plan.randint(10, 150))
    due = add_working_hours(pd.Timestamp(assigned), FIRST_CONTACT_SLA_HOURS, hours)
    first = add_working_hours(pd.Timestamp(assigned), plan.uniform(0.3, 4.5) * PACE[owner], hours)
    first = min(first.to_pydatetime(), closed - timedelta(days=1))
    stages = ["contacted", "qualified", "proposal", "negotiation"]
    furthest = 3 if won else plan.choices(range(4), [35, 30, 20, 15])[0]
    dates = [first]
    while dates[-1] + timedelta(days=12) < closed:
        dates.append(dates[-1] + timedelta(days=plan.uniform(5, 11)))
    for i, when in enumerate(dates):
        stage = stages[min(furthest, i * (furthest + 1) // len(dates))]
        follow_ups.append({"date": when, "lead_id": lead["lead_id"], "channel": "phone",
                           "summary": "电话跟进", "status_after": stage, "owner": owner,
                           "next_follow_up": when + timedelta(days=7)})  # fmt: skip
    follow_ups.append({"date": closed, "lead_id": lead["lead_id"], "channel": "meeting",
                       "summary": "签约" if won else "客户放弃", "owner": owner,
                       "status_after": "won" if won else "lost"})  # fmt: skip
    return {"assigned_at": assigned, "first_contact_due": due.to_pydatetime(),
            "first_contact_at": first, "last_contact_at": closed}  # fmt: skip


def write_history(path: Path) -> None:
    """A lead book of closed leads (won 成交 / lost 流失) whose outcomes follow a hidden pattern:
    bigger budgets, senior titles, partner referrals and near purchase dates win more often; keener
    leads look at the pricing page in their first days. Its Events sheet also has the behaviour
    that follows the outcome (demos and inquiries on the way to a deal, unsubscribes after a loss),
    which a model must not learn from: it is not known when a lead comes in."""
    import math

    import pandas as pd

    from leadkit import bookio
    from leadkit.rules import Rules

    # the year's follow-ups have their own draws, so the leads stay as they were
    plan = random.Random(13)
    hist = random.Random(7)
    seen = random.Random(11)  # the behaviour's own draws, so the leads stay as they were
    rows, events, follow_ups = [], [], []
    for n in range(420):
        name, industry, place = company(n + 200)
        created = datetime(2025, 1, 6) + timedelta(
            days=hist.randint(0, 330), hours=hist.randint(8, 18)
        )
        source = hist.choices(
            ["website", "trade_show", "partner", "social", "phone"], [35, 20, 15, 20, 10]
        )[0]
        budget = hist.choice([None, 3, 5, 8, 10, 20, 30, 50, 80, 120])
        title = hist.choice(TITLES)
        employees = hist.choice([None, 15, 60, 150, 400, 1200, 3000])
        timeline = hist.choice(["1个月内", "本季度", "半年内", "今年", "暂无计划", None])
        senior = title in ("总经理", "CEO", "IT总监", "财务总监")
        logit = (-2.2 + 0.025 * min(budget or 0, 100) + 1.3 * senior + 0.9 * (source == "partner")
                 - 0.7 * (source == "social") + 1.0 * (timeline in ("1个月内", "本季度"))
                 - 0.8 * (timeline == "暂无计划") + 0.5 * ((employees or 0) >= 300))  # fmt: skip
        won = hist.random() < 1 / (1 + math.exp(-logit))
        drawn = created + timedelta(days=hist.randint(10, 120))
        # the book is the team's 2025, written on 1 January 2026: no lead may close after it (a
        # close in March 2026 made train learn 166 wins beside a 2025 report of 151); the late
        # ones close in the year's last three weeks instead, and every draw stays as it was
        closed = min(drawn, YEAR_END - timedelta(days=n % 20))
        lead_id = f"LX{created.year}{n + 1:06d}"
        # the first days: keener leads look around more (known on arrival, a fair signal)
        for _ in range(seen.choices([0, 1, 2, 3], [4, 3, 2, 1 + 2 * (logit > 0)])[0]):
            kind = seen.choice(["浏览页面", "查看价格", "下载资料"])
            events.append((created + timedelta(hours=seen.randint(1, 96)), lead_id, kind))
        # on the way to the outcome: the deal's own behaviour (known only later)
        late = ["预约演示", "咨询", "查看价格"] if won else ["打开邮件", "退订"]
        for _ in range(seen.randint(2, 5) if won else seen.randint(0, 2)):
            when = created + (drawn - created) * seen.uniform(0.3, 1.0)
            if when > created + timedelta(days=8):
                events.append((min(when, closed), lead_id, seen.choice(late)))
        rows.append({
            "lead_id": lead_id, "created_at": created, "source": source,
            "company": name, "industry": industry, "province": place[0], "city": place[1],
            "region": None, "employees": employees, "budget": budget, "contact": person(n + 200),
            "title": title, "phone": mobile(n + 200), "purchase_timeline": timeline,
            "decision_maker": person(n + 300) if senior else None,
            "status": "won" if won else "lost", "closed_at": closed,
            "deal_amount": (budget or 5) * hist.uniform(0.6, 1.1) if won else None,
            "lost_reason": None if won else hist.choice(["价格太高", "选择了竞品", "需求取消", "联系不上"]),
            "owner": hist.choice(["王经理", "李娜", "张伟", "陈静", "刘洋"]),
        })  # fmt: skip
        rows[-1].update(year_of_work(rows[-1], won, plan, follow_ups))
    columns = Rules().columns
    book = bookio.new_book(path, "zh", columns)
    book.append("leads", pd.DataFrame(rows))
    book.append("events", pd.DataFrame(events, columns=["time", "lead_id", "event"]))
    book.append("activities", pd.DataFrame(follow_ups))
    bookio.save_book(
        book,
        columns,
        state_dir=HERE / ".leadkit-tmp",
        command="samples",
        as_of=datetime(2026, 1, 1),
    )
    import shutil

    shutil.rmtree(HERE / ".leadkit-tmp", ignore_errors=True)


FILLER = list("华星云海明远博瑞泰安恒信达宏兴鑫盛德创新智联科汇金中天")
FORMS = ["有限责任公司", "有限责任公司", "股份有限公司", "有限责任公司（自然人独资）"]


def write_companies(path: Path) -> None:
    """Made-up 工商信息 (credit codes pass their check digit): the companies of the demo's leads
    0-69, four of them registered under a longer name (similar, not the same), and 300 others."""
    sys.path.insert(0, str(HERE.parent))
    from leadkit.enrich import CODE_ALPHABET, credit_code_check

    own = random.Random(20260302)  # its own generator: the other samples stay as they were
    rows: list[list[str]] = []

    def add(name: str, industry: str, city: str) -> None:
        body = "91" + "".join(own.choice(CODE_ALPHABET) for _ in range(15))
        status = own.choices(["存续", "在业", "注销", "吊销"], [70, 20, 7, 3])[0]
        rows.append([
            name, body + credit_code_check(body), own.choice(FORMS),
            f"{own.choice([50, 100, 200, 500, 1000, 3000])}万元人民币", status,
            f"{city}市{own.choice(['高新区', '经开区', '开发区'])}科技路{own.randint(1, 999)}号",
            industry,
        ])  # fmt: skip

    for i in range(70):
        name, industry, place = company(i)
        if i % 17 == 5:  # registered as 智联远航科技发展有限公司: similar enough to review
            name = name.replace("有限公司", "发展有限公司")
        add(name, industry, place[1])
    seen: set[str] = set()
    while len(seen) < 300:
        city = own.choice(CITIES)[1]
        name = f"{city}{''.join(own.sample(FILLER, 3))}{own.choice(TRADES)[0]}有限公司"
        if name not in seen:
            seen.add(name)
            add(name, own.choice(TRADES)[1], city)
    headers = ["企业名称", "统一社会信用代码", "企业类型", "注册资本", "登记状态", "注册地址", "所属行业"]  # fmt: skip
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([headers, *rows])


def main() -> None:
    start = datetime(2026, 2, 2, 9, 0)
    write_website(HERE / "website_form.csv", start)
    write_trade_show(HERE / "trade_show.xlsx", start)
    write_partner(HERE / "partner_referral.xlsx", start)
    (HERE / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    write_events(HERE / "events.csv", start)
    write_history(HERE / "history.xlsx")
    write_companies(HERE / "companies.csv")
    (HERE / "trade_show_map.yaml").write_text(
        "# One-off mapping for the trade-show sheet: the booth number is where the lead came from.\n"
        "columns:\n  展位号: source_detail\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
