"""`leadkit run` equals the commands one by one; a failing step leaves the book as it was."""

from __future__ import annotations

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
