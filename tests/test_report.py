"""Every metric against numbers worked out by hand for a small book (written out below)."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile

import pandas as pd
import pytest

from leadkit import bookio
from leadkit.steps.report import metrics, period_bounds

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
    from leadkit.steps.report import funnel

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
    from leadkit.rules.routing import WorkingHours
    from leadkit.steps.report import metrics, per_rep, sla_by_grade

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
    from leadkit.rules.routing import WorkingHours
    from leadkit.steps.routing import add_working_hours, working_hours_between

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
    # RFM of the same book: every won deal of 2025 belongs to one of its companies, once; the
    # sample writes each company's name one way, so a customer is a distinct name (a trade name
    # in two cities is two customers)
    history = pd.read_excel(folder / "inbox" / "history.xlsx", sheet_name="线索")
    companies = history.loc[history["客户状态"] == "成交", "企业名称"].nunique()
    customers = rep.rfm.customers
    assert (len(customers), customers["frequency"].sum()) == (companies, 166)
    assert customers["monetary"].sum() == pytest.approx(m["deal_amount_total"])
    assert rep.rfm.segments["customers"].sum() == companies
    import openpyxl

    wb = openpyxl.load_workbook(folder / "report_2025.xlsx")
    shown = {row[0]: row[1] for row in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    in_funnel = {row[0]: row[1] for row in wb["漏斗"].iter_rows(min_row=2, values_only=True)}
    assert shown["成交"] == in_funnel["成交"] == 166
    assert shown["新增线索"] == in_funnel["未接触"] == 420
    assert shown["本期首次跟进"] == in_funnel["初步接洽"] == 420
    assert shown["跟进计划完成率"] == pytest.approx(m["follow_up_completion"])
    rfm_sheet = list(wb["RFM客户"].iter_rows(min_row=2, values_only=True))
    assert len(rfm_sheet) == companies and sum(row[4] for row in rfm_sheet) == 166
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


def test_the_summary_sheet_shows_each_number_in_its_unit(book, cli, workspace):
    import openpyxl

    args = ["report", "--period", "month", "--previous", "--as-of", "2026-04-02T10:00"]
    assert cli(*args, "--out", workspace / "r.xlsx", "-q").exit_code == 0
    ws = openpyxl.load_workbook(workspace / "r.xlsx")["汇总"]
    cells = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(2, ws.max_row + 1)}
    assert (cells["新增线索"].value, cells["新增线索"].number_format) == (5, "#,##0")
    assert cells["新线索转化率"].value == pytest.approx(0.2)
    assert cells["新线索转化率"].number_format == "0.0%"
    assert cells["成交总额(万元)"].number_format == "#,##0.00"


# RFM (`report --rfm`), as of 2026-04-02 10:00, on a book of won deals worked out by hand:
#   鼎盛科技: W1 北京鼎盛科技有限公司 2026-03-30 30 万 (李娜) + W2 鼎盛科技 2025-12-01 20 万 (one company
#             key, so one customer, named and owned as on its latest deal)   R 3 d   F 2  M 50
#   华信软件: W3 2026-03-01 100 + W4 2026-02-01 50 + W5 2026-01-10 10               R 32 d  F 3  M 160
#   远航物流: W6 2025-10-02 80                                                       R 182 d F 1  M 80
#   星辰教育: W7 2026-03-20 5                                                        R 13 d  F 1  M 5
#   W9 (no company, no amount): 2025-06-01                                          R 305 d F 1  M 0
# left out: W8 merged into W7 (its survivor's deal), W10 won with no close date (a warning),
# W11 closed 2026-04-05 (after --as-of), L12 鼎盛 lost.
# Quantile scores, 5 customers, score = ceil(rank / 5 × 5) = rank, ties at their average rank:
#   R (fewer days better): W9 1, 远航 2, 华信 3, 星辰 4, 鼎盛 5
#   F: 远航 星辰 W9 tie at ranks 1-3 (average 2) -> 2; 鼎盛 4; 华信 5
#   M: W9 1, 星辰 2, 鼎盛 3, 远航 4, 华信 5
# high_at 4: 鼎盛 H H L 一般价值; 华信 L H H 重要保持; 远航 L L H 重要挽留; 星辰 H L L 一般发展;
# W9 L L L 一般挽留. Shown in report.yaml's segment order, then by monetary.
def _won(lead_id, company, closed, amount, owner="张伟", **extra):
    return dict(lead_id=lead_id, company=company, status="won", closed_at=closed, deal_amount=amount,
                owner=owner, created_at=T("2025-05-01"), grade="A", **extra)  # fmt: skip


RFM_ROWS = [
    _won("W1", "北京鼎盛科技有限公司", T("2026-03-30 15:00"), 30.0, owner="李娜"),
    _won("W2", "鼎盛科技", T("2025-12-01 10:00"), 20.0),
    _won("W3", "上海华信软件有限公司", T("2026-03-01 09:00"), 100.0),
    _won("W4", "华信软件", T("2026-02-01 09:00"), 50.0),
    _won("W5", "华信软件(上海)有限公司", T("2026-01-10 09:00"), 10.0),
    _won("W6", "远航物流股份有限公司", T("2025-10-02 09:00"), 80.0),
    _won("W7", "星辰教育", T("2026-03-20 09:00"), 5.0),
    _won("W8", "星辰教育", T("2026-03-20 09:00"), 5.0, duplicate_of="W7"),
    _won("W9", None, T("2025-06-01 09:00"), None),
    _won("W10", "无日期公司", pd.NaT, 9.0),
    _won("W11", "未来科技", T("2026-04-05 09:00"), 7.0),
    dict(lead_id="L12", company="鼎盛科技", status="lost", closed_at=T("2026-03-01"),
         created_at=T("2026-02-01"), lost_reason="价格太高"),
]  # fmt: skip
RFM_CUSTOMERS = [  # customer, owner, last won, R days, F, M, R F M scores, segment
    ("上海华信软件有限公司", "张伟", "2026-03-01", 32, 3, 160, 3, 5, 5, "重要保持客户"),
    ("远航物流股份有限公司", "张伟", "2025-10-02", 182, 1, 80, 2, 2, 4, "重要挽留客户"),
    ("北京鼎盛科技有限公司", "李娜", "2026-03-30", 3, 2, 50, 5, 4, 3, "一般价值客户"),
    ("星辰教育", "张伟", "2026-03-20", 13, 1, 5, 4, 2, 2, "一般发展客户"),
    ("W9", "张伟", "2025-06-01", 305, 1, 0, 1, 2, 1, "一般挽留客户"),
]
RFM_SEGMENTS = [  # segment, customers, share, monetary, mean recency (days)
    ("重要价值客户", 0, 0, 0, N), ("重要发展客户", 0, 0, 0, N), ("重要保持客户", 1, 0.2, 160, 32),
    ("重要挽留客户", 1, 0.2, 80, 182), ("一般价值客户", 1, 0.2, 50, 3), ("一般发展客户", 1, 0.2, 5, 13),
    ("一般保持客户", 0, 0, 0, N), ("一般挽留客户", 1, 0.2, 0, 305),
]  # fmt: skip
RFM_ARGS = ("report", "--rfm", "--period", "month", "--as-of", "2026-04-02T10:00")


@pytest.fixture
def rfm_book(workspace, rules):
    b = bookio.new_book(workspace / "leads.xlsx", "zh", rules.columns)
    b.append("leads", pd.DataFrame(RFM_ROWS))
    bookio.save_book(b, rules.columns, state_dir=workspace / ".leadkit", command="test",
                     as_of=dt.datetime(2026, 4, 2))  # fmt: skip
    return workspace / "leads.xlsx"


def test_rfm_by_hand_in_json_and_markdown(rfm_book, cli):
    result = cli(*RFM_ARGS, "--format", "json")
    assert result.exit_code == 0, result.stderr
    r = json.loads(result.stdout)
    names = {k: v["zh"] for k, v in r["rfm"]["segment_names"].items()}
    got = [(c["customer"], c["owner"], c["last_won"], c["recency_days"], c["frequency"], c["monetary"],
            c["r_score"], c["f_score"], c["m_score"], names[c["segment"]]) for c in r["rfm"]["customers"]]  # fmt: skip
    assert got == RFM_CUSTOMERS
    segments = [(names[s["segment"]], s["customers"], s["customer_share"], s["monetary"],
                 s["recency_days_mean"]) for s in r["rfm"]["segments"]]  # fmt: skip
    assert segments == [(n, c, pytest.approx(sh), m, d) for n, c, sh, m, d in RFM_SEGMENTS]
    assert "1 won lead(s) have no close date: left out of RFM" in r["warnings"]
    md = cli(*RFM_ARGS, "--format", "md").stdout
    assert "| 客户分层 | 客户数 | 客户占比 | 成交金额合计(万元) |" in md
    assert "| 重要保持客户 | 1 | 20.0% | 160 |" in md
    assert "| 北京鼎盛科技有限公司 | 李娜 | 3 | 2 | 50 | 5 | 4 | 3 | 一般价值客户 |" in md
    assert "| W9 | 张伟 | 305 | 1 | 0 | 1 | 2 | 1 | 一般挽留客户 |" in md
    # without --rfm the report has no RFM at all
    assert "rfm" not in json.loads(cli(*RFM_ARGS[:1], *RFM_ARGS[2:], "--format", "json").stdout)


def test_rfm_terminal_and_html(rfm_book, cli, workspace):
    table = cli(*RFM_ARGS).stdout
    assert "RFM分层" in table and "RFM客户" in table
    assert re.search(r"重要挽留客户\s*│\s*1\s*│\s*20\.0%\s*│\s*80\s*│\s*182\s*│\s*█+", table)
    # a customer's row, with its text (owner, segment) to the left (an 80-column terminal cuts
    # long company names, so the short one)
    assert re.search(
        r"│ 星辰教育\s*│ 张伟\s*│ 2026-03-20\s*│\s*13 │\s*1 │\s*5 │\s*4 │\s*2 │\s*2 │ 一般发展客户",
        table,
    )
    assert cli(*RFM_ARGS, "--out", workspace / "r.html", "-q").exit_code == 0
    page = (workspace / "r.html").read_text(encoding="utf-8")
    assert "<h2>RFM分层</h2>" in page and '<td class="c">重要保持客户</td>' in page
    assert "<td>上海华信软件有限公司</td><td>张伟</td><td>2026-03-01</td><td>32</td>" in page


def test_rfm_excel_sheets_cell_by_cell_and_in_libreoffice(
    rfm_book, cli, workspace, soffice, tmp_path
):
    import openpyxl

    out = workspace / "r.xlsx"
    assert cli(*RFM_ARGS, "--out", out, "-q").exit_code == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[-2:] == ["RFM分层", "RFM客户"]
    seg = [tuple(r) for r in wb["RFM分层"].iter_rows(values_only=True)]
    assert seg[0] == (
        "客户分层",
        "客户数",
        "客户占比",
        "成交金额合计(万元)",
        "平均最近成交距今(天)",
    )
    assert seg[1:] == [(n, c, pytest.approx(sh), m, d) for n, c, sh, m, d in RFM_SEGMENTS]
    assert (
        wb["RFM分层"]["C2"].number_format == "0.0%"
        and wb["RFM分层"]["D2"].number_format == "#,##0.00"
    )
    cust = [tuple(r) for r in wb["RFM客户"].iter_rows(values_only=True)]
    assert cust[0] == ("客户", "负责人", "最近成交日期", "最近成交距今(天)", "成交次数", "成交金额合计(万元)",
                       "R分", "F分", "M分", "客户分层")  # fmt: skip
    assert cust[1:] == RFM_CUSTOMERS
    with zipfile.ZipFile(out) as zf:
        refs = [
            ref
            for n in zf.namelist()
            if n.startswith("xl/charts/chart")
            for ref in _chart_refs(zf, n)
        ]
    [(sheet, col, first, last)] = [ref for ref in refs if ref[0].startswith("RFM")]
    drawn = [wb[sheet][f"{col}{r}"].value for r in range(first, last + 1)]
    assert drawn == [0, 0, 1, 1, 1, 1, 0, 1]  # customers per segment
    import fastexcel

    converted = soffice(out, "xlsx", tmp_path / "lo")
    book = fastexcel.read_excel(str(converted))
    assert book.sheet_names[-2:] == ["RFM分层", "RFM客户"]
    lo = book.load_sheet("RFM客户").to_pandas()
    assert [tuple(x) for x in lo.itertuples(index=False)] == RFM_CUSTOMERS
    pdf = soffice(out, "pdf", tmp_path / "pdf")
    import subprocess

    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    assert "各RFM分层客户数".encode() in re.sub(rb"\s+", b"", text)  # LibreOffice drew the chart


RFM_FIXED = """\
rfm:
  scores: 5
  high_at: 3
  thresholds:
    recency_days: [7, 30, 90, 180]
    frequency: [2, 3, 4, 5]
    monetary: [10, 50, 100, 150]
  segments:
{segments}
"""


def _segments_yaml(drop: int | None = None) -> str:
    from leadkit.rules.loader import Rules

    segs = Rules().report.rfm.segments
    lines = [f"    {k}: {{r: {s.r}, f: {s.f}, m: {s.m}, zh: {s.zh}, en: {s.en}}}"
             for i, (k, s) in enumerate(segs.items()) if i != drop]  # fmt: skip
    return "\n".join(lines)


def test_rfm_fixed_thresholds_from_report_yaml(rfm_book, cli, workspace):
    # bounds instead of quantiles, high from 3:
    #   鼎盛 3 d -> R 5, 2 deals -> F 2, 50 -> M 3: H L H 重要发展
    #   华信 32 d -> 3 (over 7 and 30), 3 deals -> 3, 160 -> 5: H H H 重要价值
    #   远航 182 d -> 1, 1 -> 1, 80 -> 3: L L H 重要挽留;  星辰 13 d -> 4, 1, 5 -> 1: H L L 一般发展
    #   W9 305 d -> 1, 1, 0 -> 1: 一般挽留
    path = workspace / "rules" / "report.yaml"
    path.write_text(path.read_text(encoding="utf-8").split("\nrfm:")[0] + "\n"
                    + RFM_FIXED.format(segments=_segments_yaml()), encoding="utf-8")  # fmt: skip
    r = json.loads(cli(*RFM_ARGS, "--format", "json").stdout)["rfm"]
    got = {
        c["customer"]: (c["r_score"], c["f_score"], c["m_score"], c["segment"])
        for c in r["customers"]
    }
    assert got == {
        "北京鼎盛科技有限公司": (5, 2, 3, "important_develop"), "上海华信软件有限公司": (3, 3, 5, "important_value"),
        "远航物流股份有限公司": (1, 1, 3, "important_retain"), "星辰教育": (4, 1, 1, "general_develop"),
        "W9": (1, 1, 1, "general_retain"),
    }  # fmt: skip


@pytest.mark.parametrize(("change", "says"), [
    (lambda t: t.replace("[7, 30, 90, 180]", "[7, 30, 90]"), "5 scores need 4 bounds, not 3"),
    (lambda t: t.replace("[2, 3, 4, 5]", "[2, 4, 3, 5]"), "thresholds.frequency: bounds must be ascending"),
    (lambda t: t.replace("high_at: 3", "high_at: 6"), "high_at 6 is above the top score (5)"),
    (lambda t: t.replace("scores: 5", "scores: 11"), "scores"),
    (lambda t: t.split("  segments:")[0] + "  segments:\n" + _segments_yaml(drop=2), "no segment for r/f/m = low/high/high"),
    (lambda t: t + "    again: {r: high, f: high, m: high, zh: 又一个, en: Again}\n",
     "segments important_value and again are both r/f/m = high/high/high"),
])  # fmt: skip
def test_rfm_rules_are_validated(rfm_book, cli, workspace, change, says):
    path = workspace / "rules" / "report.yaml"
    text = RFM_FIXED.format(segments=_segments_yaml())
    path.write_text("trend_periods: 6\n" + change(text), encoding="utf-8")
    result = cli(*RFM_ARGS)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "report.yaml" in line and says in line, line


def test_rfm_without_an_rfm_section_is_a_rule_error(rfm_book, cli, workspace):
    (workspace / "rules" / "report.yaml").write_text("trend_periods: 6\n", encoding="utf-8")
    # the rest of the report needs none
    assert cli(*RFM_ARGS[:1], *RFM_ARGS[2:], "-q").exit_code == 0
    result = cli(*RFM_ARGS)
    assert result.exit_code == 2 and "report.yaml: no rfm: section" in result.stderr


def test_rfm_with_no_won_customer_yet_and_in_english(
    rfm_book, cli, workspace, rules, tmp_path, monkeypatch
):
    # on 2025-01-01 none of the book's deals had closed: every output says 0 customers, no chart
    early = ("report", "--rfm", "--period", "month", "--as-of", "2025-01-01")
    r = json.loads(cli(*early, "--format", "json").stdout)["rfm"]
    assert r["customers"] == [] and [s["customers"] for s in r["segments"]] == [0] * 8
    assert all(s["customer_share"] is None for s in r["segments"])
    for out in ("r.xlsx", "r.html", "r.md"):
        assert cli(*early, "--out", workspace / out, "-q").exit_code == 0, out
    import openpyxl

    wb = openpyxl.load_workbook(workspace / "r.xlsx")
    assert [tuple(r) for r in wb["RFM客户"].iter_rows(values_only=True)][1:] == []
    assert "| 重要价值客户 | 0 | - | 0 |" in (workspace / "r.md").read_text(encoding="utf-8")
    # an English workspace names the segments and headers in English (report.yaml's en)
    from leadkit import pipeline

    en = tmp_path / "en"
    pipeline.init(en, "en")
    monkeypatch.chdir(en)
    b = bookio.new_book(en / "leads.xlsx", "en", rules.columns)
    b.append("leads", pd.DataFrame(RFM_ROWS))
    bookio.save_book(b, rules.columns, state_dir=en / ".leadkit", command="test",
                     as_of=dt.datetime(2026, 4, 2))  # fmt: skip
    md = cli(*RFM_ARGS, "--format", "md").stdout
    assert "| Segment | Customers | Share of customers | Monetary (10k CNY) |" in md
    assert "| 上海华信软件有限公司 | 张伟 | 32 | 3 | 160 | 3 | 5 | 5 | Important to keep |" in md


def test_rfm_counts_one_trade_name_in_two_cities_as_two_customers(rules):
    from leadkit.steps.report import rfm

    def won(lead_id, company, closed, amount):
        return dict(lead_id=lead_id, company=company, status="won", closed_at=T(closed),
                    deal_amount=amount, owner="李娜")  # fmt: skip

    leads = pd.DataFrame([
        won("W1", "广州中科瑞丰物流有限公司", "2026-03-01", 10.0),
        won("W2", "沈阳中科瑞丰物流有限公司", "2026-03-02", 20.0),
        won("W3", "北京鼎盛科技有限公司", "2026-03-03", 30.0),
        won("W4", "鼎盛科技", "2026-03-04", 40.0),  # no city in the name: the one 鼎盛科技 there is
        won("W5", "中科瑞丰物流", "2026-03-05", 50.0),  # two cities have that name: its own customer
    ])  # fmt: skip
    result, _ = rfm(leads, dt.datetime(2026, 4, 2), rules.report.rfm)
    customers = result.customers.set_index("customer")
    assert sorted(customers["monetary"].tolist()) == [10, 20, 50, 70]
    assert customers.loc["鼎盛科技", ["frequency", "monetary"]].tolist() == [2, 70]


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


def test_feedback_trend_counts_each_periods_feedback_by_type(
    workspace, rules, cli, soffice, tmp_path
):
    """By hand, months to March 2026 (trend_periods 6: 2025-10 … 2026-03): January has 2 price
    and 1 product, February 1 service and 1 with no type, March 2 price and 1 service; the
    December one is on 12-31 23:30 of the workspace's zone (Asia/Shanghai), so December's. The
    book is saved again by LibreOffice before the report reads it."""
    import shutil
    import zipfile

    import openpyxl

    b = bookio.new_book(workspace / "leads.xlsx", "zh", rules.columns)
    b.append("leads", pd.DataFrame(ROWS))
    fb = [("2025-12-31 23:30", "decision"), ("2026-01-05 10:00", "price"),
          ("2026-01-20 10:00", "price"), ("2026-01-31 10:00", "product"),
          ("2026-02-01 00:00", "service"), ("2026-02-14 10:00", None),
          ("2026-03-05 10:00", "price"), ("2026-03-06 10:00", "price"),
          ("2026-03-20 10:00", "service"), ("2026-04-01 10:00", "product")]  # fmt: skip
    b.append("feedback", pd.DataFrame([
        dict(time=T(t), lead_id="L1", type=k, priority="medium") for t, k in fb
    ]))  # fmt: skip
    bookio.save_book(b, rules.columns, state_dir=workspace / ".leadkit", command="test",
                     as_of=dt.datetime(2026, 4, 2))  # fmt: skip
    saved = soffice(workspace / "leads.xlsx", "xlsx", tmp_path / "lo")
    shutil.copyfile(saved, workspace / "leads.xlsx")
    trend = run_report(cli)["feedback_trend"]
    assert [r["period"] for r in trend] == ["2025-10", "2025-11", "2025-12", "2026-01",
                                            "2026-02", "2026-03"]  # fmt: skip
    keys = ["product", "price", "service", "decision", "(blank)", "total"]
    assert [[r[k] for k in keys] for r in trend] == [
        [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 1],
        [1, 2, 0, 0, 0, 3], [0, 0, 1, 0, 1, 2], [0, 2, 1, 0, 0, 3],
    ]  # fmt: skip
    quarter = json.loads(cli("report", "--period", "quarter", "--as-of", "2026-04-02T10:00",
                             "--format", "json").stdout)["feedback_trend"]  # fmt: skip
    assert [(r["period"], r["total"]) for r in quarter][-3:] == [
        ("2025-Q4", 1), ("2026-Q1", 8), ("2026-Q2", 1)]  # fmt: skip
    base = ("report", "--period", "month", "--previous", "--as-of", "2026-04-02T10:00")
    table = cli(*base).stdout
    assert "反馈趋势" in table
    assert re.search(r"2026-01\s*│\s*1\s*│\s*2\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*3\s", table)
    assert cli(*base, "--out", workspace / "r.xlsx", "-q").exit_code == 0
    sheet = openpyxl.load_workbook(workspace / "r.xlsx")["反馈趋势"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["期间", "产品/服务类", "价格类", "服务类", "决策类", "(空)", "合计"]
    assert rows[4] == ["2026-01", 1, 2, 0, 0, 0, 3]
    with zipfile.ZipFile(workspace / "r.xlsx") as zf:
        drawn = [ref for n in zf.namelist() if n.startswith("xl/charts/chart")
                 for ref in _chart_refs(zf, n) if ref[0] == "反馈趋势"]  # fmt: skip
    # the total and one series per type that has feedback (a type nobody raised draws nothing)
    assert sorted(col for _, col, _, _ in drawn) == ["B", "C", "D", "E", "F", "G"]
