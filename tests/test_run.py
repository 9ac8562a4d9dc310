"""`leadkit run` equals the commands one by one; a failing step leaves the book as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from leadkit import pipeline

AS_OF = "2026-03-02T09:00"
CHAIN = ["dedupe", "score", "assign", "recycle"]


def _cells(book: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(book)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _book(folder: Path) -> Path:
    return pipeline.context(cwd=folder).book_path


def _workspace(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    pipeline.init(folder, "zh")
    return folder


DUPES = """来源渠道,企业名称,所属行业,联系人,联系方式,获取时间,邮箱
官网表单,星河科技有限公司,互联网,张三,13800138000,2024-03-01,zs@xinghe.cn
展会(数博会),星河科技有限公司,互联网,张三,138-0013-8000,2024-03-05 10:30,zs@xinghe.cn
合作伙伴推荐,星河科技,互联网,张 三,13800138000,,zs@xinghe.cn
官网表单,制造有限公司,制造业,王五,13956781234,2024-03-02,ww@zhizao.cn
官网表单,制造有限公司,制造业,王五,13956781234,2024-02-20,ww@zhizao.cn
"""


def test_run_equals_chain(tmp_path: Path, data_dir: Path, cli, monkeypatch: pytest.MonkeyPatch):
    # duplicates with different 获取时间 (and one without): dedupe survivors' dates are compared
    src = tmp_path / "dupes.csv"
    src.write_text(DUPES, encoding="utf-8")
    one, two = _workspace(tmp_path, "one"), _workspace(tmp_path, "two")
    monkeypatch.chdir(one)
    r = cli("import", src, "--as-of", AS_OF, "-q")
    assert r.exit_code == 0, r.output
    for cmd in CHAIN:
        r = cli(cmd, "--as-of", AS_OF, "-q", *(["--by", "round-robin"] if cmd == "assign" else []))
        assert r.exit_code == 0, (cmd, r.output)
    monkeypatch.chdir(two)
    r = cli("run", src, "--as-of", AS_OF, "-q")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    merged = pipeline.run(pipeline.context(cwd=two, as_of=AS_OF, dry_run=True), ["dedupe"])
    assert merged.steps["dedupe"].merged == 0  # already merged by the run: dedupe really ran
    chain, ran = _cells(_book(one)), _cells(_book(two))
    assert chain.keys() == ran.keys()
    for sheet in chain:
        assert len(chain[sheet]) == len(ran[sheet]), sheet
        for i, (a, b) in enumerate(zip(chain[sheet], ran[sheet], strict=True)):
            assert a == b, (sheet, i + 1, a, b)


def test_failing_step_leaves_book(tmp_path: Path, data_dir: Path, cli, monkeypatch):
    folder = _workspace(tmp_path, "ws")
    monkeypatch.chdir(folder)
    assert cli("import", data_dir / "seed_lead_intake.csv", "--as-of", AS_OF, "-q").exit_code == 0
    book = _book(folder)
    before = book.read_bytes()
    # a dedupe rule naming a column the book lacks fails the dedupe step, after import ran in memory
    rules = folder / "rules" / "dedupe.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("sheet: leads", "sheet: nosuch"), encoding="utf-8")
    r = cli("run", data_dir / "web_small.csv", "--as-of", AS_OF, "-q")
    assert r.exit_code != 0
    assert book.read_bytes() == before


def test_run_without_files_skips_import(tmp_path: Path, data_dir: Path, cli, monkeypatch):
    folder = _workspace(tmp_path, "ws")
    monkeypatch.chdir(folder)
    assert cli("import", data_dir / "seed_lead_intake.csv", "--as-of", AS_OF, "-q").exit_code == 0
    r = cli("run", "--steps", "score", "--as-of", AS_OF, "-q")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    r = cli("run", "--steps", "nosuch", "--as-of", AS_OF, "-q")
    assert r.exit_code == 2


def test_pipeline_run_direct(tmp_path: Path, data_dir: Path):
    folder = _workspace(tmp_path, "ws")
    shutil.copy(data_dir / "web_small.csv", folder / "in.csv")
    ctx = pipeline.context(cwd=folder, as_of=AS_OF)
    out = pipeline.run(ctx, ["import", "score"], files=[folder / "in.csv"])
    assert list(out.steps) == ["import", "score"]
    assert out.steps["import"].totals["imported"] > 0


def _with_inbox(folder: Path) -> Path:
    config = folder / "leadkit.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "inbox: inbox\n", encoding="utf-8")
    inbox = folder / "inbox"
    inbox.mkdir()
    return inbox


def test_inbox_corrupt_file_goes_to_failed_rest_goes_on(
    tmp_path: Path, data_dir: Path, cli, monkeypatch
):
    folder = _workspace(tmp_path, "ws")
    inbox = _with_inbox(folder)
    shutil.copy(data_dir / "web_small.csv", inbox / "web.csv")
    # the good rows also arrive as .xlsx, written by openpyxl like any spreadsheet program
    wb = openpyxl.Workbook()
    ws = wb.active
    for line in DUPES.strip().splitlines():
        ws.append(line.split(","))
    wb.save(inbox / "dupes.xlsx")
    (inbox / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    (inbox / "notes.txt").write_text("not a lead file", encoding="utf-8")
    monkeypatch.chdir(folder)
    r = cli("run", "--as-of", AS_OF, "-q")
    assert r.exit_code == 5, r.output
    assert "broken.xlsx" in r.stderr and r.stderr.count("\n") == 1
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["notes.txt"]
    done = inbox / "done" / "2026-03-02"
    assert sorted(p.name for p in done.iterdir()) == ["dupes.xlsx", "web.csv"]
    failed = inbox / "failed"
    assert sorted(p.name for p in failed.iterdir()) == ["broken.xlsx", "broken.xlsx.reason.txt"]
    assert "broken.xlsx" in (failed / "broken.xlsx.reason.txt").read_text(encoding="utf-8")
    # the good rows are in the book, and the later steps ran on them
    leads = _cells(_book(folder))
    sheet = next(iter(leads.values()))
    companies = {row[sheet[0].index("企业名称")] for row in sheet[1:]}
    assert {"星河科技有限公司", "制造有限公司"} <= companies
    web = [line.split(",") for line in (data_dir / "web_small.csv").read_text().splitlines()]
    assert web[1][web[0].index("公司名称")] in companies
    owner = sheet[0].index("负责人")
    assert any(row[owner] for row in sheet[1:])  # assign ran on the imported rows
    # the next run finds an empty inbox: nothing imported twice, exit 0
    r = cli("run", "--as-of", AS_OF, "-q")
    assert r.exit_code == 0, r.output
    assert len(next(iter(_cells(_book(folder)).values()))) == len(sheet)


def test_inbox_dry_run_moves_nothing(tmp_path: Path, data_dir: Path):
    folder = _workspace(tmp_path, "ws")
    inbox = _with_inbox(folder)
    shutil.copy(data_dir / "web_small.csv", inbox / "web.csv")
    (inbox / "bad.csv").write_bytes(b"\x00\x01\x02")
    out = pipeline.run(pipeline.context(cwd=folder, as_of=AS_OF, dry_run=True), ["import"])
    assert [f.path.name for f in out.inbox_failed] == ["bad.csv"]
    assert out.steps["import"].totals["imported"] > 0
    assert sorted(p.name for p in inbox.iterdir()) == ["bad.csv", "web.csv"]


PIPELINE = """pipeline:
  steps: [report, import, score, assign, due]
  due: {out: due.xlsx}
  report: {period: month, out: report.md, rfm: true}
