package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cordon.ExecResult;
import dev.cordon.policy.Policy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The native tier's latencies, every figure next to its baselines from the same run
 * (run with {@code -Dtest=NativeTierBenchmark -Dcordon.bench=true}). Medians; the figures go in
 * docs/native-tier.md and target/native-tier-bench.json.
 */
class NativeTierBenchmark {

    static final int SPAWNS = 40;
    static final int WARM = 300;
    static final int COLD = 12;

    @Test
    void measure() throws Exception {
        assumeTrue(Boolean.getBoolean("cordon.bench"), "benchmark: run with -Dcordon.bench=true");
        NativeTier.get().requireAvailable();
        Policy policy = TestPolicies.dataAgent();
        Map<String, Double> res = new LinkedHashMap<>();

        res.put("python3 -I -S -c pass (host spawn)", median(SPAWNS, () ->
                run(List.of("/usr/bin/python3", "-I", "-S", "-c", "pass"))));
        List<String> bare = new ArrayList<>(List.of("/usr/bin/bwrap", "--unshare-user", "--unshare-pid", "--unshare-net",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--cap-drop", "ALL", "--disable-userns", "--assert-userns-disabled", "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--clearenv", "--remount-ro", "/", "--",
                "/usr/bin/python3", "-I", "-S", "-c", "pass"));
        res.put("bare bwrap + python3 -I -S -c pass", median(SPAWNS, () -> run(bare)));

        Path dir = Files.createTempDirectory("cordon-bench-");
        try (NativeProcessHandler gate = NativeProcessHandler.create(policy, dir, new TestPolicies.Recorder())) {
            res.put("Cordon one-shot python3 -I -S -c pass (gate+cgroup+prlimit+setpriv+bwrap+seccomp)",
                    median(SPAWNS, () -> Run.of(gate, "python3", "-I", "-S", "-c", "pass")));
        }

        List<Double> create = new ArrayList<>();
        List<Double> first = new ArrayList<>();
        List<Double> close = new ArrayList<>();
        for (int i = 0; i < COLD; i++) {
            Path ws = Files.createTempDirectory("cordon-bench-cold-");
            long t0 = System.nanoTime();
            NativeSession s = NativeSession.create("bench", policy, ws, null);
            long t1 = System.nanoTime();
            ExecResult r = s.exec("pass");
            long t2 = System.nanoTime();
            s.close();
            long t3 = System.nanoTime();
            assertTrue(r.ok(), r.toString());
            create.add((t1 - t0) / 1e6);
            first.add((t2 - t1) / 1e6);
            close.add((t3 - t2) / 1e6);
            NativeWorkspace.deleteTree(ws);
        }
        res.put("cold native session: create (workspace image + worker start)", med(create));
        res.put("cold native session: first call", med(first));
        res.put("cold native session: close (copy back, unmount)", med(close));

        try (NativeSession s = NativeSession.create("bench", policy, dir, null)) {
            s.exec("n = 0");
            res.put("warm native call round trip: n += 1", median(WARM, () -> s.exec("n += 1")));
            res.put("warm native call: print 10 lines", median(WARM, () -> s.exec("for i in range(10): print(i)")));
            long t0 = System.nanoTime();
            ExecResult r = s.exec("import pandas, numpy");
            res.put("first import pandas in the worker", (System.nanoTime() - t0) / 1e6);
            assertTrue(r.ok(), r.toString());
            res.put("warm call using pandas: pd.Series(range(1000)).sum()",
                    median(50, () -> s.exec("pandas.Series(range(1000)).sum()")));
        }
        NativeWorkspace.deleteTree(dir);
        res.put("import pandas, numpy: host python3 -I -c", median(8, () ->
                run(List.of("/usr/bin/python3", "-I", "-c", "import pandas, numpy"))));

        StringBuilder json = new StringBuilder("{\n");
        StringBuilder table = new StringBuilder();
        int i = 0;
        for (var e : res.entrySet()) {
            table.append(String.format("| %s | %.2f |%n", e.getKey(), e.getValue()));
            json.append(String.format("  \"%s\": %.3f%s%n", e.getKey().replace("\"", "'"), e.getValue(),
                    ++i < res.size() ? "," : ""));
        }
        json.append("}\n");
        System.out.println("| measurement (median) | ms |\n|---|---|\n" + table);
        Files.writeString(Path.of("target/native-tier-bench.json"), json);
    }

    interface Op {
        void run() throws Exception;
    }

    static double median(int n, Op op) throws Exception {
        op.run(); // warm-up
        op.run();
        List<Double> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            op.run();
            l.add((System.nanoTime() - t0) / 1e6);
        }
        return med(l);
    }

    static double med(List<Double> l) {
        List<Double> s = new ArrayList<>(l);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static void run(List<String> cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().clear();
        Process p = pb.start();
        p.getOutputStream().close();
        p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(cmd + " failed");
        }
    }
}
