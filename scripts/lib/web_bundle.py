"""Prints the web console's bundle: the JavaScript index.html loads before any route (its
entry script, the modules it preloads and everything they import statically) gzipped, beside
the budget, then every other chunk (loaded on demand by a route) and the CSS. For
scripts/bench-web.sh.

    python3 scripts/lib/web_bundle.py web/console/dist [BUDGET_KB]
"""
import gzip
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

dist = Path(sys.argv[1])
budget_kb = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0


class Entry(HTMLParser):
    """The scripts and module preloads of index.html."""

    def __init__(self):
        super().__init__()
        self.js = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.js.append(a["src"])
        elif tag == "link" and a.get("rel") == "modulepreload" and a.get("href"):
            self.js.append(a["href"])


def local(url):
    return dist / url.split("?")[0].lstrip("/")


# A static import in minified output: `import{a as b}from"./x-hash.js"` or `import"./x.js"`;
# dynamic ones, `import("./x.js")`, are the routes' chunks and are not followed.
STATIC_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["'](\.{1,2}/[^"']+\.js)["']""")


def gz(path):
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


parser = Entry()
parser.feed((dist / "index.html").read_text(encoding="utf-8"))
initial, todo = set(), [local(u) for u in parser.js if u.endswith(".js")]
while todo:
    path = todo.pop().resolve()
    if path in initial or not path.exists():
        continue
    initial.add(path)
    for spec in STATIC_IMPORT.findall(path.read_text(encoding="utf-8")):
        todo.append(path.parent / spec)

kb = lambda n: n / 1024  # noqa: E731
initial_gz = sum(gz(p) for p in initial)
initial_raw = sum(p.stat().st_size for p in initial)
verdict = "within" if kb(initial_gz) <= budget_kb else "OVER"
print(f"Initial JavaScript (index.html before any route): {kb(initial_gz):.1f} KB gzipped "
      f"({kb(initial_raw):.1f} KB raw, {len(initial)} files), budget {budget_kb:.0f} KB: {verdict}")
for p in sorted(initial, key=gz, reverse=True):
    print(f"  {p.name:<48} {kb(gz(p)):8.1f} KB gz")

assets = sorted((dist / "assets").glob("*.js"))
chunks = [p.resolve() for p in assets if p.resolve() not in initial]
print(f"\nLoaded on demand (route pages and the chunks they share): {len(chunks)}")
for p in sorted(chunks, key=gz, reverse=True):
    print(f"  {p.name:<48} {kb(gz(p)):8.1f} KB gz  {kb(p.stat().st_size):8.1f} KB raw")
css = sorted((dist / "assets").glob("*.css"))
if css:
    print(f"\nCSS: {kb(sum(gz(p) for p in css)):.1f} KB gzipped in {len(css)} files")
