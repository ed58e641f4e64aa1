package dev.cordon.bench.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.bench.BareGraalPy;
import dev.cordon.bench.Workloads;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Policy;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The side-by-side comparison: the same Python workloads through every runtime a user could pick
 * instead of Cordon, in one run, on one machine. Writes medians and ratios (against Cordon's
 * in-JVM tier from the same run) as JSON and Markdown, and a PNG chart, into {@code cordon.compare.out}
 * (default target/compare). The machine is shared and noisy: rows are measured in interleaved
 * rounds so a burst of foreign load lands on all of them, and only medians and ratios are reported.
 *
 * <p>Usage: {@code benchmarks/run compare [--quick] [--only ROW,ROW]}.
 */
public final class Compare {

    /** One workload: code plus how long to warm and how many calls to time, for warm and per-call-process rows. */
    record Workload(String id, String label, String code, double warmupSeconds, int warmupMin, int n, int spawnN) { }

    /** The outcome of one row on one workload. */
    record Cell(String row, String workload, Double medianUs, Double p10Us, Double p90Us, int samples, String output,
            String unavailable) { }

    public static void main(String[] args) throws Exception {
        boolean quick = Arrays.asList(args).contains("--quick");
        List<String> only = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--only") && i + 1 < args.length) {
                only.addAll(List.of(args[++i].split(",")));
            }
        }
        Path benchDir = Path.of(System.getProperty("cordon.bench.dir", ".")).toAbsolutePath().normalize();
        Path out = Path.of(System.getProperty("cordon.compare.out", benchDir.resolve("target/compare").toString()));
        Files.createDirectories(out);
        double q = quick ? 0.2 : 1.0;
        List<Workload> workloads = List.of(
                new Workload("tiny", "tiny snippet `x = 6 * 7` (same text every call)", Workloads.TINY,
                        3 * q, 200, (int) (3000 * q), (int) Math.max(10, 30 * q)),
                new Workload("tool", "50-line tool call: JSON parse, transform, format", Workloads.TOOL,
                        15 * q, 100, (int) (600 * q), (int) Math.max(10, 30 * q)),
                new Workload("nbody", "CPU-bound kernel: n-body, 2,000 steps", Workloads.nbody(2000),
                        15 * q, 20, (int) Math.max(10, 40 * q), 10));

        List<Row> rows = rows(benchDir, out);
        if (!only.isEmpty()) {
            rows.removeIf(r -> !only.contains(r.id()));
        }
        Map<String, String> unavailable = new LinkedHashMap<>();
        Map<String, String> notes = new LinkedHashMap<>();
        List<Row> open = new ArrayList<>();
        for (Row r : rows) {
            String why = r.unavailable();
            if (why == null) {
                try {
                    System.err.println("compare: starting " + r.label());
                    r.open();
                    open.add(r);
                } catch (Exception e) {
                    why = "could not start: " + e.getMessage();
                }
            }
            if (why != null) {
                unavailable.put(r.id(), why);
                System.err.println("compare: " + r.id() + ": " + why);
            }
        }

        // Interleaved rounds: every row measures a third of its samples per round.
        int rounds = 3;
        Map<String, List<Long>> samples = new LinkedHashMap<>();
        Map<String, String> outputs = new LinkedHashMap<>();
        Map<String, String> failures = new LinkedHashMap<>();
        for (Workload w : workloads) {
            for (int round = 0; round < rounds; round++) {
                for (Row r : open) {
                    String key = r.id() + "/" + w.id();
                    if (failures.containsKey(key)) {
                        continue;
                    }
                    int n = Math.max(1, (r.perCallProcess() ? w.spawnN() : w.n()) / rounds);
                    double warm = round == 0 ? (r.perCallProcess() ? Math.min(1, w.warmupSeconds()) : w.warmupSeconds()) : 0;
                    int warmMin = round == 0 ? (r.perCallProcess() ? 2 : w.warmupMin()) : (r.perCallProcess() ? 0 : 5);
                    System.err.printf(Locale.ROOT, "compare: %-14s %-6s round %d: %d calls%n", r.id(), w.id(), round + 1, n);
                    try {
                        Row.Samples s = r.run(w.code(), warm, warmMin, n);
                        List<Long> l = samples.computeIfAbsent(key, k -> new ArrayList<>());
                        for (long v : s.nanos()) {
                            l.add(v);
                        }
                        outputs.put(key, s.lastOutput());
                    } catch (Exception e) {
                        failures.put(key, String.valueOf(e.getMessage()));
                        System.err.println("compare: " + key + " failed: " + e);
                    }
                }
            }
        }
        for (Row r : open) {
            notes.put(r.id(), r.note());
            try {
                r.close();
            } catch (Exception e) {
                // closing a runtime after the run must not lose the results
            }
        }

        List<Cell> cells = new ArrayList<>();
        for (Workload w : workloads) {
            for (Row r : rows) {
                String key = r.id() + "/" + w.id();
                String why = unavailable.containsKey(r.id()) ? unavailable.get(r.id()) : failures.get(key);
                List<Long> l = samples.get(key);
                if (why != null || l == null || l.isEmpty()) {
                    cells.add(new Cell(r.id(), w.id(), null, null, null, 0, null, why == null ? "no samples" : why));
                    continue;
                }
                long[] a = l.stream().mapToLong(Long::longValue).sorted().toArray();
                cells.add(new Cell(r.id(), w.id(), pct(a, 50), pct(a, 10), pct(a, 90), a.length, outputs.get(key), null));
            }
        }
        checkOutputs(cells, workloads);

        Map<String, Object> extras = new LinkedHashMap<>();
        if (only.isEmpty() || only.contains("cordon")) {
            extras.put("session_acquire", sessionAcquire(quick ? 5 : 15));
            extras.put("idle_memory", idleMemory(quick ? 10 : 30));
        }

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("when", Instant.now().toString());
        doc.put("machine", machine());
        doc.put("jit", SharedEngine.jitEnabled());
        doc.put("baseline", "cordon");
        List<Map<String, Object>> rowDocs = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.id());
            m.put("label", r.label());
            m.put("perCallProcess", r.perCallProcess());
            m.put("note", notes.getOrDefault(r.id(), ""));
            m.put("unavailable", unavailable.get(r.id()));
            rowDocs.add(m);
        }
        doc.put("rows", rowDocs);
        List<Map<String, Object>> wDocs = new ArrayList<>();
        for (Workload w : workloads) {
            wDocs.add(Map.of("id", w.id(), "label", w.label()));
        }
        doc.put("workloads", wDocs);
        List<Map<String, Object>> cellDocs = new ArrayList<>();
        for (Cell c : cells) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("row", c.row());
            m.put("workload", c.workload());
            m.put("median_us", round(c.medianUs()));
            m.put("p10_us", round(c.p10Us()));
            m.put("p90_us", round(c.p90Us()));
            m.put("samples", c.samples());
            Double base = median(cells, "cordon", c.workload());
            m.put("vs_cordon", c.medianUs() == null || base == null ? null : round(c.medianUs() / base));
            m.put("unavailable", c.unavailable());
            cellDocs.add(m);
        }
        doc.put("results", cellDocs);
        doc.put("targets", Targets.evaluate(cells, extras));
        doc.put("extras", extras);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        json.writeValue(out.resolve("compare.json").toFile(), doc);
        Files.writeString(out.resolve("compare.md"), Report.markdown(doc, rows, workloads, cells, notes, unavailable));
        Chart.write(out.resolve("compare.png"), rows, workloads, cells, unavailable);
        System.out.println(Files.readString(out.resolve("compare.md")));
        System.err.println("compare: wrote " + out.resolve("compare.json") + ", compare.md, compare.png");
        System.exit(0);
    }

    static List<Row> rows(Path benchDir, Path work) {
        return new ArrayList<>(List.of(
                new InJvmRows.Cordon(),
                new InJvmRows.CordonPersistent(),
                new InJvmRows.Bare(),
                new ProcessRows.CPythonExec(work),
                new ProcessRows.Pyodide(benchDir, work),
                new InJvmRows.CordonNative(),
                new ProcessRows.CPythonSpawn(),
                new ProcessRows.BwrapCPythonSpawn(work)));
    }

    static Double median(List<Cell> cells, String row, String workload) {
        for (Cell c : cells) {
            if (c.row().equals(row) && c.workload().equals(workload)) {
                return c.medianUs();
            }
        }
        return null;
    }

    /** Every runtime must print the same thing for the same code, or the comparison is void. */
    private static void checkOutputs(List<Cell> cells, List<Workload> workloads) {
        for (Workload w : workloads) {
            String ref = null;
            for (Cell c : cells) {
                if (!c.workload().equals(w.id()) || c.output() == null) {
                    continue;
                }
                if (ref == null) {
                    ref = c.output();
                } else if (!ref.equals(c.output())) {
                    throw new IllegalStateException("rows disagree on the output of " + w.id() + ": "
                            + c.row() + " printed " + c.output() + " but another printed " + ref);
                }
            }
            if (w.id().equals("tool") && ref != null && !ref.startsWith(Workloads.TOOL_EXPECTED_PREFIX)) {
                throw new IllegalStateException("unexpected tool output: " + ref);
            }
        }
    }

    /** Pooled session open + first call, against a new context on the same engine + first statement. */
    static Map<String, Object> sessionAcquire(int n) throws Exception {
        long[] pooled = new long[n];
        try (Sandbox sb = Sandbox.builder().policy(Policy.DEFAULT).poolSize(1).build()) {
            for (int i = 0; i < n; i++) {
                sb.awaitWarm(120_000);
                long t = System.nanoTime();
                Session s = sb.openSession("acq" + i);
                if (!s.exec("pass").ok()) {
                    throw new IllegalStateException("pooled session call failed");
                }
                pooled[i] = System.nanoTime() - t;
                s.close();
            }
        }
        long[] fresh = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            BareGraalPy b = new BareGraalPy(false);
            b.context.eval("python", "pass");
            fresh[i] = System.nanoTime() - t;
            b.close();
        }
        Arrays.sort(pooled);
        Arrays.sort(fresh);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pooled_open_and_first_call_us", round(pct(pooled, 50)));
        m.put("new_context_and_first_statement_us", round(pct(fresh, 50)));
        m.put("ratio", round(pct(fresh, 50) / pct(pooled, 50)));
        m.put("samples", n);
        return m;
    }

    /** Heap after full GC with N idle sessions (each has run one call), minus before, divided by N. */
    static Map<String, Object> idleMemory(int n) throws Exception {
        try (Sandbox sb = Sandbox.builder().policy(Policy.DEFAULT).poolSize(0).build()) {
            Session warm = sb.openSession("warm");
            warm.exec("x = 1");
            long before = liveHeap();
            List<Session> open = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Session s = sb.openSession("idle" + i);
                if (!s.exec("import json\nx = [i for i in range(100)]").ok()) {
                    throw new IllegalStateException("idle session call failed");
                }
                open.add(s);
            }
            long after = liveHeap();
            long per = (after - before) / n;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("sessions", n);
            m.put("bytes_per_session", per);
            m.put("mib_per_session", round(per / 1048576.0));
            m.put("sessions_per_gib", round((1L << 30) / (double) per));
            for (Session s : open) {
                s.close();
            }
            return m;
        }
    }

    static long liveHeap() throws InterruptedException {
        var mem = ManagementFactory.getMemoryMXBean();
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(200);
            last = Math.min(last, mem.getHeapMemoryUsage().getUsed());
        }
        return last;
    }

    static double pct(long[] sorted, int p) {
        int i = (int) Math.min(sorted.length - 1, Math.round(p / 100.0 * (sorted.length - 1)));
        return sorted[i] / 1000.0;
    }

    static Double round(Double v) {
        if (v == null) {
            return null;
        }
        double a = Math.abs(v);
        double scale = a >= 100 ? 1 : a >= 10 ? 10 : a >= 1 ? 100 : 1000;
        return Math.round(v * scale) / scale;
    }

    static boolean onPath(String cmd) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, cmd))) {
                return true;
            }
        }
        return false;
    }

    static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("load_average", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        m.put("max_heap_mib", Runtime.getRuntime().maxMemory() >> 20);
        return m;
    }
}
