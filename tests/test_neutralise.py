"""Formula text is neutralised at the writer: every text cell of every workbook leadkit writes.

The sweep pushes a payload through every way text gets into a workbook and then reads every cell
of every output twice: with openpyxl, and as LibreOffice saves it to CSV (where a cell that is text
in the .xlsx runs once the CSV is opened again).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit import pipeline
from leadkit.bookio.neutralise import neutralise, neutralise_frame, restore

AS_OF = ("--as-of", "2026-03-10T09:00")
LATER = ("--as-of", "2026-03-20T09:00")

# Written out here rather than imported, so the test checks the module against the spec (OWASP's
# triggers, their full-width forms, and leading blanks before them).
_BLANK = " \t\r\n\u00a0\u3000"
TRIGGER = re.compile(f"^(?:[\t\r]|[{_BLANK}]*[=+\\-@＝＋－＠])")
NUMBERLIKE = re.compile(f"^[{_BLANK}]*[+\\-]?[0-9{_BLANK}\\-().,]+$")

PAYLOADS = [
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '+HYPERLINK("http://x.example")',
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "＝1+1",
    "＋SUM(1)",
    "－SUM(1)",
    "＠SUM(1)",
]


def runs(value: object) -> bool:
    """Would a spreadsheet (or a CSV opened in one) run this cell's text?"""
    return isinstance(value, str) and bool(TRIGGER.match(value)) and not NUMBERLIKE.match(value)


# --------------------------------------------------------------------------------------------
# The function


def test_every_trigger_gets_one_apostrophe_and_comes_back():
    values = pd.Series([*PAYLOADS, None], dtype=object)
    out = neutralise(values)
    assert out.tolist()[:-1] == ["'" + p for p in PAYLOADS]
    assert pd.isna(out.iloc[-1])
    assert neutralise(out).equals(out), "twice is once"
    assert restore(out).tolist()[:-1] == PAYLOADS


@pytest.mark.parametrize(
    "value", ["-5", "+86 138 1234 5678", "-1,234.50", "(0755) 8888-1234", "-", "ok", "'=x", "a=b"]
)
def test_numbers_phones_and_plain_text_are_left_alone(value):
    assert neutralise(pd.Series([value], dtype=object)).iloc[0] == value


@pytest.mark.parametrize("dtype", [object, "str", "string[pyarrow]"])
def test_any_text_dtype_and_mixed_cells(dtype):
    values = pd.Series(["=1+1", "x", None], dtype=dtype)
    assert neutralise(values).tolist()[:2] == ["'=1+1", "x"]
    mixed = pd.Series([3.5, "@x", None, -2], dtype=object)
    assert neutralise(mixed).tolist()[:2] == [3.5, "'@x"] and neutralise(mixed).iloc[3] == -2
    numbers = pd.Series([-1.0, 2.0])
    assert neutralise(numbers) is numbers


def test_headers_too_and_vocabulary_kept():
    frame = pd.DataFrame({"=h": ["=a"], "decision": ["=b"]})
    out = neutralise_frame(frame, keep=["decision"])
    assert out.columns.tolist() == ["'=h", "decision"]
    assert out.iloc[0].tolist() == ["'=a", "=b"]


text = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list("=+-@'\t\r 1a（＝＋－＠")), max_size=6),
    st.floats(allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(text, max_size=8))
def test_idempotent_and_restore_inverts(values):
    series = pd.Series(values, dtype=object)
    once = neutralise(series)
    assert same(once, neutralise(once))
    assert not any(runs(v) for v in once)
    assert same(neutralise(restore(once)), once)
    assert same(
        pd.Series([v for v in once if not isinstance(v, str)], dtype=object),
        pd.Series([v for v in series if not isinstance(v, str)], dtype=object),
    ), "numbers and empty cells pass untouched"


def same(a: pd.Series, b: pd.Series) -> bool:
    return [None if pd.isna(v) else v for v in a] == [None if pd.isna(v) else v for v in b]


# --------------------------------------------------------------------------------------------
# The sweep


def _rows(*rows: list[str]) -> str:
    out = []
    for row in rows:
        out.append(",".join('"' + c.replace('"', '""') + '"' for c in row))
    return "\n".join(out) + "\n"


def _payload(i: int, tag: str) -> str:
    return f"{PAYLOADS[i % len(PAYLOADS)]} {tag}"


def _all_cells(path: Path) -> list[tuple[str, str, object]]:
    wb = openpyxl.load_workbook(path)
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{path.name} {ws.title}!{c.coordinate} is a formula"
                found.append((ws.title, c.coordinate, c.value))
    return found


