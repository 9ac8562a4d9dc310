"""Every metric against numbers worked out by hand for a small book (written out below)."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile

import pandas as pd
import pytest

from leadkit import bookio
from leadkit.report import metrics, period_bounds

T = pd.Timestamp


def contact_of(n: int) -> dict:
    """What 基本完整 asks for (columns.yaml): company, contact, phone."""
    return dict(company=f"公司{n}", contact=f"联系人{n}", phone=f"1381234000{n}")


# L1 has every field 完整 asks for, though its 信息完整度 still says 基本完整 (filled in by hand
# after the import): the report counts the fields, not the stale cell
FULL = dict(
    contact_of(1), industry="制造业", need="CRM 选型", purchase_timeline="1个月内", employees=300
)

# March 2026 is the period (run on 2 April with --previous). By hand:
#   new in March (active): L1 L2 L4 L5 L7 = 5   (L6 merged, L8 is April, L3 February, L9 January)
#   contacted in March: L1 (1 h after assignment), L2 (6 h)            -> median 3.5 h, p90 5.5 h
#   won in March: L1, L3 (created in February); lost: L2             -> win rate 2/3
#   conversion of new: L1 only of the 5                               -> 0.2
#   SLA: assigned in March L1 hit, L2 late, L4 never contacted        -> 1/3
#   deals 20 + 50 -> 70, average 35; cycle L1 7.625 days, L3 11 days   -> median 9.3125
#   completeness of the 5, from their fields: L1 complete, L2 L4 L7 basic, L5 incomplete -> 0.2 / 0.8
#   pool now: unowned open L5 L7 L8 = 3; overdue first contacts: L4 = 1
#   follow-up plan: every lead owned in March, to its close, by its grade's cadence (S1 A2 B7 C7):
#     L1 7.58333 d/2 + L2 9.625 d/7 + L3 2.375 d/1 + L4 21.625 d/7 + L9 31 d/7 = 15.05952; 2 done -> 0.1328
#   conversion of contacted (the seeds' 成交/接触过的): of the 5 new, L1 L2 reached, L1 won -> 0.5
#   sales cycle from 分配时间 (the seeds' average): L1 7 d 14 h = 7.58333, L3 11 d - 0.5 h = 10.97917
#                                                   -> mean 9.28125
ROWS = [
    dict(lead_id="L1", created_at=T("2026-03-02 09:00"), source="website", grade="A", owner="李娜",
         assigned_at=T("2026-03-02 10:00"), first_contact_due=T("2026-03-02 12:00"), first_contact_at=T("2026-03-02 11:00"),
         status="won", closed_at=T("2026-03-10"), deal_amount=20.0, **FULL, completeness="basic", budget=20.0),
    dict(lead_id="L2", created_at=T("2026-03-05 08:00"), source="website", grade="B", owner="李娜",
         assigned_at=T("2026-03-05 09:00"), first_contact_due=T("2026-03-05 13:00"), first_contact_at=T("2026-03-05 15:00"),
         status="lost", closed_at=T("2026-03-15"), lost_reason="价格太高", **contact_of(2), completeness="basic"),
    dict(lead_id="L3", created_at=T("2026-02-20 09:00"), source="trade_show", grade="S", owner="张伟",
         assigned_at=T("2026-02-20 09:30"), first_contact_due=T("2026-02-20 11:00"), first_contact_at=T("2026-02-20 10:30"),
         status="won", closed_at=T("2026-03-03 09:00"), deal_amount=50.0, **contact_of(3), completeness="complete"),
    dict(lead_id="L4", created_at=T("2026-03-10 08:00"), source="trade_show", grade="C", owner="张伟",
         assigned_at=T("2026-03-10 09:00"), first_contact_due=T("2026-03-11 09:00"), status="new", **contact_of(4), completeness="basic", budget=30.0),
    dict(lead_id="L5", created_at=T("2026-03-12 08:00"), source="partner", grade="B", status="new", company="鼎盛五金", completeness="incomplete", budget=10.0),
    dict(lead_id="L6", created_at=T("2026-03-15 08:00"), source="website", grade="A", status="new", duplicate_of="L1", **contact_of(6), completeness="basic"),
    dict(lead_id="L7", created_at=T("2026-03-31 23:30"), source="social", status="new", **contact_of(7), completeness="basic"),
    dict(lead_id="L8", created_at=T("2026-04-01 00:00"), source="social", status="new", **contact_of(8), completeness="basic"),
    dict(lead_id="L9", created_at=T("2026-01-15 09:00"), source="partner", grade="B", owner="李娜", assigned_at=T("2026-01-15 10:00"),
         first_contact_at=T("2026-01-16 10:00"), status="proposal", budget=40.0, **contact_of(9), completeness="basic", commit_amount=35.0),
]  # fmt: skip
ACTIVITIES = [
    dict(date=T("2026-03-02 11:00"), lead_id="L1", summary="call"),
    dict(date=T("2026-03-05 15:00"), lead_id="L2", summary="call"),
]


@pytest.fixture
def book(workspace, rules):
    b = bookio.new_book(workspace / "leads.xlsx", "zh", rules.columns)
    b.append("leads", pd.DataFrame(ROWS))
    b.append("activities", pd.DataFrame(ACTIVITIES))
    bookio.save_book(
        b,
        rules.columns,
        state_dir=workspace / ".leadkit",
        command="test",
        as_of=dt.datetime(2026, 4, 2),
    )
    return workspace / "leads.xlsx"


def run_report(cli, *args):
    result = cli(
        "report",
        "--period",
        "month",
        "--previous",
        "--as-of",
        "2026-04-02T10:00",
        "--format",
        "json",
        *args,
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_metrics_by_hand(book, cli):
    r = run_report(cli)
    assert r["period"] == "2026-03"
    assert (r["start"], r["end"], r["time_zone"]) == (
        "2026-03-01T00:00:00+08:00", "2026-04-01T00:00:00+08:00", "Asia/Shanghai",
    )  # fmt: skip
    m = r["metrics"]
    assert (m["new_leads"], m["contacted"], m["won"], m["lost"]) == (5, 2, 2, 1)
    assert m["conversion_of_new"] == pytest.approx(0.2)
    assert m["win_rate_of_closed"] == pytest.approx(2 / 3)
    assert (m["response_hours_median"], m["response_hours_p90"]) == (
        pytest.approx(3.5),
        pytest.approx(5.5),
    )
    assert m["sla_hit_rate"] == pytest.approx(1 / 3)
    assert (m["deal_amount_total"], m["average_deal"], m["sales_cycle_days_median"]) == (
        70,
        35,
        pytest.approx(9.3125),
    )
    # from the fields: L1 counts as complete though its stored 信息完整度 says 基本完整
    assert (m["complete_info_rate"], m["basic_info_rate"]) == (
        pytest.approx(0.2),
        pytest.approx(0.8),
    )
    assert (m["pool_unassigned"], m["pool_overdue_first_contacts"], m["recycled"]) == (3, 1, 0)
    assert m["conversion_of_contacted"] == pytest.approx(0.5)
    assert m["sales_cycle_days_mean"] == pytest.approx(9.28125)
    assert m["follow_ups_done"] == 2
    expected = 7.58333333 / 2 + 9.625 / 7 + 2.375 / 1 + 21.625 / 7 + 31 / 7
    assert m["follow_ups_expected"] == pytest.approx(expected, abs=0.05)  # shown to 0.1
    assert m["follow_up_completion"] == pytest.approx(2 / expected, rel=1e-6)


def test_funnel_breakdowns_grades_trend_forecast(book, cli):
    r = run_report(cli, "--by", "source,owner")
    funnel = {f["stage"]: (f["reached"], f["from_previous"]) for f in r["funnel"]}
    assert funnel["new"] == (5, None)
    assert funnel["contacted"] == (2, pytest.approx(0.4))
    assert funnel["qualified"] == (1, pytest.approx(0.5))
    assert funnel["won"][0] == 1 and funnel["lost"][0] == 1
    source = {b["source"]: b for b in r["breakdowns"]["source"]}
    assert (source["website"]["new"], source["website"]["won"], source["website"]["lost"]) == (
        2,
        1,
        1,
    )
    assert source["website"]["conversion_of_new"] == pytest.approx(0.5)
    # channels.yaml is in 元, the report in 万元
    assert source["website"]["cost_per_lead"] == pytest.approx(1.0) and source["website"][
        "cost_per_won"
    ] == pytest.approx(2.0)
    assert (source["trade_show"]["new"], source["trade_show"]["won"]) == (
        1,
        1,
    )  # L3 won in March, made in February
    assert source["trade_show"]["cost_per_won"] == pytest.approx(15.0)
    assert source["partner"]["cost_per_lead"] is None  # no spend for partners in channels.yaml
    owners = {o["owner"]: o for o in r["breakdowns"]["owner"]}
    assert owners["李娜"]["won"] == 1 and owners["(blank)"]["new"] == 2
    reps = {x["owner"]: x for x in r["reps"]}
    assert (reps["李娜"]["assigned"], reps["李娜"]["contacted"], reps["李娜"]["sla_hit_rate"]) == (
        2,
        2,
        pytest.approx(0.5),
    )
    assert reps["张伟"]["sla_hit_rate"] == 0.0
    # the SLA their leads were given, in working hours: L4 9 h; L1 2 h and L2 4 h -> median 3 h
    assert (reps["张伟"]["sla_hours"], reps["李娜"]["sla_hours"]) == (9, 3)
    grades = {g["grade"]: g for g in r["grades"]}
    assert (grades["S"]["won_rate"], grades["A"]["won_rate"], grades["B"]["won_rate"]) == (
        1.0,
        1.0,
        0.0,
    )
    assert any("grade S" in w for w in r["warnings"])  # S did not convert better than A
    trend = [(t["period"], t["new_leads"], t["won"]) for t in r["trend"]]
    assert trend == [
        ("2025-10", 0, 0),
        ("2025-11", 0, 0),
        ("2025-12", 0, 0),
        ("2026-01", 1, 0),
        ("2026-02", 1, 0),
        ("2026-03", 5, 2),
    ]
    forecast = {f["status"]: f for f in r["forecast"]}
    assert (forecast["new"]["leads"], forecast["new"]["budget"], forecast["new"]["expected"]) == (
        4,
        40,
        pytest.approx(2.0),
    )
    assert forecast["proposal"]["expected"] == pytest.approx(18.0)
    # the rep's own commit for L9, and the best case: L9 at its commit, the new leads at their budget
    assert (forecast["proposal"]["commit"], forecast["proposal"]["best_case"]) == (35, 35)
    assert (forecast["new"]["commit"], forecast["new"]["best_case"]) == (0, 40)
    total = forecast["total"]
    assert (total["leads"], total["budget"], total["commit"], total["best_case"]) == (5, 80, 35, 75)
    assert total["expected"] == pytest.approx(20.0) and total["weight"] is None
    assert r["lost_reasons"] == [{"reason": "价格太高", "leads": 1}]
    sla = {g["grade"]: (g["decided"], g["hit"]) for g in r["sla_by_grade"]}
    assert (sla["A"], sla["B"], sla["C"]) == (
        (1, 1),
        (1, 0),
        (1, 0),
    )  # L1 on time, L2 late, L4 never


def test_empty_period_and_time_zone_edges(book, cli):
    r = cli("report", "--period", "month", "--as-of", "2025-11-15", "--format", "json")
    m = json.loads(r.stdout)["metrics"]
    assert (m["new_leads"], m["won"], m["conversion_of_new"], m["response_hours_median"]) == (
        0,
        0,
        None,
        None,
    )
    # an offset in --as-of is converted to the workspace zone: 2026-03-31T16:00Z is 1 April in Shanghai
    april = json.loads(
        cli(
            "report",
            "--period",
            "month",
            "--as-of",
            "2026-03-31T16:00:00+00:00",
            "--format",
            "json",
        ).stdout
    )
    assert april["period"] == "2026-04" and april["metrics"]["new_leads"] == 1  # L8 only
    march = json.loads(
        cli(
            "report",
            "--period",
            "month",
            "--as-of",
            "2026-03-31T15:59:00+00:00",
            "--format",
            "json",
        ).stdout
    )
    assert march["period"] == "2026-03" and march["metrics"]["new_leads"] == 5  # L7 at 23:30 counts


@pytest.mark.parametrize(("kind", "as_of", "start", "end"), [
    ("week", "2026-03-04 10:00", "2026-03-02", "2026-03-09"),
    ("quarter", "2026-05-20", "2026-04-01", "2026-07-01"),
    ("year", "2026-05-20", "2026-01-01", "2027-01-01"),
])  # fmt: skip
def test_period_bounds(kind, as_of, start, end):
    assert period_bounds(kind, T(as_of).to_pydatetime()) == (T(start), T(end))


def test_custom_range_and_markdown(book, cli):
    r = json.loads(
        cli(
            "report",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-06",
            "--format",
            "json",
            "--as-of",
            "2026-04-02",
        ).stdout
    )
    assert r["metrics"]["new_leads"] == 2
    assert r["period"] == "2026-03-01~2026-03-05"  # its own dates, not "2026-03"
    md = cli("report", "--period", "month", "--previous", "--as-of", "2026-04-02", "--format", "md")
    assert (
        md.stdout.startswith("### leadkit 报告 2026-03")
        and "| 初步接洽 | 2 | 40.0% |" in md.stdout
        and "| 来源渠道 | 新增线索 | 成交 | 新线索转化率 |" in md.stdout
        and "| 官网表单 | 2 | 1 | 50.0% |" in md.stdout
        and "流失 |" not in md.stdout.split("| 阶段")[1].split("\n\n")[0]  # lost is no funnel stage
    )
    assert cli("report", "--period", "decade").exit_code == 2
    assert cli("report", "--by", "nonsense").exit_code == 2


# Every view sheet of the March report (--by source,grade,owner), cell by cell, worked out from ROWS
# (None: an empty cell). Money in 万元, rates as fractions, hours on the SLA clock (09:00-18:00
# weekdays in routing.yaml).
N = None
HAND_SHEETS = {
    # March's new leads L1 L2 L4 L5 L7: L1 L2 contacted, L1 won (so it passed every stage); at the
    # month's end L4 L5 L7 stood at 未接触, L2 was lost, L1 won
    "漏斗": [("阶段", "到达数", "较上一阶段", "期末在此阶段"),
             ("未接触", 5, N, 3), ("初步接洽", 2, 0.4, 0), ("需求明确", 1, 0.5, 0),
             ("方案提交", 1, 1, 0), ("商务谈判", 1, 1, 0), ("成交", 1, 1, 1)],
    # website: L1 won, L2 lost, 20000 元 = 2 万元 spend; trade show: L4 new, L3 (February) won in
    # March, 150000 元; social: L7 (L8 is April), 8000 元; partner: L5, no spend in channels.yaml
    "按来源渠道": [("来源渠道", "新增线索", "成交", "流失", "成交金额(万元)", "新线索转化率", "关闭赢单率",
                    "渠道费用(万元)", "单条线索成本(万元)", "单个成交成本(万元)"),
                   ("官网表单", 2, 1, 1, 20, 0.5, 0.5, 2, 1, 2),
                   ("合作伙伴推荐", 1, 0, 0, 0, 0, N, N, N, N),
                   ("社交媒体", 1, 0, 0, 0, 0, N, 0.8, 0.8, N),
                   ("展会", 1, 1, 0, 50, 0, 1, 15, 15, 15)],
    # B: L2 (lost) L5; blank: L7; A: L1 won; C: L4; S: L3 won in March but made in February
    "按线索等级": [("线索等级", "新增线索", "成交", "流失", "成交金额(万元)", "新线索转化率", "关闭赢单率"),
                   ("B", 2, 0, 1, 0, 0, 0), ("(空)", 1, 0, 0, 0, 0, N), ("A", 1, 1, 0, 20, 1, 1),
                   ("C", 1, 0, 0, 0, 0, N), ("S", 0, 1, 0, 50, N, 1)],
    "按负责人": [("负责人", "新增线索", "成交", "流失", "成交金额(万元)", "新线索转化率", "关闭赢单率"),
                 ("(空)", 2, 0, 0, 0, 0, N), ("李娜", 2, 1, 1, 20, 0.5, 0.5),
                 ("张伟", 1, 1, 0, 50, 0, 1)],
    # 张伟: L4 assigned Tue 10 March 09:00, due 24 clock hours later = 9 working hours, never called;
    # L3 (won) was assigned in February. 李娜: L1 called after 1 h (SLA 2 h), L2 after 6 h (SLA 4 h):
    # mean and median 3.5 h, SLA median 3 h, 1 of 2 on time; L9 (January) is her open lead
    "销售": [("负责人", "分配数", "首次跟进", "成交", "流失", "进行中", "平均响应时长(小时)",
              "响应时长中位数(小时)", "SLA时限(小时)", "SLA达成率", "关闭赢单率"),
             ("张伟", 1, 0, 1, 0, 1, N, N, 9, 0, 1),
             ("李娜", 2, 2, 1, 1, 1, 3.5, 3.5, 3, 0.5, 0.5)],
    # closed in March: L3 (S, won), L1 (A, won), L2 (B, lost)
    "等级验证": [("线索等级", "已关闭", "成交", "赢单率"),
                 ("S", 1, 1, 1), ("A", 1, 1, 1), ("B", 1, 0, 0), ("C", 0, 0, N)],
    # L9 in January, L3 in February (won only in March, after February's end)
    "趋势": [("期间", "新增线索", "成交", "新线索转化率", "关闭赢单率"),
             ("2025-10", 0, 0, N, N), ("2025-11", 0, 0, N, N), ("2025-12", 0, 0, N, N),
             ("2026-01", 1, 0, 0, N), ("2026-02", 1, 0, 0, N), ("2026-03", 5, 2, 0.2, 2 / 3)],
    # open: L4 (30) L5 (10) L7 L8 (no budget) at 5 %; L9 40 at 45 %, its rep commits 35
    "预测": [("客户状态", "线索数", "预算(万元)", "成交概率", "阶段加权预测(万元)", "销售承诺预测(万元)",
              "最佳情况(万元)"),
             ("未接触", 4, 40, 0.05, 2, 0, 40), ("方案提交", 1, 40, 0.45, 18, 35, 35),
             ("合计", 5, 80, N, 20, 35, 75)],
    "流失原因": [("流失原因", "线索数"), ("价格太高", 1)],
    # assigned in March: L1 (A) on time after 1 h, L2 (B) late after 6 h, L4 (C) never called;
    # L7 L8 have no grade (空), L3 (S) was assigned in February
    "等级SLA": [("线索等级", "已到期", "按时跟进", "SLA达成率", "平均响应时长(小时)", "响应时长中位数(小时)"),
                ("(空)", 0, 0, N, N, N), ("A", 1, 1, 1, 1, 1), ("B", 1, 0, 0, 6, 6),
                ("C", 1, 0, 0, N, N), ("S", 0, 0, N, N, N)],
}  # fmt: skip
# what each chart draws: its series' cells, by sheet (the table's columns above)
HAND_CHARTS = {
    "漏斗": [[5, 2, 1, 1, 1, 1]],
    "按来源渠道": [[0.5, 0, 0, 0]],
    "按线索等级": [[0, 0, 1, 0, N]],
    "按负责人": [[0, 0.5, 0]],
    "销售": [[N, 3.5], [N, 3.5], [9, 3]],  # median, mean, SLA: clustered columns per rep
    "等级验证": [[1, 1, 0, N]],
    "趋势": [[0, 0, 0, 1, 1, 5]],
}  # fmt: skip


def _chart_refs(zf: zipfile.ZipFile, name: str) -> list[tuple[str, str, int, int]]:
    xml = zf.read(name).decode()
    refs = []
    for ref in re.findall(r"<c:val><c:numRef><c:f>([^<]+)</c:f>", xml):
        sheet, cells = ref.rsplit("!", 1)
        col = re.match(r"\$?([A-Z]+)", cells).group(1)
        rows = [int(x) for x in re.findall(r"\d+", cells)]
        refs.append((sheet.strip("'"), col, rows[0], rows[-1]))
    return refs


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def test_excel_report_is_the_hand_figures_and_prints_one_page_per_view(
    book, cli, workspace, soffice, tmp_path
):
    """Golden Excel: every view sheet cell by cell, charts with data, print areas ending at the
    chart; LibreOffice prints one page per sheet and draws every chart."""
    import openpyxl

    out = workspace / "r.xlsx"
    args = ("report", "--period", "month", "--previous", "--as-of", "2026-04-02")
    assert cli(*args, "--by", "source,grade,owner", "--out", out, "-q").exit_code == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总", *HAND_SHEETS]
    for title, hand in HAND_SHEETS.items():
        cells = [row for row in wb[title].iter_rows(values_only=True)]
        assert len(cells) == len(hand), title
        for got, want in zip(cells, hand, strict=True):
            hand_row = [pytest.approx(v) if isinstance(v, float) else v for v in want]
            assert list(got) == hand_row, title
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["跟进计划完成率"] == pytest.approx(2 / 15.05952, rel=1e-4)
    assert summary["平均销售周期(天,自分配)"] == pytest.approx(9.28125)
    assert wb["漏斗"]["C3"].number_format == "0.0%" and wb["销售"]["H3"].number_format == "0.0"
    assert wb["预测"]["C2"].number_format == "#,##0.00"
    for ws in wb:
        assert ws.auto_filter.ref and ws.freeze_panes == "B2", ws.title
        setup = ws.page_setup
        assert setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        fit = (setup.fitToWidth, setup.fitToHeight)
        assert fit in ((1, 0), (None, 0)), ws.title  # fit to width (1 is the default width)
    with zipfile.ZipFile(out) as zf:
        drawn: dict[str, list[list]] = {}
        for name in sorted(n for n in zf.namelist() if n.startswith("xl/charts/chart")):
            xml = zf.read(name).decode()
            assert "<c:title>" in xml and xml.count("<c:valAx>") == 1, name
            assert '<c:barDir val="col"/>' in xml or "<c:lineChart>" in xml, name  # no bars
            for sheet, col, first, last in _chart_refs(zf, name):
                ws = wb[sheet]
                drawn.setdefault(sheet, []).append(
                    [ws[f"{col}{r}"].value for r in range(first, last + 1)]
                )
        assert drawn == HAND_CHARTS
        # the print area ends where the chart does: its last column and row are the chart's
        for index, title in enumerate(wb.sheetnames, start=1):
            rels = f"xl/worksheets/_rels/sheet{index}.xml.rels"
            area = re.findall(r"\$([A-Z]+)\$(\d+)", wb[title].print_area)[-1]
            last_col, last_row = _col_index(area[0]), int(area[1]) - 1
            if title not in HAND_CHARTS:
                assert rels not in zf.namelist() or "drawing" not in zf.read(rels).decode()
                assert last_col == wb[title].max_column - 1, title  # the table, nothing more
                continue
            [target] = re.findall(r"drawings/(drawing\d+\.xml)", zf.read(rels).decode())
            anchor = zf.read(f"xl/drawings/{target}").decode()
            [to] = re.findall(r"<xdr:to><xdr:col>(\d+)</xdr:col><xdr:colOff>(\d+)</xdr:colOff>"
                              r"<xdr:row>(\d+)</xdr:row><xdr:rowOff>(\d+)</xdr:rowOff>", anchor)  # fmt: skip
            assert (int(to[0]), int(to[1]), int(to[2]), int(to[3])) == (
                last_col + 1, 0, max(last_row + 1, 15), 0,
            ), title  # fmt: skip
            assert last_row == max(len(HAND_SHEETS[title]) - 1, 14), title
    pdf = soffice(out, "pdf", tmp_path / "pdf")
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())
    assert len(pages) == len(wb.sheetnames)  # one page per view, fit to width
    import subprocess

    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    text = re.sub(rb"\s+", b"", text)  # pdftotext spaces Latin words out of Chinese text
    for title in ("线索漏斗", "各来源渠道新线索转化率", "各销售响应时长与SLA时限", "新增线索趋势"):
        assert title.encode() in text, title  # LibreOffice drew the chart on its page
    converted = soffice(out, "xlsx", tmp_path / "lo")
    with zipfile.ZipFile(converted) as zf:
        charts = [n for n in zf.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)]
        assert len(charts) == len(HAND_CHARTS), "LibreOffice kept every chart"
        for name in charts:  # LibreOffice's own cache of what it drew: numbers, not all zero
            cached = re.findall(r"<c:v>([^<]*)</c:v>", zf.read(name).decode())
            assert any(float(v) for v in cached if re.fullmatch(r"-?[\d.]+(E-?\d+)?", v)), name
    import fastexcel

    summary = fastexcel.read_excel(str(converted)).load_sheet(0).to_pandas()
    assert summary.iloc[0].tolist() == ["新增线索", 5, "5"]
    assert summary.iloc[4].tolist() == ["新线索转化率", pytest.approx(0.2), "20.0%"]


def test_funnel_counts_the_furthest_stage_of_the_history():
    from leadkit.report import funnel

    leads = pd.DataFrame({
        "lead_id": ["A", "B", "C", "D"], "created_at": [T("2026-03-02")] * 4,
        "status": ["lost", "lost", "won", "contacted"],
        "closed_at": [T("2026-03-20"), T("2026-03-21"), T("2026-04-03"), pd.NaT],
    })  # fmt: skip
    activities = pd.DataFrame({
        "date": [T("2026-03-05"), T("2026-03-10"), T("2026-04-02")], "lead_id": ["A", "A", "D"],
        "status_after": ["qualified", "proposal", "negotiation"],
    })  # fmt: skip
    log = pd.DataFrame({"time": [T("2026-03-08")], "command": ["log"], "lead_id": ["C"],
                        "column": ["status"], "old": ["contacted"], "new": ["qualified"]})  # fmt: skip
    frame = funnel(leads, T("2026-03-01"), T("2026-04-01"), activities, log)
    reached = dict(zip(frame["stage"], frame["reached"], strict=True))
    # A went to 方案提交 before it was lost; B lost with no history reached 初步接洽; C was won only
    # in April (it reached 需求明确 in March); D's 商务谈判 came in April
    assert reached == {"new": 4, "contacted": 4, "qualified": 2, "proposal": 1, "negotiation": 0,
                       "won": 0, "lost": 2}  # fmt: skip


def test_every_output_agrees_with_the_hand_figures(book, cli, workspace):
    """Terminal, JSON, Markdown, Excel and HTML show the same hand-worked March (see the top)."""
    import openpyxl

    base = ("report", "--period", "month", "--previous", "--as-of", "2026-04-02T10:00")
    hand = {"新增线索": 5, "成交": 2, "流失": 1, "新线索转化率": "20.0%", "接触线索转化率": "50.0%",
            "关闭赢单率": "66.7%", "SLA达成率": "33.3%", "成交总额(万元)": 70}  # fmt: skip
    shown = {k: v if isinstance(v, str) else str(v) for k, v in hand.items()}
    table = cli(*base).stdout
    for label, value in shown.items():
        assert re.search(rf"{re.escape(label)}\s*│\s*{re.escape(value)}\s", table), label
    md = cli(*base, "--format", "md").stdout
    for label, value in shown.items():
        assert f"- {label}: **{value}**" in md
    assert cli(*base, "--out", workspace / "r.html", "-q").exit_code == 0
    page = (workspace / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page
    for label, value in shown.items():
        assert f"<td>{label}</td><td>{value}</td>" in page
    assert '<td class="c">未接触</td>' in page  # the funnel's bars, in the book's words
    assert cli(*base, "--out", workspace / "r.xlsx", "-q").exit_code == 0
    summary = openpyxl.load_workbook(workspace / "r.xlsx")["汇总"]
    cells = {r[0].value: (r[1].value, r[2].value) for r in summary.iter_rows(min_row=2)}
    for label, value in hand.items():
        number, text = cells[label]
        assert text == shown[label]
        if not isinstance(value, str):
            assert number == value
    assert cli(*base, "--out", workspace / "r.md", "-q").exit_code == 0
    assert (workspace / "r.md").read_text(encoding="utf-8") == md
    assert cli(*base, "--out", workspace / "r.pdf").exit_code == 2


def test_html_report_escapes_what_the_book_holds(workspace, rules, cli):
    b = bookio.new_book(workspace / "leads.xlsx", "zh", rules.columns)
    b.append("leads", pd.DataFrame([dict(ROWS[1], lost_reason="<script>alert(1)</script>")]))
    bookio.save_book(b, rules.columns, state_dir=workspace / ".leadkit", command="test",
                     as_of=dt.datetime(2026, 4, 2))  # fmt: skip
    args = ("report", "--period", "month", "--as-of", "2026-03-31", "--out", "r.html", "-q")
    assert cli(*args).exit_code == 0
    page = (workspace / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_response_time_is_on_the_sla_clock_mean_and_median_per_grade_and_rep():
    from leadkit.report import metrics, per_rep, sla_by_grade
    from leadkit.routing import WorkingHours

    wh = WorkingHours.model_validate(
        {"start": "09:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    )
    leads = pd.DataFrame([
        # assigned Friday 17:00, called Monday 10:00: 65 clock hours, 2 working hours, SLA (4 h) met
        dict(lead_id="L1", grade="B", owner="李娜", assigned_at=T("2026-03-06 17:00"),
             first_contact_due=T("2026-03-09 12:00"), first_contact_at=T("2026-03-09 10:00")),
        # assigned Monday 09:00, called Monday 13:00: 4 hours on both clocks
        dict(lead_id="L2", grade="B", owner="李娜", assigned_at=T("2026-03-09 09:00"),
             first_contact_due=T("2026-03-09 13:00"), first_contact_at=T("2026-03-09 13:00")),
        # assigned Tuesday 16:00, called Thursday 10:00: 2 + 9 + 1 = 12 working hours
        dict(lead_id="L3", grade="A", owner="张伟", assigned_at=T("2026-03-10 16:00"),
             first_contact_due=T("2026-03-10 18:00"), first_contact_at=T("2026-03-12 10:00")),
    ]).assign(created_at=T("2026-03-06"), status="contacted", deal_amount=None, closed_at=pd.NaT,
              completeness="basic", duplicate_of=None)  # fmt: skip
    start, end, now = T("2026-03-01"), T("2026-04-01"), dt.datetime(2026, 3, 20)
    m = metrics(
        leads,
        pd.DataFrame(),
        pd.DataFrame(),
        start,
        end,
        now=now,
        cadence={"C": 7},
        working_hours=wh,
    )
    assert (m["response_hours_mean"], m["response_hours_median"]) == (pytest.approx(6), 4)
    clock = metrics(leads, pd.DataFrame(), pd.DataFrame(), start, end, now=now, cadence={"C": 7})
    assert clock["response_hours_median"] == 42  # without working hours the clock counts
    grades = sla_by_grade(leads, start, end, now, wh).set_index("grade")
    assert grades.loc["B", ["response_hours_mean", "response_hours_median"]].tolist() == [3, 3]
    assert grades.loc["A", "response_hours_mean"] == 12
    reps = per_rep(leads, start, end, now, wh).set_index("owner")
    assert reps.loc["李娜", ["response_hours_mean", "response_hours_median"]].tolist() == [3, 3]
    assert reps.loc["张伟", "response_hours_median"] == 12


@pytest.mark.parametrize("hours", [0.5, 2, 4, 9, 24, 61.25])
@pytest.mark.parametrize(
    "start", ["2026-03-06 17:00", "2026-03-07 11:00", "2026-03-09 08:00", "2026-03-10 12:34"]
)
def test_working_hours_between_undoes_the_sla_deadline(start, hours):
    from leadkit.routing import WorkingHours, add_working_hours, working_hours_between

    wh = WorkingHours.model_validate(
        {"start": "09:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    )
    due = add_working_hours(T(start), hours, wh)
    between = working_hours_between(pd.Series([T(start)]), pd.Series([due]), wh)
    assert between.iloc[0] == pytest.approx(hours)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from leadkit import demo

    folder = tmp_path_factory.mktemp("demo") / "d"
    return folder, demo.run(folder, as_of="2026-03-01T09:00")


def test_the_demos_reports_do_not_contradict_themselves(demo_run):
    """The issue's 2025 report said 151 won beside 166 in the funnel and 'contacted 0' beside 420."""
    folder, outcome = demo_run
    for rep in (outcome.report, outcome.history_report):
        m, funnel = rep.metrics, rep.funnel.set_index("stage")["reached"]
        for view in rep.breakdowns.values():  # every view counts the same leads
            assert view[["new", "won", "lost"]].sum().tolist() == [
                m["new_leads"],
                m["won"],
                m["lost"],
            ]
        assert funnel["new"] == m["new_leads"]
        assert funnel["lost"] == m["lost"]
        assert m["conversion_of_new"] == pytest.approx(funnel["won"] / funnel["new"])
        if funnel["contacted"]:
            assert m["conversion_of_contacted"] == pytest.approx(
                funnel["won"] / funnel["contacted"]
            )
    # every lead of the 2025 book came in and closed in 2025 (the sample once closed 46 of them in
    # 2026, after the book was written): the year's won and lost are what train learnt from, and
    # its won and contacted are the funnel's, in the terminal/JSON figures and in Excel alike
    rep = outcome.history_report
    m, funnel = rep.metrics, rep.funnel.set_index("stage")["reached"]
    assert (outcome.training.won, outcome.training.lost) == (166, 254)
    assert (m["new_leads"], m["won"], m["lost"]) == (420, 166, 254)
    assert m["won"] == funnel["won"] and m["contacted"] == funnel["contacted"] == 420
    # the history's follow-ups give the funnel its middle stages (a lost lead stopped somewhere)
    # and the year a follow-up plan that was kept, not 0 % or none
    assert 420 > funnel["qualified"] > funnel["proposal"] > funnel["negotiation"] > 166
    assert 0.9 < m["follow_up_completion"] <= 1.0 and m["follow_ups_done"] > 3000
    assert m["sla_hit_rate"] and m["response_hours_median"] and m["complete_info_rate"] is not None
    assert rep.reps[["won", "lost"]].sum().tolist() == [m["won"], m["lost"]]
    import openpyxl

    wb = openpyxl.load_workbook(folder / "report_2025.xlsx")
    shown = {row[0]: row[1] for row in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    in_funnel = {row[0]: row[1] for row in wb["漏斗"].iter_rows(min_row=2, values_only=True)}
    assert shown["成交"] == in_funnel["成交"] == 166
    assert shown["新增线索"] == in_funnel["未接触"] == 420
    assert shown["本期首次跟进"] == in_funnel["初步接洽"] == 420
    assert shown["跟进计划完成率"] == pytest.approx(m["follow_up_completion"])
    with zipfile.ZipFile(folder / "report_2025.xlsx") as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
        assert charts
        for name in charts:
            xml = zf.read(name).decode()
            for ref in re.findall(r"<c:val><c:numRef><c:f>([^<]+)</c:f>", xml):
                sheet, cells = ref.rsplit("!", 1)
                col = re.match(r"\$?([A-Z]+)", cells).group(1)
                rows = [int(x) for x in re.findall(r"\d+", cells)]  # one cell: $B$2
                values = [
                    wb[sheet.strip("'")][f"{col}{r}"].value for r in range(rows[0], rows[-1] + 1)
                ]
                assert any(values), f"{name} draws no data"


def test_follow_up_plan_kept_counts_no_lead_past_its_own_plan():
    # the week 2026-03-02..08, C cadence 7 days, B 7, A 2:
    #   L1 (A) owned all week: 7 d / 2 = 3.5 asked, 1 call              -> 1 kept
    #   L2 (C) closed Sunday 2026-03-08 00:00 after 6 days: 6/7 asked, 4 calls -> 6/7 kept, not 4
    # kept (1 + 6/7) / asked (3.5 + 6/7) = 0.4262; done counts every call: 5
    leads = pd.DataFrame([
        dict(lead_id="L1", grade="A", owner="李娜", assigned_at=T("2026-02-20"), status="contacted"),
        dict(lead_id="L2", grade="C", owner="张伟", assigned_at=T("2026-02-20"), status="won",
             closed_at=T("2026-03-08"), deal_amount=10.0),
    ]).assign(created_at=T("2026-02-20"), completeness="basic", duplicate_of=None)  # fmt: skip
    calls = ["L1", "L2", "L2", "L2", "L2"]
    activities = pd.DataFrame(
        {"date": [T(f"2026-03-0{d}") for d in (3, 3, 4, 5, 7)], "lead_id": calls}
    )
    start, end = T("2026-03-02"), T("2026-03-09")
    m = metrics(leads, activities, pd.DataFrame(), start, end,
                now=dt.datetime(2026, 3, 20), cadence={"A": 2, "C": 7})  # fmt: skip
    assert m["follow_ups_done"] == 5
    assert m["follow_ups_expected"] == pytest.approx(3.5 + 6 / 7, abs=0.05)
    assert m["follow_up_completion"] == pytest.approx((1 + 6 / 7) / (3.5 + 6 / 7))


def test_a_week_is_named_by_its_days_in_any_language(book, cli):
    r = run_report(cli, "--period", "week")
    assert r["period"] == "2026-03-23~2026-03-29"


def test_feedback_view_counts_the_periods_feedback_by_type_and_priority_and_what_is_open(
    workspace, rules, cli
):
    """March by hand: F1 (price, high, open, due 03-08: overdue on 04-02), F2 (price, low,
    客户认可: closed), F3 (service, medium, 待确认 with no 完成时限: 03-20 + 3 days, overdue),
    F4 (product, February: not received in March, still open, due 04-10: not overdue)."""
    import openpyxl

    b = bookio.new_book(workspace / "leads.xlsx", "zh", rules.columns)
    b.append("leads", pd.DataFrame(ROWS))
    b.append("feedback", pd.DataFrame([
        dict(time=T("2026-03-05 10:00"), lead_id="L1", type="price", priority="high", due=T("2026-03-08")),
        dict(time=T("2026-03-06 10:00"), lead_id="L2", type="price", priority="low", confirmation="客户认可"),
        dict(time=T("2026-03-20 10:00"), lead_id="L9", type="service", priority="medium", confirmation="待确认"),
        dict(time=T("2026-02-20 10:00"), lead_id="L3", type="product", priority="high", due=T("2026-04-10")),
    ]))  # fmt: skip
    bookio.save_book(b, rules.columns, state_dir=workspace / ".leadkit", command="test",
                     as_of=dt.datetime(2026, 4, 2))  # fmt: skip
    got = {r["feedback_type"]: r for r in run_report(cli)["feedback"]}
    keys = ["received", "high", "medium", "low", "unresolved", "overdue"]
    assert [got["price"][k] for k in keys] == [2, 1, 0, 1, 1, 1]
    assert [got["service"][k] for k in keys] == [1, 0, 1, 0, 1, 1]
    assert [got["product"][k] for k in keys] == [0, 0, 0, 0, 1, 0]
    assert [got["decision"][k] for k in keys] == [0] * 6
    assert [got["total"][k] for k in keys] == [3, 1, 1, 1, 3, 2]
    base = ("report", "--period", "month", "--previous", "--as-of", "2026-04-02T10:00")
    table = cli(*base).stdout
    assert re.search(r"价格类\s*│\s*2\s*│\s*1\s*│\s*0\s*│\s*1\s*│\s*1\s*│\s*1\s", table)
    assert cli(*base, "--out", workspace / "r.xlsx", "-q").exit_code == 0
    sheet = openpyxl.load_workbook(workspace / "r.xlsx")["客户反馈"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == [
        "反馈类型",
        "本期收到",
        "高优先级",
        "中优先级",
        "低优先级",
        "未关闭",
        "已逾期",
    ]
    assert rows[2] == ["价格类", 2, 1, 0, 1, 1, 1] and rows[-1][0] == "合计"
