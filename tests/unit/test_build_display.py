"""Build progress: plain lines for logs, a live step display for terminals."""

from __future__ import annotations

from amlexec.image.progress import BuildDisplay, strip_ansi

BUILDER = [
    "Step 1/3 : FROM sha256:abc",
    " ---> 53f4d40bd811",
    "Step 2/3 : RUN pip install six",
    " ---> Running in 7370b9448c14",
    "Collecting six",
    "Installing collected packages: six",
    "Removing intermediate container 7370b9448c14",
    " ---> 5bc0a54f7fdb",
    "Step 3/3 : ENV A=1",
    " ---> Using cache",
    "Successfully built 5bc0a54f7fdb",
]


def run(live: bool) -> tuple[list[str], BuildDisplay]:
    lines: list[str] = []
    display = BuildDisplay(lines.append, live=live, repaint_interval=0)
    for line in BUILDER:
        display.line(line)
    display.finish()
    return lines, display


def test_plain_mode_passes_every_useful_line_and_drops_builder_bookkeeping():
    lines, display = run(live=False)
    assert lines == [
        "  [1/3] FROM sha256:abc",
        "  [2/3] RUN pip install six",
        "    Collecting six",
        "    Installing collected packages: six",
        "  [3/3] ENV A=1",
        "     ---> Using cache",
    ]
    assert display.step == "[3/3] ENV A=1"
    assert list(display.tail) == ["Collecting six", "Installing collected packages: six", " ---> Using cache"]


def terminal(lines: list[str]) -> list[str]:
    """What a terminal shows after these lines were written with a newline each (cursor up, clear line)."""
    screen: list[str] = [""]
    row = 0
    for line in lines:
        text = line + "\n"
        i = 0
        while i < len(text):
            if text.startswith("\x1b[1A", i):
                row, i = max(row - 1, 0), i + 4
            elif text.startswith("\x1b[2K", i):
                screen[row], i = "", i + 4
            elif text[i] == "\n":
                row += 1
                if row == len(screen):
                    screen.append("")
                i += 1
            else:
                screen[row] += text[i]
                i += 1
    return [ln for ln in screen if ln]


def test_live_mode_shows_a_status_line_under_the_current_step_and_leaves_only_steps():
    lines: list[str] = []
    display = BuildDisplay(lines.append, live=True, repaint_interval=0)
    for line in BUILDER[:5]:
        display.line(line)
    shown = terminal(lines)
    assert shown[:2] == ["[1/3] FROM sha256:abc", "[2/3] RUN pip install six"]
    assert len(shown) == 3 and shown[2].startswith("    ") and shown[2].endswith("s  Collecting six")
    for line in BUILDER[5:]:
        display.line(line)
    display.finish()
    assert terminal(lines) == ["[1/3] FROM sha256:abc", "[2/3] RUN pip install six", "[3/3] ENV A=1"]


def test_strip_ansi():
    assert strip_ansi("\x1b[91mERROR: x\n\x1b[0m") == "ERROR: x\n"