def _csv_cells(path: Path, soffice, outdir: Path) -> list[str]:
    # 44 comma, 34 quote, 76 UTF-8, values as stored (formulas are openpyxl's to find; with
    # formulas exported LibreOffice writes a boolean cell as =TRUE()), -1 = every sheet.
    fmt = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    soffice(path, fmt, outdir)
    files = sorted(outdir.glob(path.stem + "*.csv"))
    assert files, f"LibreOffice wrote no CSV for {path.name}"
    cells = []
    for f in files:
        with f.open(encoding="utf-8", newline="") as fh:
            cells += [v for row in csv.reader(fh) for v in row]
    return cells


def test_sweep_no_output_cell_can_run(workspace, cli, tmp_path, rules, soffice):
    columns = rules.columns.sheets["leads"].columns
    headers = [c.zh for c in columns if c.key not in ("lead_id",)]
    extra = '=HYPERLINK("x") h_extra'

    def row(**fixed: str) -> list[str]:
        cells = []
        for i, c in enumerate(c for c in columns if c.key != "lead_id"):
            cells.append(fixed.get(c.key, _payload(i, f"c_{c.key}")))
        return [*cells, "@x_extra"]

    every = row(phone="13812345678", email="=x@e_bad")  # every column a payload
    second = row(phone="+86 139 1234 5678", email="a@b.cn", created_at="2026-03-05", status="",
                 source="", grade="", grade_override="", duplicate_of="", intent="")  # fmt: skip
    rejected = row(phone="=1", email="@bad")  # no way to reach: rejected, kept in 导入拒绝
    src = tmp_path / "=1+f_file.csv"
    src.write_text(_rows([*headers, extra], every, second, rejected), encoding="utf-8")

    # an .xlsx whose file and sheet names are payloads; two near-duplicates for the review file
    xlsx = tmp_path / "@f_xlsx.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "=s_sheet"
    company = "-2+3+cmd|' /C calc'!A0 d_company 科技有限公司"
    ws.append(["公司名称", "联系人", "手机号", "所在城市", "备注"])
    ws.append([company, "=d_left d_right", "13712345678", "上海", "x"])
    ws.append([company, "@d_left d_right", "13612345678", "上海", "x"])
    ws.append(["", "", "", "", "=d_rejected"])
    ws.append(["", "", "", "上海", "+d_rejected2"])
    for cells in ws.iter_rows():
        for c in cells:
            c.data_type = "s" if isinstance(c.value, str) else c.data_type  # text, not formulas
    wb.save(xlsx)
    imported = cli("import", src, xlsx, *AS_OF, "-q")
    assert imported.exit_code in (0, 1), imported.stderr

    events = tmp_path / "+e_file.csv"
    events.write_text(_rows(["时间", "手机号", "行为", "页面"],
                            ["2026-03-06 10:00", "13812345678", "=e_event", "@e_detail"],
                            ["2026-03-07 10:00", "13712345678", "查看价格", "-e_detail2+1"]),
                      encoding="utf-8")  # fmt: skip
    assert cli("import", "--events", events, *AS_OF, "-q").exit_code in (0, 1)

    routing = workspace / "rules" / "routing.yaml"
    routing.write_text(
        "team:\n"
        "  - {name: \"=r_rep|' /C calc'!A0\", email: a@example.com, level: senior, capacity: 50}\n"
        '  - {name: "@r_rep2", email: b@example.com, level: junior, capacity: 50}\n'
        "rules:\n  - {name: everyone, to: {all: true}, strategy: load}\n"
        "sla_hours: {S: 2, A: 2, B: 4, C: 24}\n",
        encoding="utf-8",
    )
    assigned = cli("assign", "--by", "round-robin", *AS_OF, "-q")
    assert assigned.exit_code in (0, 1), assigned.stderr

    review = tmp_path / "review.xlsx"
    assert cli("dedupe", "--review", review, *AS_OF, "-q").exit_code in (0, 1)
    reviewed = openpyxl.load_workbook(review)  # a person decides, in another program
    assert reviewed.active.max_row >= 2, "the near-duplicates made no review pair"
    reviewed.active.cell(2, 1, "分开")
    reviewed.save(review)
    applied = cli("dedupe", "--apply-review", review, *AS_OF, "-q")
    assert applied.exit_code in (0, 1), applied.stderr

    book = pipeline.load(pipeline.context(cwd=workspace))
    lead = book.leads.loc[book.leads["duplicate_of"].isna(), "lead_id"].iloc[0]
    logged = cli("log", lead, "--note", "=l_note|' /C calc'!A0", "--person", "@l_person",
                 "--owner", "+l_owner", *AS_OF, "-q")  # fmt: skip
    assert logged.exit_code == 0, logged.stderr

    due = tmp_path / "due.xlsx"
    assert cli("due", "--out", due, *LATER, "-q").exit_code in (0, 1)
    report = tmp_path / "report.xlsx"
    made = cli("report", "--period", "month", "--by", "source,grade,owner,industry,region",
               "--out", report, *LATER, "-q")  # fmt: skip
    assert made.exit_code in (0, 1), made.stderr

    outputs = [workspace / "leads.xlsx", review, due, report]
    seen: list[str] = []
    for out in outputs:
        cells = _all_cells(out)
        bad = [(s, a, v) for s, a, v in cells if runs(v)]
        assert not bad, f"{out.name}: cells that would run: {bad[:8]}"
        stacked = [(s, a, v) for s, a, v in cells if isinstance(v, str) and v.startswith("''")]
        assert not stacked, f"{out.name}: apostrophes stacked: {stacked[:8]}"
        exported = _csv_cells(out, soffice, tmp_path / "csv" / out.stem)
        bad_csv = [v for v in exported if runs(v)]
        assert not bad_csv, f"{out.name} as CSV: fields that would run: {bad_csv[:8]}"
        seen += [str(v) for _, _, v in cells]

    # Every entry point reached an output (a sweep that loses its payload proves nothing).
    text = "\n".join(seen)
    tags = ["h_extra", "x_extra", "f_file", "f_xlsx", "s_sheet", "d_company", "d_left",
            "d_right", "d_rejected", "e_event", "e_detail", "l_note", "l_person", "l_owner",
            "r_rep", "r_rep2"]  # fmt: skip
    tags += [f"c_{c.key}" for c in columns if c.key != "lead_id" and c.type in ("text", "enum", "number", "money", "int",
                                                          "datetime", "timeline")]  # fmt: skip
    missing = [t for t in tags if t not in text]
    assert not missing, f"payloads that reached no output: {missing}"
    due_cells = "\n".join(str(v) for _, _, v in _all_cells(due))
    report_cells = "\n".join(str(v) for _, _, v in _all_cells(report))
    assert "r_rep" in due_cells or "c_company" in due_cells
    assert "r_rep" in report_cells and "c_industry" in report_cells
    review_cells = "\n".join(str(v) for _, _, v in _all_cells(review))
    assert "d_company" in review_cells

    # leadkit itself still works on the text as it came: the rep's leads are the rep's.
    back = pipeline.load(pipeline.context(cwd=workspace)).leads
    assert {"=r_rep|' /C calc'!A0", "@r_rep2"} <= set(back["owner"].dropna())
    assert company in set(back["company"])


