# The CPython in-process row: what LangChain's PythonREPL does. One long-lived interpreter keeps
# its globals across calls and runs each snippet with exec(code_string, globals), stdout redirected
# to a StringIO. Timing is taken here, inside the process, around exactly that: no pipe, no
# serialisation in the measured interval, so the row shows the cheapest in-process exec can be.
# Protocol: one JSON request per line on stdin, one JSON answer per line on stdout.
import io, json, sys, time

def main():
    g = {"__name__": "__main__", "__builtins__": __builtins__}
    real_stdout = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        code, n, warm_s, warm_min = req["code"], req["n"], req["warmup_s"], req["warmup_min"]
        samples, out = [], ""
        def run():
            buf = io.StringIO()
            sys.stdout = buf
            try:
                exec(code, g)
            finally:
                sys.stdout = real_stdout
            return buf.getvalue()
        end = time.monotonic() + warm_s
        k = 0
        while k < warm_min or time.monotonic() < end:
            run()
            k += 1
        for _ in range(n):
            t = time.perf_counter_ns()
            out = run()
            samples.append(time.perf_counter_ns() - t)
        real_stdout.write(json.dumps({"samples": samples, "out": out, "version": sys.version.split()[0]}) + "\n")
        real_stdout.flush()

main()
