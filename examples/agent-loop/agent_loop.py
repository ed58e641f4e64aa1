"""An agent loop with a scripted "model" in place of an LLM: no model, no network.

    python3 examples/agent-loop/agent_loop.py [--out DIR]

The user asks for an analysis of a CSV and a chart saved to a path on their machine. The "model"
uploads the file, looks at it, analyses it with csv and statistics, draws a PNG bar chart (by hand,
with zlib and struct) and tries to save it where the user said. Cordon blocks the write: the path is
outside the workspace. The model reads the blocked entry's fix, saves the chart where the fix says
results belong, and answers. Each tool call and its result is printed, and written to
DIR/transcript.json; the chart ends up in DIR/workspaces/agent/outputs/.

The server is this checkout's bin/cordon (built on first use) unless CORDON_COMMAND says otherwise.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python-client"))

from cordon_client import CordonREPL, format_result  # noqa: E402

SESSION = "agent"
USER_PATH = "/home/analyst/reports/revenue.png"
USER_REQUEST = ("Here is our sales export (sales.csv). Which region earns the most, and which one "
                "grows fastest? Draw a bar chart of revenue by region and save it to " + USER_PATH + ".")


class ToolCall:
    def __init__(self, thought, code):
        self.thought = thought
        self.code = textwrap.dedent(code).strip() + "\n"


class Final:
    def __init__(self, text):
        self.text = text


PEEK = """
    import csv
    with open('/workspace/uploads/sales.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    print(len(rows), 'rows; columns:', ', '.join(rows[0].keys()))
    print('first row:', rows[0])
"""

ANALYSE = """
    import statistics
    from collections import defaultdict

    revenue = defaultdict(float)                  # region -> total revenue
    monthly = defaultdict(lambda: defaultdict(float))  # region -> month -> revenue
    for r in rows:
        amount = int(r['units']) * float(r['price'])
        revenue[r['region']] += amount
        monthly[r['region']][r['month']] += amount

    def growth(region):
        # Average month-over-month growth, in percent.
        series = [monthly[region][m] for m in sorted(monthly[region])]
        return statistics.mean((b - a) / a for a, b in zip(series, series[1:])) * 100

    regions = sorted(revenue, key=revenue.get, reverse=True)
    for region in regions:
        print(f"{region:6} revenue {revenue[region]:10.2f}   growth {growth(region):+5.1f} %/month")
    top = regions[0]
    fastest = max(regions, key=growth)
    print('top:', top, ' fastest growing:', fastest)
"""

# A PNG written by hand: an RGB raster, each row prefixed by filter byte 0, deflated with zlib,
# framed in IHDR/IDAT/IEND chunks with their CRCs. With the native tier, matplotlib does this.
CHART = """
    import struct, zlib

    COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]
    W, H, MARGIN = 640, 400, 40

    def bar_chart_png(values):
        img = [[(255, 255, 255)] * W for _ in range(H)]
        for x in range(MARGIN, W - MARGIN):          # x axis
            img[H - MARGIN][x] = (0, 0, 0)
        for y in range(MARGIN, H - MARGIN + 1):      # y axis
            img[y][MARGIN] = (0, 0, 0)
        slot = (W - 2 * MARGIN) // len(values)
        top = max(values)
        for i, v in enumerate(values):
            height = int((H - 2 * MARGIN - 10) * v / top)
            x0 = MARGIN + i * slot + slot // 5
            for y in range(H - MARGIN - height, H - MARGIN):
                for x in range(x0, x0 + slot * 3 // 5):
                    img[y][x] = COLORS[i % len(COLORS)]
        raw = b''.join(b'\\x00' + bytes(c for px in row for c in px) for row in img)

        def chunk(kind, data):
            return (struct.pack('>I', len(data)) + kind + data
                    + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))

        return (b'\\x89PNG\\r\\n\\x1a\\n'
                + chunk(b'IHDR', struct.pack('>IIBBBBB', W, H, 8, 2, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9))
                + chunk(b'IEND', b''))

    chart = bar_chart_png([revenue[r] for r in regions])
    for i, r in enumerate(regions):
        print(f'bar {i + 1}: {r} (rgb{COLORS[i % len(COLORS)]})')
    with open(PATH, 'wb') as f:
        f.write(chart)
    print('saved', PATH)
"""

SAVE = """
    import os
    os.makedirs(DIR, exist_ok=True)
    with open(PATH, 'wb') as f:
        f.write(chart)
    print('saved', PATH, len(chart), 'bytes')
