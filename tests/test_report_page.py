"""``rejuv report``: one self-contained, readable HTML page from rejuv's own results, checked in a real browser."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rejuv.cli.main import main
from rejuv.provenance import recording
from rejuv.report import SWEEP_HEADER, write_csv
from rejuv.report.html import build_report
from rejuv.report.results import ReportError, read_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def rejuv(*arguments: str) -> str:
    """Run ``rejuv ARGUMENTS`` in this process; return its stdout (the command must succeed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(arguments)) == 0, arguments
    return out.getvalue()


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of what rejuv writes: reproduce's files, compare/validate/fit JSON, a fit TOML, a sweep CSV, a trace."""
    folder = tmp_path_factory.mktemp("results")
    rejuv("reproduce", "--out-dir", str(folder))
    (folder / "compare.json").write_text(rejuv("compare", "--json", "--hosts", "2,10,100,1000"))
    validate = rejuv("validate", "--json", "--hosts", "2", "--strategies", "warm,cold", "--no-progress")
    (folder / "validate.json").write_text(validate)
    rejuv("synth", "--kind", "warm", "--out", str(folder / "warm.trace"))
    rejuv("fit", str(folder / "warm.trace"), "--kind", "warm", "--out", str(folder / "params.toml"))
    (folder / "fit.json").write_text(rejuv("fit", str(folder / "warm.trace"), "--kind", "warm", "--json"))
    with recording(["rejuv", "sweep", "--hosts", "10"]):  # the table rejuv sweep writes, without a Dask cluster
        row = ["warm", 10, 0, 2, 3.3574e-4, 3.3575e-4, 3.3570e-4, 3.3580e-4, 2.2e-5, 0.0, 0.0]
        write_csv(folder / "sweep.csv", SWEEP_HEADER, [row])
    return folder


@pytest.fixture(scope="module")
def page(results_dir: Path) -> str:
    """The report of every result in the folder, as ``rejuv report`` writes it."""
    out = results_dir.parent / "report.html"
    rejuv("report", str(results_dir), "--out", str(out))
    return out.read_text(encoding="utf-8")


class _Tags(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_page_is_self_contained(page: str) -> None:
    """The page loads nothing: no src or href to another resource, no script, no stylesheet link."""
    for tag, attrs in tags(page):
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value or value.startswith(("data:", "#")), (tag, value[:80])
        assert tag not in ("script", "link", "iframe", "object"), tag
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)


def test_page_has_a_title_a_language_and_table_headers(page: str) -> None:
    """The page has a lang, a title, and every table a caption and header cells."""
    found = tags(page)
    assert ("html", {"lang": "en"}) in found
    assert "<title>rejuv report</title>" in page
    assert page.count("<table>") == page.count("<caption>") == page.count("<thead>") > 0


def test_verdict_comes_before_the_tables_and_figures(page: str) -> None:
    """The verdict section is the first thing after the heading: before any table or figure."""
    verdict = page.index('id="verdict"')
    assert verdict < page.index("<table") and verdict < page.index("<img")


def test_every_image_has_alt_text_and_is_a_png_data_uri(page: str) -> None:
    """Every image has alt text and its src is a data URI that decodes to a PNG."""
    images = [attrs for tag, attrs in tags(page) if tag == "img"]
    assert len(images) == 4  # Figures 1, 2 and 7, and the trace (drawn)
    for attrs in images:
        assert (attrs.get("alt") or "").strip()
        src = attrs.get("src") or ""
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_MAGIC)


def test_every_inputs_provenance_appears(page: str, results_dir: Path) -> None:
    """Each input file is named in the provenance section with the command that made it."""
    provenance = page[page.index('id="provenance"') :]
    for path in sorted(results_dir.iterdir()):
        if path.suffix != ".png":  # a figure is shown with its table
            assert str(path) in provenance, path
    for command in ("rejuv reproduce", "rejuv compare --json", "rejuv validate --json", "rejuv fit", "rejuv sweep"):
        assert command in provenance, command
    assert "machine" in provenance


def test_page_carries_its_own_provenance_in_a_meta_tag(page: str) -> None:
    """The page's own provenance (the report command) is JSON in <meta name="rejuv-provenance">."""
    meta = next(attrs for tag, attrs in tags(page) if tag == "meta" and attrs.get("name") == "rejuv-provenance")
    made = json.loads(meta["content"] or "")
    assert made["command"].startswith("rejuv report") and "machine" in made


def test_verdicts_say_who_wins_whether_model_and_simulation_agree_and_what_was_measured(page: str) -> None:
    """The verdict names the winner and the crossovers, validate's agreement, and the fitted values with ±."""
    verdict = page[page.index('id="verdict"') : page.index("</section>")]
    assert "Warm-VM Reboot wins at every cluster size here (m = 2 to 1,000)." in verdict
    assert "Live migration overtakes Cold-VM Reboot at m = 11,190" in verdict
    assert "Model and simulation agree within 0.001 relative in 2 of 2 comparisons." in verdict
    assert re.search(r"D_w = 5\d ± 1 s", verdict)


