"""Regenerate leadkit/data/regions_cn.csv: China's provinces, prefectures and counties.

    python tools/make_regions_cn.py                   # from the cpca package (pip download)
    python tools/make_regions_cn.py --from adcodes.csv  # from a copy of cpca's table

The source is the administrative-division table (行政区划代码, 12-digit adcodes) that the cpca
package ships (cpca/resources/adcodes.csv and 56_nations.csv, MIT licence, (c) 2018 QinYuan Du,
https://github.com/DQinYuan/chinese_province_city_area_mapper). leadkit ships the derived file,
not cpca: it needs the names only, not cpca's matcher and its dependencies.

Each row: adcode (6 digits), level (province, prefecture, county), the official name and the
short name people write (浙江省 -> 浙江, 延边朝鲜族自治州 -> 延边, 余杭区 -> 余杭; a short name
of one character is not made: 赵县 stays 赵县). Placeholders of the table (市辖区, 县,
省直辖县级行政区划) are left out.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "leadkit" / "data" / "regions_cn.csv"
PLACEHOLDER = re.compile(r"^(?:市辖区|县|省直辖县级行政区划|自治区直辖县级行政区划)$")
PROVINCE_TAIL = re.compile(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")


def cpca_tables() -> tuple[str, str]:
    """(adcodes.csv, 56_nations.csv) text from the cpca wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, "cpca==0.5.5"],
            check=True,
        )
        wheel = next(Path(tmp).glob("cpca-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            return (
                z.read("cpca/resources/adcodes.csv").decode("utf-8"),
                z.read("cpca/resources/56_nations.csv").decode("utf-8"),
            )


def short_name(name: str, level: str, peoples: re.Pattern[str]) -> str:
    if level == "province":
        return PROVINCE_TAIL.sub("", name)
    tail = "自治州$|地区$|盟$|市$" if level == "prefecture" else "自治[县旗]$|[县区市旗]$"
    # 鄂伦春自治旗: the people is the place's whole name, so only the tail goes
    for pattern in (rf"(?:{peoples.pattern})*(?:{tail})", tail):
        short = re.sub(pattern, "", name)
        if len(short) >= 2:
            return short
    return name


def build(adcodes: str, nations: str) -> list[tuple[str, str, str, str]]:
    names = [line.strip().split(",")[0] for line in nations.splitlines() if line.strip()]
    # 蒙古族 is written 蒙古 in 巴音郭楞蒙古自治州, 柯尔克孜族 as 柯尔克孜: 族 is optional
    stems = sorted({n.removesuffix("族") for n in names if n}, key=len, reverse=True)
    peoples = re.compile("(?:" + "|".join(map(re.escape, stems)) + ")族?")
    rows = []
    for record in csv.DictReader(adcodes.splitlines()):
        code, name = record["adcode"][:6], record["name"].strip()
        if PLACEHOLDER.match(name):
            continue
        level = "province" if code[2:] == "0000" else "prefecture" if code[4:] == "00" else "county"
        rows.append((code, level, name, short_name(name, level, peoples)))
    return sorted(set(rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="source", type=Path, help="a copy of cpca's adcodes.csv")
    ap.add_argument("--nations", type=Path, help="a copy of cpca's 56_nations.csv")
    args = ap.parse_args()
    if args.source:
        adcodes = args.source.read_text(encoding="utf-8")
        nations = (args.nations or args.source.with_name("56_nations.csv")).read_text("utf-8")
    else:
        adcodes, nations = cpca_tables()
    rows = build(adcodes, nations)
    OUT.parent.mkdir(exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["adcode", "level", "name", "short"])
        writer.writerows(rows)
    print(f"{OUT}: {len(rows)} divisions")


if __name__ == "__main__":
    main()
