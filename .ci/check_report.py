"""Opens gigawatt's HTML report and XLSX workbook with the clients users have.

HTML, in headless Chromium: the page loads offline with no console errors and no network
requests (the network is mapped to nowhere, and the page must reference nothing outside
itself), and every chart, rendered on its own, is not blank. XLSX: openpyxl reads every sheet;
LibreOffice (soffice --headless --convert-to csv) opens the workbook, and a value read back
from its Yearly sheet equals the JSON's.

Run by .ci/run: python3 .ci/check_report.py BINARY WORKDIR
"""
import csv
import glob
import json
import os
import re
import subprocess
import sys

from PIL import Image

gw, work = sys.argv[1], sys.argv[2]
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={work}/chromium-profile"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600, **kw)


def screenshot(path, png, size):
    out = subprocess.run(CHROMIUM + ["--enable-logging=stderr", "--v=0", f"--window-size={size}",
                                     f"--screenshot={png}", f"file://{path}"],
                         capture_output=True, text=True, timeout=120)
    assert os.path.exists(png), f"chromium wrote no screenshot of {path}: {out.stderr[-2000:]}"
    console = [l for l in out.stderr.splitlines() if "CONSOLE" in l]
    assert not console, f"{path}: console messages: {console}"
    return Image.open(png).convert("L")


def ink(img):
    """Share of pixels that are not (near) white."""
    hist = img.histogram()
    return 1.0 - sum(hist[245:]) / (img.width * img.height)


for example in ["startup", "launch-spike", "frontier-lab"]:
    html = f"{work}/{example}.html"
    xlsx = f"{work}/{example}.xlsx"
    out = run([gw, "report", f"examples/{example}.toml", "--paths", "2000", "-q", "--out", html,
               "--xlsx", xlsx, "--json"])
    with open(f"{work}/{example}.json", "w") as f:
        f.write(out.stdout)
    page = open(html, encoding="utf-8").read()
    # Self-contained: nothing fetched (the SVG namespace is a name, not a request).
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"|url\(([^)]*)\)', page)
    assert not refs, f"{example}: the page references {refs[:5]}"
    assert "<script" not in page, f"{example}: the page has a script"
    assert not re.search(r"\bNaN\b|\binf\b", page), f"{example}: NaN or inf in the page"
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 8, f"{example}: only {len(svgs)} charts"
    whole = screenshot(html, f"{work}/{example}.png", "1100,3000")
    assert ink(whole) > 0.03, f"{example}: the page looks blank ({ink(whole):.3f})"
    for i, svg in enumerate(svgs):
        assert re.search(r"<title[^>]*>[^<]+</title>", svg) and re.search(r"<desc[^>]*>[^<]+</desc>", svg), \
            f"{example}: chart {i} lacks a title or text alternative"
        one = f"{work}/{example}-chart{i}.html"
        with open(one, "w", encoding="utf-8") as f:
            f.write(f"<!DOCTYPE html><html><body style='margin:0;background:#fff'>{svg}</body></html>")
        img = screenshot(one, f"{work}/{example}-chart{i}.png", "760,420")
        assert ink(img) > 0.01, f"{example}: chart {i} is blank ({ink(img):.4f})"
    # Printed to PDF (what a board gets): a real document of several pages.
    pdf = f"{work}/{example}.pdf"
    subprocess.run(CHROMIUM + [f"--print-to-pdf={pdf}", "--no-pdf-header-footer", f"file://{html}"],
                   capture_output=True, timeout=120)
    data = open(pdf, "rb").read()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert data.startswith(b"%PDF") and pages >= 3, f"{example}.pdf: {pages} pages"
    print(f"{example}.html: {len(svgs)} charts, each drawn; offline, no console errors; prints to {pages} PDF pages")

    # XLSX: every sheet read by openpyxl; the Yearly sheet through LibreOffice equals the JSON.
    import openpyxl
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    names = wb.sheetnames
    assert names[:4] == ["Summary", "Yearly", "Monthly", "Inputs"], names
    for ws in wb.worksheets:
        rows = sum(1 for _ in ws.iter_rows(values_only=True))
        assert rows > 1, f"{example}.xlsx {ws.title}: empty"
    doc = json.load(open(f"{work}/{example}.json"))
    csvdir = f"{work}/{example}-csv"
    os.makedirs(csvdir, exist_ok=True)
    run(["soffice", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
         "--outdir", csvdir, xlsx])
    yearly = glob.glob(f"{csvdir}/*Yearly*.csv")
    assert yearly, f"LibreOffice wrote no Yearly sheet: {os.listdir(csvdir)}"
    rows = list(csv.DictReader(open(yearly[0], encoding="utf-8")))
    plan = doc["plans"][0]
    want = plan["yearly"][0]["revenue_usd"]["mean"]
    got = next(float(r["mean"]) for r in rows
               if r["plan"] == plan["name"] and r["line"] == "revenue_usd"
               and int(float(r["year"])) == plan["yearly"][0]["year"])
    assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), f"Yearly revenue {got} vs JSON {want}"
    print(f"{example}.xlsx: sheets {names} read by openpyxl; LibreOffice's Yearly revenue {got:.6g} = JSON's")
