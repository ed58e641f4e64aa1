package dev.cordon.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cold start of {@code cordon exec}: time from launching {@code bin/cordon} on a new JVM to its exit
 * with the result, for the launcher's modes, with a trivial script and with a CPU-heavy one (where
 * the JIT may pay for its slower start). Each variant runs once untimed (to create its class-data
 * archive, fill the page cache), then {@code --runs} times. Writes {@code target/cold.json}.
 *
 * <p>Usage: {@code benchmarks/run cold [--runs N]}.
 */
public final class ColdStart {

    record Variant(String id, String label, Map<String, String> env) { }

    public static void main(String[] args) throws Exception {
        int runs = 5;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--runs")) {
                runs = Integer.parseInt(args[++i]);
            }
        }
        Path root = Path.of(System.getProperty("cordon.root", "..")).toAbsolutePath().normalize();
        Path bench = Path.of(System.getProperty("cordon.bench.dir", ".")).toAbsolutePath().normalize();
        List<Variant> variants = List.of(
                new Variant("default", "bin/cordon as shipped (its own choice for exec)", Map.of()),
                new Variant("jit", "Graal JIT forced (CORDON_EXEC_JIT=1)", Map.of("CORDON_EXEC_JIT", "1")),
                new Variant("interpreter-nocds", "interpreter, no class-data archive (CORDON_JIT=0 CORDON_CDS=0)",
                        Map.of("CORDON_JIT", "0", "CORDON_CDS", "0")));
        Map<String, String> scripts = new LinkedHashMap<>();
        scripts.put("print", "print(1)");
        scripts.put("nbody-20000", Workloads.nbody(20000) + "\nprint(round(energy, 9))");
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("cpus", Runtime.getRuntime().availableProcessors());
        doc.put("load_average", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        List<Map<String, Object>> results = new ArrayList<>();
        Path scriptDir = Files.createTempDirectory("cordon-cold-");
        for (Map.Entry<String, String> s : scripts.entrySet()) {
            Path file = scriptDir.resolve(s.getKey() + ".py");
            Files.writeString(file, s.getValue());
            String expected = null;
            for (Variant v : variants) {
                once(root, v, file); // untimed: warms the page cache, starts the archive's training run
                awaitArchive(root);
                long[] t = new long[runs];
                long[] cpu = new long[runs];
                String out = null;
                for (int i = 0; i < runs; i++) {
                    long t0 = System.nanoTime();
                    Run r = once(root, v, file);
                    t[i] = System.nanoTime() - t0;
                    cpu[i] = r.cpuMs();
                    out = r.out();
                }
                if (expected == null) {
                    expected = out;
                } else if (!expected.equals(out)) {
                    throw new IllegalStateException(v.id() + " printed " + out + " instead of " + expected);
                }
                Arrays.sort(t);
                Arrays.sort(cpu);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("script", s.getKey());
                m.put("variant", v.id());
                m.put("label", v.label());
                m.put("median_ms", t[runs / 2] / 1_000_000);
                m.put("min_ms", t[0] / 1_000_000);
                m.put("max_ms", t[runs - 1] / 1_000_000);
                m.put("cpu_median_ms", cpu[runs / 2]);
                System.err.println("cold: " + m);
                results.add(m);
            }
        }
        doc.put("results", results);
        Path out = bench.resolve("target/cold.json");
        Files.createDirectories(out.getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), doc);
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
        dev.cordon.bench.compare.Files2.deleteTree(scriptDir);
    }

    record Run(String out, long cpuMs) { }

    /** Waits while the launcher's background run records the class-data archive. */
    static void awaitArchive(Path root) throws InterruptedException {
        Path lock = root.resolve("target/cordon-exec.jsa.lock");
        for (int i = 0; i < 600 && Files.exists(lock); i++) {
            Thread.sleep(1000);
        }
    }

    /** One run of the launcher under /usr/bin/time: wall time is measured by the caller, CPU (user+sys) by time(1). */
    static Run once(Path root, Variant v, Path script) throws Exception {
        Path ws = Files.createTempDirectory("cordon-cold-ws-");
        Path times = Files.createTempFile("cordon-cold-", ".time");
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/time", "-f", "%U %S", "-o", times.toString(),
                root.resolve("bin/cordon").toString(), "exec", "--workspace", ws.toString(),
                script.toString()).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(v.env());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        dev.cordon.bench.compare.Files2.deleteTree(ws);
        if (rc != 0) {
            throw new IllegalStateException(v.id() + ": exit " + rc + ": " + out);
        }
        String[] ut = Files.readString(times).trim().split("\\s+");
        Files.deleteIfExists(times);
        return new Run(out, Math.round((Double.parseDouble(ut[ut.length - 2]) + Double.parseDouble(ut[ut.length - 1])) * 1000));
    }
}