"""


def fill(code, **values):
    """Puts values into a code template as Python literals (the templates use % and {} themselves)."""
    for name, value in values.items():
        code = re.sub(r"\b%s\b" % name, lambda _: repr(value), code)
    return code


def scripted_model(tool_description):
    """Stands in for the LLM: a generator that yields the next action and receives each tool result.

    Fixed steps, except where a model has to react: when a call is blocked it reads the blocked
    entry's fix (falling back to the tool description's rules) to decide where to save instead.
    """
    result = yield ToolCall("The user uploaded sales.csv. Look at its shape before analysing it.", PEEK)
    if result["status"] != "ok":
        yield Final("I could not read the file: " + format_result(result))
        return
    result = yield ToolCall("Total revenue (units x price) and average monthly growth per region, "
                            "with csv and statistics (the sandbox has the standard library only).", ANALYSE)
    if result["status"] != "ok":
        yield Final("The analysis failed: " + format_result(result))
        return
    analysis = result["stdout"]
    result = yield ToolCall("Draw the bar chart and save it where the user asked.", fill(CHART, PATH=USER_PATH))
    saved = USER_PATH
    if result["blocked"]:
        # Several entries can come back (a probe of a parent directory is one too): the write is what
        # matters, and its fix says where results may go. Failing that, the tool description says it.
        writes = [b for b in result["blocked"] if b["operation"] in ("filesystem.write", "filesystem.mkdir")]
        blocked = (writes or result["blocked"])[0]
        fix = blocked["fix"]
        found = (re.search(r"results belong in (/[^\s,;)]+)", fix)
                 or re.search(r"Save output files in (/[^\s,;)]+?)/?\.?\s", tool_description))
        if not found:
            yield Final("The sandbox refused to save the chart (%s) and I found no place to save it: %s"
                        % (blocked["policy"], fix))
            return
        out_dir = found.group(1).rstrip("/")
        saved = out_dir + "/" + os.path.basename(USER_PATH)
        result = yield ToolCall("Blocked by %s: %s. The fix says results belong in %s, and `chart` is still "
                                "in memory from the last call: save it there." % (blocked["policy"], blocked["reason"], out_dir),
                                fill(SAVE, DIR=out_dir, PATH=saved))
        if result["status"] != "ok":
            yield Final("Saving the chart failed again: " + format_result(result))
            return
    yield Final("Here is the analysis:\n%s\nThe chart is saved as %s (the sandbox does not let me write to %s; "
                "you will find it among the session's output files)." % (analysis, saved, USER_PATH))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="directory for the transcript and the session workspaces (default: a new temp dir)")
    ap.add_argument("--command", help="the cordon launcher (default: $CORDON_COMMAND, else bin/cordon)")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="cordon-agent-loop-"))
    os.makedirs(out, exist_ok=True)

    transcript = []
    print("user:", USER_REQUEST, "\n")
    with CordonREPL(session=SESSION, command=args.command, policy=os.path.join(HERE, "policy.yaml"),
                    workspace_root=os.path.join(out, "workspaces"), pool=1) as repl:
        description = repl.describe()
        guest = repl.upload(os.path.join(HERE, "sales.csv"))
        print("app: uploaded sales.csv ->", guest, "\n")
        transcript.append({"action": "upload", "file": "sales.csv", "path": guest})

        model = scripted_model(description)
        action = next(model)
        while isinstance(action, ToolCall):
            print("model:", action.thought)
            print("  run_python:\n" + textwrap.indent(action.code, "    | ", lambda line: True))
            result = repl.run_result(action.code)
            print("  result:\n" + textwrap.indent(format_result(result), "    > ", lambda line: True) + "\n")
            transcript.append({"action": "run_python", "thought": action.thought, "code": action.code, "result": result})
            action = model.send(result)
        print("model:", action.text)
        transcript.append({"action": "answer", "text": action.text})

    with open(os.path.join(out, "transcript.json"), "w") as f:
        json.dump(transcript, f, indent=2)
    chart = os.path.join(out, "workspaces", SESSION, "outputs", os.path.basename(USER_PATH))
    print("\ntranscript:", os.path.join(out, "transcript.json"))
    print("chart:     ", chart if os.path.exists(chart) else "(not written)")
    return 0 if os.path.exists(chart) else 1


if __name__ == "__main__":
    sys.exit(main())
