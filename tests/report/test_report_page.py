"""The report as a user sees it: one self-contained file that headless Chromium opens
without a console error, showing non-blank plots; PNG copies; every section filled."""

import dataclasses
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from rlnas.cli import main
from rlnas.config import SearchConfig
from rlnas.evaluation.costs import count_params
from rlnas.nn import BuildOptions
from rlnas.report import write_report
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.testing import FakeEvaluator

SPACE = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install -y chromium; "
    ".ci/run installs it)",
)
WIDTH = 1280


class CostlyFake(FakeEvaluator):
    """The fake evaluator with params, FLOPs and latency, as a real evaluator measures them."""

    def evaluate(self, arch, seed, *, prune=None):
        result = super().evaluate(arch, seed, prune=prune)
        params = count_params(arch, (1, 8, 8), 10, BuildOptions())
        return dataclasses.replace(
            result, params=params, flops=9 * params, latency_ms=0.05 + params / 2e5
        )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report") / "run"
    config = SearchConfig(budget=60, seed=3, top_k=3, epochs=5, run_dir=str(run_dir))
    run_search(config, evaluator=CostlyFake(SPACE, seed=1, noise=0.02, epochs=5))
    return run_dir


@pytest.fixture(scope="module")
def report(run):
    return write_report(run)


class Resources(HTMLParser):
    """Every URL the page would load (src, href, url(...) in styles)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "data") and value:
                self.urls.append(value)


def test_report_is_self_contained_and_has_every_section(report):
    html = report.html.read_text()
    parser = Resources()
    parser.feed(html)
    assert all(u.startswith("#") for u in parser.urls), parser.urls  # nothing to fetch
    assert all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", html))
    assert "http-equiv" not in html  # a finished run's page does not reload itself
    keys = re.findall(r'<figure class="chart" data-key="([^"]+)"', html)
    assert keys == [
        "best_by_trial", "best_by_time", "rewards", "epsilon", "accuracy_vs_params",
        "accuracy_vs_latency", "diagnostic_q_spread", "learning_curves",
    ]  # fmt: skip
    assert "no data yet" not in html
    rows = re.findall(r'<tr data-trial="(\d+)">', html)
    assert 20 <= len(rows) <= 25 and len(set(rows)) == len(rows)
    assert html.count('<div class="drawing">') == 5
    assert len(html) < 1_000_000


def test_png_copies_exist_for_every_plot_and_are_not_blank(report):
    assert {p.stem for p in report.pngs} == {
        "best_by_trial", "best_by_time", "rewards", "epsilon", "accuracy_vs_params",
        "accuracy_vs_latency", "diagnostic_q_spread", "learning_curves",
    }  # fmt: skip
    for path in report.pngs:
        pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
        colourful = (pixels.max(axis=2) - pixels.min(axis=2)) > 60
        assert colourful.sum() > 200, path.name  # data marks, not only axes and text


def chromium(url, profile, *args, height=2000):
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--force-device-scale-factor=1", "--hide-scrollbars", f"--window-size={WIDTH},{height}",
        *args, url,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def console_messages(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


# Written into the title of a copy of the page: where each plot's data area (inside the
# axes: no legend, colour bar or labels) and each drawing is, and how tall the page is.
# The copy lays out exactly as the report (the script adds no element).
MEASURE = """<script>
var areas = document.querySelectorAll("svg.plot rect.frame, svg.arch");
document.title = JSON.stringify({
  height: document.documentElement.scrollHeight,
  boxes: Array.prototype.map.call(areas, function (e) {
    var r = e.getBoundingClientRect();
    return [e.tagName, r.left, r.top + window.scrollY, r.width, r.height];
  })
});
</script></body>"""


@needs_chromium
@pytest.mark.slow
def test_chromium_opens_the_report_without_errors_and_shows_plots(report, tmp_path):
    measure = tmp_path / "measure.html"
    measure.write_text(report.html.read_text().replace("</body>", MEASURE))
    dump = chromium(measure.as_uri(), tmp_path / "p1", "--dump-dom")
    assert console_messages(dump.stderr) == []
    layout = json.loads(re.search(r"<title>(.*?)</title>", dump.stdout).group(1))
    assert len(layout["boxes"]) == 8 + 5  # eight plots, five drawings
    height = int(layout["height"]) + 10
    shot = chromium(
        report.html.as_uri(), tmp_path / "p2", f"--screenshot={tmp_path / 'shot.png'}",
        height=height,
    )  # fmt: skip
    assert console_messages(shot.stderr) == [], shot.stderr
    pixels = np.asarray(Image.open(tmp_path / "shot.png").convert("RGB")).astype(int)
    assert pixels.shape[0] >= height - 10
    for kind, left, top, width, box_height in layout["boxes"]:
        assert width > 150 and box_height > 40, (kind, width, box_height)
        # 3 px inside the box: a plot's frame line alone would ink ~1.2% of its area, an
        # empty plot (pale grid only) none; one step line (the epsilon schedule) ~1.4%.
        region = pixels[
            int(top) + 3 : int(top + box_height) - 3, int(left) + 3 : int(left + width) - 3
        ]
        inked = (region < 230).any(axis=2).mean()
        colourful = ((region.max(axis=2) - region.min(axis=2)) > 50).sum()
        assert inked > 0.005 and colourful > 100, (kind, top, inked, colourful)


@needs_chromium
@pytest.mark.slow
def test_the_console_check_would_catch_a_script_error(report, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(report.html.read_text().replace("</body>", "<script>nope();</script></body>"))
    messages = console_messages(chromium(broken.as_uri(), tmp_path / "p", "--dump-dom").stderr)
    assert any("nope is not defined" in m for m in messages)


def test_rlnas_report_cli_writes_the_page_and_plots(run, capsys):
    assert main(["report", str(run), "--no-png", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == str(run / "report.html")
    assert len(re.findall(r"<tr data-trial=", (run / "report.html").read_text())) == 5
