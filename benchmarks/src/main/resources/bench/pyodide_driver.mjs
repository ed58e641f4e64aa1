// The Pyodide row: CPython compiled to WebAssembly, on Node.js, one long-lived interpreter whose
// globals persist across runPython calls, stdout captured. Timing is taken here, around
// runPython only. Same JSON-lines protocol as cpython_repl.py.
import { createInterface } from "node:readline";

const started = performance.now();
let pyodide;
try {
  const { loadPyodide } = await import("pyodide");
  pyodide = await loadPyodide();
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + "\n");
  process.exit(0);
}
let chunks = [];
pyodide.setStdout({ batched: (s) => chunks.push(s + "\n") });
const version = pyodide.runPython("import sys; sys.version.split()[0]");
process.stdout.write(JSON.stringify({ ready: true, version, pyodide: pyodide.version, loadMs: performance.now() - started }) + "\n");

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const req = JSON.parse(line);
  const run = () => { chunks = []; pyodide.runPython(req.code); return chunks.join(""); };
  const end = performance.now() + req.warmup_s * 1000;
  for (let k = 0; k < req.warmup_min || performance.now() < end; k++) run();
  const samples = [];
  let out = "";
  for (let i = 0; i < req.n; i++) {
    const t = process.hrtime.bigint();
    out = run();
    samples.push(Number(process.hrtime.bigint() - t));
  }
  process.stdout.write(JSON.stringify({ samples, out, version }) + "\n");
}
