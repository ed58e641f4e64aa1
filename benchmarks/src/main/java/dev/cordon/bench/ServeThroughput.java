package dev.cordon.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Throughput of {@code cordon serve} (the real launcher, a child process speaking JSON lines) with
 * 1 and with 4 concurrent sessions on this machine's cores. Closed loop: each session keeps one
 * request in flight and sends the next when its answer arrives. Each session is warmed first (its
 * interpreter built and the workload JIT-compiled), then measured for a fixed time. Writes
 * {@code target/serve.json}.
 *
 * <p>Usage: {@code benchmarks/run serve [--seconds N] [--pool N]}.
 */
public final class ServeThroughput {

    static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        int seconds = 20;
        int pool = 2;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--seconds")) {
                seconds = Integer.parseInt(args[++i]);
            } else if (args[i].equals("--pool")) {
                pool = Integer.parseInt(args[++i]);
            }
        }
        Path root = Path.of(System.getProperty("cordon.root", "..")).toAbsolutePath().normalize();
        Path bench = Path.of(System.getProperty("cordon.bench.dir", ".")).toAbsolutePath().normalize();
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("cpus", Runtime.getRuntime().availableProcessors());
        doc.put("workload", "50-line tool call (JSON parse, transform, format)");
        doc.put("pool", pool);
        doc.put("measure_seconds", seconds);
        List<Map<String, Object>> runs = new ArrayList<>();
        for (int sessions : new int[] {1, 4}) {
            runs.add(run(root, sessions, pool, seconds));
        }
        double one = (Double) runs.get(0).get("calls_per_second");
        double four = (Double) runs.get(1).get("calls_per_second");
        doc.put("runs", runs);
        doc.put("scaling_4_vs_1", Math.round(four / one * 100) / 100.0);
        Path out = bench.resolve("target/serve.json");
        Files.createDirectories(out.getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), doc);
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
    }

    static Map<String, Object> run(Path root, int sessions, int pool, int seconds) throws Exception {
        Path ws = Files.createTempDirectory("cordon-serve-bench-");
        ProcessBuilder pb = new ProcessBuilder(root.resolve("bin/cordon").toString(), "serve", "--quiet",
                "--workspace-root", ws.toString(), "--pool", String.valueOf(pool))
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        long t0 = System.nanoTime();
        Process p = pb.start();
        Writer in = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Map<Integer, Long> sent = new ConcurrentHashMap<>();
        Map<Integer, String> sessionOf = new ConcurrentHashMap<>();
        List<Long> latencies = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger ids = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        long[] window = new long[2]; // measuring from, until (nanoTime); 0 = warm-up
        CountDownLatch warm = new CountDownLatch(sessions);
        Map<String, Integer> warmCalls = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(sessions);
        Object lock = new Object();
        java.util.function.Consumer<String> send = s -> {
            int id = ids.incrementAndGet();
            sessionOf.put(id, s);
            synchronized (lock) {
                try {
                    sent.put(id, System.nanoTime());
                    in.write(JSON.writeValueAsString(Map.of("id", id, "session", s, "code", Workloads.TOOL)) + "\n");
                    in.flush();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        int warmupCalls = 150;
        Thread reader = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    long now = System.nanoTime();
                    JsonNode r = JSON.readTree(line);
                    int id = r.path("id").asInt();
                    String s = sessionOf.remove(id);
                    long start = sent.remove(id);
                    if (!"ok".equals(r.path("status").asText())) {
                        errors.incrementAndGet();
                        System.err.println("serve bench: call failed: " + line);
                    }
                    if (window[0] != 0 && start >= window[0] && now <= window[1]) {
                        latencies.add(now - start);
                    }
                    int w = warmCalls.merge(s, 1, Integer::sum);
                    if (w == warmupCalls) {
                        warm.countDown();
                    }
                    if (window[1] != 0 && now > window[1]) {
                        done.countDown();
                        continue;
                    }
                    send.accept(s);
                }
            } catch (Exception e) {
                System.err.println("serve bench: reader: " + e);
            }
        });
        for (int i = 0; i < sessions; i++) {
            send.accept("s" + i);
        }
        if (!warm.await(600, TimeUnit.SECONDS)) {
            throw new IllegalStateException("serve did not warm up");
        }
        long ready = System.nanoTime();
        Thread.sleep(2000); // every session past warm-up, in steady state
        window[1] = System.nanoTime() + seconds * 1_000_000_000L + 2_000_000_000L;
        window[0] = window[1] - seconds * 1_000_000_000L;
        done.await(seconds + 120, TimeUnit.SECONDS);
        in.close();
        p.waitFor(60, TimeUnit.SECONDS);
        reader.join(5000);
        long[] l = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sessions", sessions);
        m.put("warm_up_seconds", Math.round((ready - t0) / 1e8) / 10.0);
        m.put("calls", l.length);
        m.put("calls_per_second", Math.round(l.length / (double) seconds * 10) / 10.0);
        m.put("median_ms", l.length == 0 ? null : Math.round(l[l.length / 2] / 1e4) / 100.0);
        m.put("p90_ms", l.length == 0 ? null : Math.round(l[(int) (l.length * 0.9)] / 1e4) / 100.0);
        m.put("errors", errors.get());
        System.err.println("serve bench: " + m);
        dev.cordon.bench.compare.Files2.deleteTree(ws);
        return m;
    }
}
