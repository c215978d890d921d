#!/usr/bin/env python3
"""trajc recall report and trajc report --html against a scratch database:
the figures equal the SQL functions'; the page is self-contained (no script,
no external resource); and a real browser (Debian's headless chromium)
renders it: its DOM (--dump-dom) carries every chart with the same numbers,
and its screenshot (--screenshot) is a PNG with the charts' colours in it."""
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from trajc_tap import Tap, ScratchDb, run_tool, workdir  # noqa: E402

t = Tap()
db = ScratchDb("report", sessions=8, mean_turns=20, compile_limit=8)
tmp = workdir()
KS = [1, 2, 3, 5, 10, 20]

# A retrieval table with known recall: each pair's supporting turns, last
# first, then turn 1 (so that some lists repeat a turn).
db.sql("""
  CREATE TABLE my_ret AS
    SELECT p.id AS pair_id, (row_number() OVER (PARTITION BY p.id ORDER BY e.n DESC))::int AS rank,
           e.turn::int AS turn
      FROM trajc.qa_pairs p,
           jsonb_array_elements_text(p.supporting_turns) WITH ORDINALITY AS e(turn, n)
    UNION ALL
    SELECT p.id, 1000, 1 FROM trajc.qa_pairs p;
  CREATE TABLE bad_cols (pair_id uuid, rank int, position int);""")


def sql_report(relation, k):
    return json.loads(db.sql(
        "SELECT json_agg(r) FROM trajc_recall_report('%s', %d) r" % (relation, k)))


def close(a, b):
    return a is None and b is None or (a is not None and b is not None and abs(a - b) < 1e-6)


# ------------------------------------------------------------ recall report
rc, so, se = run_tool(["recall", "report", "--table", "my_ret", "--k", "3", "--json"], db=db.name)
got = json.loads(so) if rc == 0 else []
want = sql_report("my_ret", 3)
t.ok(rc == 0 and len(got) == 5 and all(
    g["qa_type"] == w["qa_type"] and g["pairs"] == w["pairs"]
    and all(close(g[c], w[c]) for c in ("recall", "recall_all", "recall_any", "ndcg", "precision"))
    for g, w in zip(got, want)), "recall report --table prints trajc_recall_report", (so, se, want))
rc, so, se = run_tool(["recall", "report", "--baseline", "recent", "--k", "5", "--json"],
                      db=db.name)
db.sql("""CREATE TABLE recent5 AS SELECT p.id AS pair_id, r.rank, r.turn FROM trajc.qa_pairs p
            LEFT JOIN LATERAL trajc_retrieve(p.id, 5, 'recent') r ON true""")
want = sql_report("recent5", 5)
got = json.loads(so) if rc == 0 else []
t.ok(rc == 0 and [g["pairs"] for g in got] == [w["pairs"] for w in want]
     and all(close(g["recall"], w["recall"]) for g, w in zip(got, want)),
     "recall report --baseline recent equals the SQL recipe", (so, se))
rc, so, se = run_tool(["recall", "report"], db=db.name)
t.ok(rc == 2 and "--table or --baseline" in se, "neither --table nor --baseline: exit 2", se)
rc, so, se = run_tool(["recall", "report", "--table", "my_ret", "--baseline", "fts"], db=db.name)
t.ok(rc == 2, "both --table and --baseline: exit 2", se)
rc, so, se = run_tool(["recall", "report", "--table", "no_such_table"], db=db.name)
t.ok(rc == 2 and 'relation "no_such_table" does not exist' in se and "pair_id uuid" in se,
     "an unknown table: exit 2, with a hint on the shape", se)
rc, so, se = run_tool(["recall", "report", "--table", "bad_cols"], db=db.name)
t.ok(rc == 2 and 'has no column "turn"' in se, "a table without turn: exit 2, naming it", se)
rc, so, se = run_tool(["recall", "report", "--baseline", "bm25"], db=db.name)
t.ok(rc == 2 and 'unknown baseline "bm25"' in se, "an unknown baseline: exit 2", se)
rc, so, se = run_tool(["recall", "report", "--table", "my_ret", "--k", "0"], db=db.name)
t.ok(rc == 2 and "--k" in se, "--k 0: exit 2", se)
rc, so, se = run_tool(["help", "recall", "report"])
t.ok(rc == 0 and "--baseline" in so, "help recall report shows its options", so)