def test_resaving_adds_no_second_apostrophe(workspace, cli, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(_rows(["公司名称", "联系人", "手机号", "备注", "=extra"],
                         ["=a 公司", "@b", "13812345678", "－c", "+d"]), encoding="utf-8")  # fmt: skip
    assert cli("import", src, *AS_OF, "-q").exit_code == 0
    book = workspace / "leads.xlsx"
    first = [v for _, _, v in _all_cells(book) if isinstance(v, str) and v.startswith("'")]
    assert sorted(first) == sorted(["'=a 公司", "'@b", "'－c", "'+d", "'=extra"])
    for _ in range(2):
        assert cli("score", *AS_OF, "-q").exit_code in (0, 1)
        assert cli("recycle", *AS_OF, "-q").exit_code in (0, 1)
    again = [v for _, _, v in _all_cells(book) if isinstance(v, str) and v.startswith("'")]
    assert sorted(again) == sorted(first)


def test_text_a_person_types_into_the_book_is_neutralised_on_the_next_save(
    workspace, cli, tmp_path
):
    src = tmp_path / "in.csv"
    src.write_text(_rows(["公司名称", "联系人", "手机号"], ["某公司", "王", "13812345678"]),
                   encoding="utf-8")  # fmt: skip
    assert cli("import", src, *AS_OF, "-q").exit_code == 0
    path = workspace / "leads.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["线索"]
    notes = [c.value for c in ws[1]].index("备注") + 1
    ws.cell(2, notes).value = "=1+1"
    ws.cell(2, notes).data_type = "s"  # text, as Excel stores a cell typed as '=1+1
    mine = wb.create_sheet("我的表")
    mine["A1"] = "=mine"
    mine["A1"].data_type = "s"  # the user's own sheet: theirs, carried as it is
    wb.save(path)
    assert cli("score", *AS_OF, "-q").exit_code in (0, 1)
    after = openpyxl.load_workbook(path)
    assert after["线索"].cell(2, notes).value == "'=1+1"
    assert after["我的表"]["A1"].value == "=mine"