def test_parameters_appear_with_their_uncertainties(page: str) -> None:
    """The parameters section has the fitted values with their standard errors (from TOML and JSON)."""
    parameters = page[page.index('id="parameters"') : page.index('id="provenance"')]
    assert "Parameter file (rejuv fit --out)" in parameters
    assert re.search(
        r'<td>omega</td><td>[^<]+</td><td class="num">0\.6\d*</td><td class="num">0\.00\d+</td>', parameters
    )


def test_a_named_file_that_is_not_a_result_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file named on the command line that rejuv did not write: ``error: FILE: <why>``, exit 2, no page."""
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"hello": 1}')
    out = tmp_path / "r.html"
    assert main(["report", str(bogus), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bogus}: JSON with keys ['hello']")
    assert not out.exists()


def test_a_result_with_the_right_keys_but_wrong_values_is_an_error(tmp_path: Path) -> None:
    """A JSON with compare's keys but values of the wrong shape names the file, not a traceback."""
    broken = tmp_path / "compare.json"
    broken.write_text('{"strategies": 3, "best": [], "hosts": []}')
    with pytest.raises(ReportError, match=re.escape(str(broken))):
        read_results([broken])


def test_a_missing_path_or_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    """A path that does not exist, or folders with no result in them, raise ReportError."""
    with pytest.raises(ReportError, match="no such file or folder"):
        read_results([tmp_path / "absent"])
    with pytest.raises(ReportError, match="no rejuv results found"):
        read_results([tmp_path])


def test_a_device_or_a_pipe_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A FIFO or a device named as a result is refused at once (reading it could block for ever)."""
    import os

    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/null")):
        with pytest.raises(ReportError, match="not a regular file"):
            read_results([path])


def test_files_in_a_folder_that_are_not_results_are_skipped_with_a_note(results_dir: Path, tmp_path: Path) -> None:
    """In a folder, a file that is not a result is skipped, and the page and the notes say so."""
    folder = tmp_path / "mixed"
    shutil.copytree(results_dir, folder)
    (folder / "run.log").write_text("started\n")
    results, skipped = read_results([folder])
    assert len(skipped) == 1 and skipped[0].startswith(f"{folder / 'run.log'}: not a result")
    assert "skipped " + str(folder / "run.log") in build_report(results, skipped)


# -- in a real browser: Debian's chromium, headless --------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: Injected into a copy of the page: counts the images that decoded and records every error the page raises.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || e.type)), true);
document.addEventListener("securitypolicyviolation", e => window.__errors.push("blocked " + e.blockedURI));
const consoleError = console.error;
console.error = (...args) => { window.__errors.push(args.join(" ")); consoleError(...args); };
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  document.body.dataset.images = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.total = images.length;
  document.body.dataset.errors = JSON.stringify(window.__errors);
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium (``make browser-deps`` installs it); skips only where it is not installed."""
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (make browser-deps installs it as root on Debian)")
    return found


def browse(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run headless chromium with a fresh profile; logging of the page's console on stderr."""
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_the_page_renders_in_chromium_to_a_non_blank_screenshot(chromium: str, page: str, tmp_path: Path) -> None:
    """Headless chromium draws the page to a 1200 by 2000 PNG that is not one flat colour, with no console message."""
    from PIL import Image

    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    shot = tmp_path / "shot.png"
    done = browse(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        (tmp_path / "report.html").as_uri(),
    )
    assert shot.is_file(), done.stderr[-2000:]
    assert shot.read_bytes().startswith(PNG_MAGIC)
    with Image.open(shot) as picture:
        assert picture.size == (1200, 2000)
        colours = picture.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is None or len(colours) > 100  # text, tables and figures, not a blank page
    assert "CONSOLE" not in done.stderr, done.stderr[-2000:]


def test_every_image_loads_in_chromium_without_console_errors(chromium: str, page: str, tmp_path: Path) -> None:
    """In chromium every image decodes (naturalWidth > 0), and the page raises no error and blocks no load."""
    probed = page.replace("default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'", 1)
    probed = probed.replace("</head>", PROBE + "\n</head>", 1)
    (tmp_path / "probed.html").write_text(probed, encoding="utf-8")
    done = browse(
        chromium, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "probed.html").as_uri()
    )
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body is not None, done.stderr[-2000:]
    data = dict(re.findall(r'data-(\w+)="([^"]*)"', body[1]))
    assert data.get("total") == "4" and data.get("images") == "4", body[1]
    assert data.get("errors") == "[]", body[1]
    assert "CONSOLE" not in done.stderr, done.stderr[-2000:]