# ------------------------------------------------------------ report --html
class Charts(html.parser.HTMLParser):
    """data-chart -> list of (series, label, value) of its data elements;
    also notes anything that would load a resource."""

    def __init__(self):
        super().__init__()
        self.charts, self.unavailable, self.loads, self.tables = {}, {}, [], {}
        self.chart = None
        self.regressions = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "data-chart" in a:
            self.chart = a["data-chart"]
            self.charts.setdefault(self.chart, [])
        elif self.chart and "data-value" in a:
            self.charts[self.chart].append((a.get("data-series", ""), a["data-label"],
                                            a["data-value"]))
        if a.get("data-available") == "false":
            self.unavailable[a["data-chart"]] = True
        if "data-regressions" in a:
            self.regressions = int(a["data-regressions"])
        if "data-table" in a:
            self.tables[a["data-table"]] = True
        if tag in ("script", "link", "img", "iframe", "object", "embed", "image", "use"):
            self.loads.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href") or (value and "url(" in value):
                self.loads.append("%s=%s" % (name, value))

    def handle_endtag(self, tag):
        if tag == "svg":
            self.chart = None

    def handle_data(self, data):
        if "@import" in data or "url(" in data:
            self.loads.append(data[:80])


def parse(text):
    p = Charts()
    p.feed(text)
    return p


out = os.path.join(tmp, "report.html")
rc, so, se = run_tool(["report", "--html", out, "--retrievals", "my_ret", "--recall-pairs", "0"],
                      db=db.name)
t.ok(rc == 0 and os.path.exists(out) and "wrote" in so, "report --html writes the page", se)
page = open(out, encoding="utf-8").read() if os.path.exists(out) else ""
p = parse(page)
t.eq(p.loads, [], "nothing in the page loads a resource (no script, link, src, href, url())")
t.ok(page.startswith("<!DOCTYPE html>") and 'charset="utf-8"' in page, "a complete HTML5 page")


def values(parsed, chart, series=""):
    return {label: float(v) for s, label, v in parsed.charts.get(chart, []) if s == series}


stats = dict(tuple(r.split("|")) for r in db.sql(
    "SELECT qa_type, pairs FROM trajc_stats() WHERE qa_type <> 'total'").splitlines())
t.eq(values(p, "pairs-per-type"), {k: float(v) for k, v in stats.items()},
     "pairs-per-type: one bar per qa_type with trajc_stats' counts")
agents = dict(tuple(r.split("|")) for r in db.sql(
    "SELECT agent, count(*) FROM trajc.qa_pairs GROUP BY 1").splitlines())
got_agents = values(p, "pairs-per-agent")
t.ok(got_agents and all(float(agents[a]) == v for a, v in got_agents.items() if a in agents)
     and sum(got_agents.values()) == sum(float(v) for v in agents.values()),
     "pairs-per-agent: each agent's count, summing to every pair", (got_agents, agents))
cost = float(db.sql("SELECT coalesce(sum(cost_usd), 0) FROM trajc.compile_log"))
days = db.sql("SELECT count(DISTINCT (finished_at AT TIME ZONE 'UTC')::date) FROM trajc.compile_log")
got_cost = values(p, "cost-over-time", "compile")
t.ok(len(got_cost) == int(days) and close(sum(got_cost.values()), cost),
     "cost-over-time: one point per day, summing to compile_log's cost", (got_cost, cost))

has_verified = db.sql("""SELECT count(*) FROM pg_attribute WHERE attrelid = 'trajc.qa_pairs'::regclass
                           AND attname = 'verified_by' AND NOT attisdropped""") == "1"
if has_verified:
    share = float(db.sql("SELECT count(verified_by)::float8 / count(*) FROM trajc.qa_pairs"))
    t.ok(close(values(p, "quality-shares").get("verified"), share),
         "quality-shares: the verified share of trajc.qa_pairs")
else:
    t.ok(p.unavailable.get("quality-shares") and "verified" not in values(p, "quality-shares"),
         "quality-shares: not available without the verified_by column")
t.ok(p.unavailable.get("eval-accuracy"), "eval-accuracy: not available before any eval run")

series = {}
for s, label, v in p.charts.get("recall-at-k", []):
    series.setdefault(s, {})[label] = float(v)
t.eq(sorted(series), ["fts baseline", "my_ret", "recent baseline"],
     "recall-at-k: the two baselines and the table given")
db.sql("""CREATE TABLE fts20 AS SELECT p.id AS pair_id, r.rank, r.turn FROM trajc.qa_pairs p
            LEFT JOIN LATERAL trajc_retrieve(p.id, 20, 'fts') r ON true;
          CREATE TABLE recent20 AS SELECT p.id AS pair_id, r.rank, r.turn FROM trajc.qa_pairs p
            LEFT JOIN LATERAL trajc_retrieve(p.id, 20, 'recent') r ON true;""")
for name, relation in (("my_ret", "my_ret"), ("fts baseline", "fts20"),
                       ("recent baseline", "recent20")):
    want = {"k=%d" % k: sql_report(relation, k)[-1]["recall"] for k in KS}
    got = series.get(name, {})
    t.ok(sorted(got) == sorted(want) and all(close(got[k], want[k]) for k in want),
         "recall-at-k, %s: trajc_recall_report's total recall at k = 1..20" % name, (got, want))
t.ok(series.get("my_ret", {}).get("k=20") == 1.0,
     "the supporting turns themselves reach recall 1")

# ------------------------------------------------------------ eval section
out2 = os.path.join(tmp, "report2.html")  # the browser below opens the first page
# Two runs written by hand: "old" right on every pair, "new" wrong on the
# first three pairs by id and not graded on the fourth.
db.sql("""
  INSERT INTO trajc.eval_runs (label, provider, model, grader, started_at)
  VALUES ('old', 'openai', 'm-old', 'match', now() - interval '2 hours'),
         ('new', 'openai', 'm-new', 'match', now() - interval '1 hour');
  INSERT INTO trajc.eval_answers (run_id, session_id, pair_id, answer, correct, score)
  SELECT r.id, p.session_id, p.id, 'x', CASE WHEN r.label = 'old' THEN true
                               WHEN p.n <= 3 THEN false
                               WHEN p.n = 4 THEN NULL ELSE true END, 1
    FROM trajc.eval_runs r,
         (SELECT session_id, id, row_number() OVER (ORDER BY id) AS n FROM trajc.qa_pairs) p;""")
rc, so, se = run_tool(["report", "--html", out2, "--recall-pairs", "5"], db=db.name)
p2 = parse(open(out2, encoding="utf-8").read() if rc == 0 else "")
want = json.loads(db.sql("SELECT json_agg(r) FROM trajc_eval_report('old', 'new') r"))
got_old, got_new = values(p2, "eval-accuracy", "old"), values(p2, "eval-accuracy", "new")
t.ok(rc == 0 and not p2.unavailable.get("eval-accuracy") and len(got_old) == 5
     and all(close(got_old[w["qa_type"]], w["accuracy_a"]) for w in want if w["pairs"])
     and all(close(got_new[w["qa_type"]], w["accuracy_b"]) for w in want if w["pairs"]),
     "eval-accuracy: the two latest runs side by side, as trajc_eval_report", (got_old, want, se))
t.eq(p2.regressions, 3, "the regressions are counted: 3 pairs old got right and new did not")
t.ok(p2.tables.get("regressions"), "and listed in a table")
rc, so, se = run_tool(["report", "--html", out2, "--recall-pairs", "5", "--eval", "new"],
                      db=db.name)
p3 = parse(open(out2, encoding="utf-8").read() if rc == 0 else "")
t.ok(rc == 0 and sorted({s for s, _, _ in p3.charts.get("eval-accuracy", [])}) == ["new"]
     and p3.regressions is None, "--eval LABEL shows one run, without regressions")
rc, so, se = run_tool(["report", "--html", out2, "--eval", "nope"], db=db.name)
p4 = parse(open(out2, encoding="utf-8").read() if rc == 0 else "")
t.ok(rc == 0 and p4.unavailable.get("eval-accuracy"),
     "an unknown --eval label: that part says not available", se)
db.sql("DELETE FROM trajc.eval_runs")

# Two calls, smaller baselines, a missing retrieval table.
rc, so, se = run_tool(["report", "--html", out2, "--retrievals", "no_such_table"], db=db.name)
t.ok(rc == 2 and "--retrievals no_such_table" in se, "an unknown --retrievals table: exit 2", se)
rc, so, se = run_tool(["report"], db=db.name)
t.ok(rc == 2 and "--html" in se, "report without --html: exit 2", se)
rc, so, se = run_tool(["report", "--html", tmp], db=db.name)
t.ok(rc == 2 and tmp in se, "a directory as --html: exit 2", se)
rc, so, se = run_tool(["report", "--html", "-", "--recall-pairs", "3"], db=db.name)
t.ok(rc == 0 and so.startswith("<!DOCTYPE html>"), "--html - writes the page to stdout", se)

# ------------------------------------------------------------ a real browser
CHROMIUM = shutil.which("chromium")
t.ok(CHROMIUM, "chromium is installed (scripts/setup-deps.sh)")


def chromium(*args):
    profile = os.path.join(tmp, "profile-%d" % len(os.listdir(tmp)))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--user-data-dir=" + profile, "--hide-scrollbars"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6), "unexpected PNG format"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


if CHROMIUM:
    url = "file://" + out
    r = chromium("--dump-dom", url)
    dom = parse(r.stdout)
    t.ok(r.returncode == 0 and dom.charts, "chromium --dump-dom gives the rendered DOM", r.stderr[-500:])
    for chart in ("pairs-per-type", "pairs-per-agent", "cost-over-time", "recall-at-k"):
        t.eq(dom.charts.get(chart), p.charts.get(chart),
             "the browser's DOM has chart %s with the same numbers" % chart)
    t.eq(sorted(dom.unavailable), sorted(p.unavailable),
         "the browser's DOM has the same 'not available' notes")
    shot = os.path.join(tmp, "report.png")
    r = chromium("--screenshot=" + shot, "--window-size=1000,2400", url)
    t.ok(r.returncode == 0 and os.path.exists(shot), "chromium --screenshot renders a PNG", r.stderr[-500:])
    if os.path.exists(shot):
        width, height, bpp, rows = png_pixels(shot)
        t.eq((width, height), (1000, 2400), "the screenshot has the window's size")
        # The bars are drawn in #4e79a7, the second series in #f28e2b.
        def count(rgb):
            return sum(1 for row in rows for i in range(0, len(row), bpp)
                       if tuple(row[i:i + 3]) == rgb)
        t.ok(count((0x4e, 0x79, 0xa7)) > 2000, "the bar charts are painted (blue pixels)")
        t.ok(count((0xf2, 0x8e, 0x2b)) > 50, "the second recall curve is painted (orange pixels)")