"""


def test_pipeline_block_steps_and_outputs(tmp_path: Path, data_dir: Path, cli, monkeypatch):
    folder = _workspace(tmp_path, "ws")
    inbox = _with_inbox(folder)
    config = folder / "leadkit.yaml"
    config.write_text(config.read_text(encoding="utf-8") + PIPELINE, encoding="utf-8")
    shutil.copy(data_dir / "web_small.csv", inbox / "web.csv")
    monkeypatch.chdir(folder)
    r = cli("run", "--as-of", AS_OF, "--json")
    assert r.exit_code == 0, r.output
    # listed in any order, run in pipeline order
    assert json.loads(r.stdout)["steps"] == ["import", "score", "assign", "due", "report"]
    assert "# " in (folder / "report.md").read_text(encoding="utf-8")
    assert "| 客户分层 | 客户数 |" in (folder / "report.md").read_text(
        encoding="utf-8"
    )  # rfm: true
    assert not any("recycle" in map(str, row) for row in next(iter(_cells(_book(folder)).values())))
    # three days on nobody has called: run's due list (read from its in-memory book) is `due`'s
    later = "2026-03-05T09:00"
    assert cli("run", "--steps", "due", "--as-of", later, "-q").exit_code == 0
    assert cli("due", "--as-of", later, "--out", "due_cmd.xlsx", "-q").exit_code == 0
    ran, alone = _cells(folder / "due.xlsx"), _cells(folder / "due_cmd.xlsx")
    assert len(next(iter(ran.values()))) > 1
    assert ran == alone


def test_pipeline_block_is_validated(tmp_path: Path, cli, monkeypatch):
    folder = _workspace(tmp_path, "ws")
    config = folder / "leadkit.yaml"
    bad = "pipeline:\n  steps: [import, nosuch]\n  assign: {by: dice}\n"
    config.write_text(config.read_text(encoding="utf-8") + bad, encoding="utf-8")
    monkeypatch.chdir(folder)
    r = cli("run", "--as-of", AS_OF, "-q")
    assert r.exit_code == 2
    # every problem of the file at once, each with its line
    assert "pipeline.steps" in r.stderr and "pipeline.assign.by" in r.stderr


# the morning's behaviour: one export recognised by its columns, one only by the naming rule
# (it names the company, as a CRM's event export may, so by its columns it would be leads)
EVENTS_CSV = "手机,时间,行为,页面\n13800138000,2026-03-01 12:00,下载资料,/whitepaper\n"
EVENTS_XLSX = [
    ["公司名称", "手机", "时间", "行为"],
    ["星河科技有限公司", "13800138000", "2026-03-01 15:30", "查看价格"],
    ["制造有限公司", "13956781234", "2026-03-01 16:00", "查看价格"],
    ["无名公司", "", "2026-03-01 16:05", "查看价格"],  # nothing to tie it to: skipped
]


def test_inbox_events_files_import_as_events(tmp_path: Path, cli, monkeypatch):
    src = tmp_path / "dupes.csv"
    src.write_text(DUPES, encoding="utf-8")
    events_csv = tmp_path / "web_events.csv"
    events_csv.write_text(EVENTS_CSV, encoding="utf-8")
    wb = openpyxl.Workbook()
    for row in EVENTS_XLSX:
        wb.active.append(row)
    events_xlsx = tmp_path / "crm_behaviour.xlsx"
    wb.save(events_xlsx)
    one, two = _workspace(tmp_path, "one"), _workspace(tmp_path, "two")
    # the chain, as the README's crontab runs it: leads, then the events, then the steps
    monkeypatch.chdir(one)
    assert cli("import", src, "--as-of", AS_OF, "-q").exit_code == 0
    r = cli("import", "--events", events_xlsx, events_csv, "--as-of", AS_OF, "-q")
    assert r.exit_code == 0, r.output
    for cmd in CHAIN:
        r = cli(cmd, "--as-of", AS_OF, "-q", *(["--by", "round-robin"] if cmd == "assign" else []))
        assert r.exit_code == 0, (cmd, r.output)
    # one run with all three files waiting in the inbox
    config = two / "leadkit.yaml"
    block = "inbox:\n  folder: inbox\n  events_glob: crm_behaviour*\n"
    config.write_text(config.read_text(encoding="utf-8") + block, encoding="utf-8")
    inbox = two / "inbox"
    inbox.mkdir()
    for path in (src, events_csv, events_xlsx):
        shutil.copy(path, inbox / path.name)
    monkeypatch.chdir(two)
    r = cli("run", "--as-of", AS_OF, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["events"]["added"] == 3 and report["events"]["skipped"] == 1
    assert sorted(p.name for p in (inbox / "done" / "2026-03-02").iterdir()) == [
        "crm_behaviour.xlsx", "dupes.csv", "web_events.csv",
    ]  # fmt: skip
    chain, ran = _cells(_book(one)), _cells(_book(two))
    assert len(chain["行为记录"]) == 4  # header + 3 events
    assert chain.keys() == ran.keys()
    for sheet in chain:
        assert chain[sheet] == ran[sheet], sheet
    # without the naming rule the export is a lead sheet (it has a company column)
    config.write_text(config.read_text(encoding="utf-8").replace(block, "inbox: inbox\n"))
    shutil.copy(events_xlsx, inbox / events_xlsx.name)
    out = pipeline.run(pipeline.context(cwd=two, as_of=AS_OF, dry_run=True), ["import"])
    assert out.events is None
    assert out.steps["import"].totals["read"] == 3
