"""``wirewatch feeds import|export`` as real subprocesses on OPML files shaped like Miniflux's and FreshRSS's
exports: nested categories become tags, duplicates and unusable URLs are reported (not fatal), hostile titles
come back escaped, and a file with a DTD (entity expansion) is refused with a hint."""

# ruff: noqa: E501  (the OPML files are written as the readers export them: one outline per line)

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from ingest.feedlist import load_feed_list

WIREWATCH = str(Path(sys.executable).with_name("wirewatch"))
MINIFLUX = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
    <head>
        <title>Miniflux</title>
        <dateCreated>Mon, 07 Dec 2026 20:00:00 UTC</dateCreated>
    </head>
    <body>
        <outline text="Middle East">
            <outline title="Wire &amp; Co" text="Wire &amp; Co" xmlUrl="https://wire.example.org/rss.xml" htmlUrl="https://wire.example.org/" description=""></outline>
            <outline title="Gulf Desk" text="Gulf Desk" xmlUrl="https://gulf.example.net/feed/" htmlUrl="https://gulf.example.net/"></outline>
        </outline>
        <outline text="All">
            <outline title="Already listed" text="Already listed" xmlUrl="https://listed.example.com/feed.xml" htmlUrl="https://listed.example.com/"></outline>
            <outline title="Wire again" text="Wire again" xmlUrl="https://WIRE.example.org/rss.xml#top" htmlUrl=""></outline>
        </outline>
    </body>
</opml>
"""
FRESHRSS = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:frss="https://freshrss.org/opml">
\t<head>
\t\t<title>FreshRSS</title>
\t\t<dateCreated>Mon, 07 Dec 2026 20:00:00 +0000</dateCreated>
\t</head>
\t<body>
\t\t<outline text="Africa">
\t\t\t<outline text="Sahel">
\t\t\t\t<outline text="Sahel Monitor" type="rss" xmlUrl="https://sahel.example.org/atom" htmlUrl="https://sahel.example.org/" description="Daily" frss:cssFullContent="article"/>
\t\t\t</outline>
\t\t\t<outline text="&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x" type="rss" xmlUrl="https://bad.example.org/rss?a=1&amp;b=2"/>
\t\t\t<outline text="No scheme" type="rss" xmlUrl="javascript:alert(1)"/>
\t\t\t<outline text="Spaces" type="rss" xmlUrl="ht tp://broken url"/>
\t\t</outline>
\t\t<outline text="Top level" type="rss" xmlUrl="http://top.example.com/rss"/>
\t</body>
</opml>
"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example.org/rss"/></body></opml>
"""


def wirewatch(feeds_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WIREWATCH_FEEDS_FILE": str(feeds_file)}
    return subprocess.run([WIREWATCH, "feeds", *args], env=env, capture_output=True, text=True, timeout=120)


def listed(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump({"feeds": [{"id": "listed", "url": "https://listed.example.com/feed.xml"}]}))
    return path


def test_import_miniflux_and_freshrss_reports_duplicates_and_invalid(tmp_path: Path) -> None:
    feeds = listed(tmp_path)
    (tmp_path / "miniflux.opml").write_text(MINIFLUX)
    (tmp_path / "freshrss.opml").write_text(FRESHRSS)
    first = wirewatch(feeds, "import", str(tmp_path / "miniflux.opml"), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert [a["id"] for a in report["added"]] == ["wire-co", "gulf-desk"]
    assert [(d["line"], d["same_as"]) for d in report["duplicates"]] == [(13, "listed"), (14, "line 9")]
    second = wirewatch(feeds, "import", str(tmp_path / "freshrss.opml"), "--json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert len(report["added"]) == 3 and report["duplicates"] == []
    assert sorted(i["line"] for i in report["invalid"]) == [13, 14]
    specs = {s.id: s for s in load_feed_list(feeds)}  # the list stays valid for the pipeline
    assert specs["wire-co"].tags == ("Middle East",) and specs["wire-co"].name == "Wire & Co"
    assert specs["sahel-monitor"].tags == ("Africa", "Sahel")
    assert specs["top-level"].tags == () and specs["top-level"].url == "http://top.example.com/rss"
    assert specs["script-alert-1-script-onmouseover-x"].url == "https://bad.example.org/rss?a=1&b=2"
    assert len(specs) == 6 and (tmp_path / "feeds.yaml.bak").exists()


def test_export_round_trips_and_escapes_hostile_titles(tmp_path: Path) -> None:
    feeds = listed(tmp_path)
    (tmp_path / "freshrss.opml").write_text(FRESHRSS)
    assert wirewatch(feeds, "import", str(tmp_path / "freshrss.opml")).returncode == 0
    rows = yaml.safe_load(feeds.read_text())["feeds"]
    rows[0]["name"] = 'Bell\x07 "quoted" & <b>bold</b>'  # a control character XML 1.0 cannot hold
    feeds.write_text(yaml.safe_dump({"feeds": rows}))
    out = tmp_path / "export.opml"
    done = wirewatch(feeds, "export", "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "<script>" not in text and "<b>" not in text and "\x07" not in text
    root = ET.fromstring(text)  # well-formed
    outlines = {o.get("xmlUrl"): o for o in root.iter("outline") if o.get("xmlUrl")}
    assert outlines["https://listed.example.com/feed.xml"].get("title") == 'Bell "quoted" & <b>bold</b>'
    assert outlines["https://bad.example.org/rss?a=1&b=2"].get("text") == '<script>alert(1)</script>" onmouseover="x'
    africa = next(o for o in root.iter("outline") if o.get("text") == "Africa")
    sahel = next(o for o in africa if o.get("text") == "Sahel")
    assert [o.get("xmlUrl") for o in sahel] == ["https://sahel.example.org/atom"]
    assert sahel[0].get("htmlUrl") == "https://sahel.example.org/"
    # and the export reads back: every feed a duplicate of itself, nothing added
    again = wirewatch(feeds, "import", str(out), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["added"] == []
    assert len(json.loads(again.stdout)["duplicates"]) == len(rows)
    assert wirewatch(feeds, "export").stdout == text  # stdout by default


def test_a_dtd_is_refused_and_the_list_is_untouched(tmp_path: Path) -> None:
    feeds = listed(tmp_path)
    before = feeds.read_text()
    (tmp_path / "laughs.opml").write_text(LAUGHS)
    done = wirewatch(feeds, "import", str(tmp_path / "laughs.opml"))
    assert done.returncode == 2 and "refused" in done.stderr and "hint" in done.stderr
    assert "Traceback" not in done.stderr and feeds.read_text() == before
    (tmp_path / "broken.opml").write_text("<opml><body><outline xmlUrl='https://x.example.org/'></body>")
    broken = wirewatch(feeds, "import", str(tmp_path / "broken.opml"))
    assert broken.returncode == 2 and "not readable as OPML" in broken.stderr
