package dev.cordon.net;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cordon.agent.boot.CordonHooks;
import dev.cordon.decision.NetworkDecisions;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Cidr;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.io.IOAccess;
import org.junit.jupiter.api.Test;

/**
 * Timing harness for docs/network.md until the JMH module exists: the hook's cost on host and
 * guest threads, and loopback connect / HTTP GET from Python through the gate against GraalPy with
 * plain host socket access (a context of another engine, whose threads the hooks never examine), in
 * the same JVM and run. Enabled with {@code -Dcordon.bench=true}; prints medians of several rounds.
 */
class NetworkOverheadBench {

    /** Called by guest code: measures the checks from inside a guest thread. */
    public static final class Probe {
        public double currentGateNanos(int n) {
            long t0 = System.nanoTime();
            int hits = 0;
            for (int i = 0; i < n; i++) {
                if (GuestRegistry.current() != null) {
                    hits++;
                }
            }
            long t = System.nanoTime() - t0;
            assertTrue(hits == n);
            return (double) t / n;
        }

        public double decisionNanos(int n) {
            NetworkPolicy p = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(
                    new NetworkPolicy.AllowEntry("api.test", null, List.of(443)),
                    new NetworkPolicy.AllowEntry("*.example.com", null, List.of(443)),
                    new NetworkPolicy.AllowEntry(null, new Cidr(new byte[] {10, 0, 0, 0}, 8, "10.0.0.0/8"), List.of(5432))), false);
            InetAddress a = InetAddress.ofLiteral("10.1.2.3");
            Set<String> names = Set.of();
            long t0 = System.nanoTime();
            int allowed = 0;
            for (int i = 0; i < n; i++) {
                if (NetworkDecisions.connect(p, "connect", a, 5432, names) instanceof dev.cordon.decision.Decision.Allow) {
                    allowed++;
                }
            }
            long t = System.nanoTime() - t0;
            assertTrue(allowed == n);
            return (double) t / n;
        }
    }

    static volatile Object sink;

    /**
     * The pre-filter every hooked JDK call pays on a thread that is not a guest thread: run on a
     * fresh (never marked) thread while guest threads exist, so the map lookup really happens.
     */
    static String hostThreadCost() throws Exception {
        String[] out = new String[1];
        Thread t = Thread.ofPlatform().start(() -> {
            InetSocketAddress sa = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 80);
            double ns = 0;
            double rs = 0;
            var mx = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int round = 0; round < 5; round++) {
                int n = 10_000_000;
                long t0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    try {
                        CordonHooks.connect(null, sa, CordonHooks.TCP);
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                    sink = sa;
                }
                double a = (double) (mx.getCurrentThreadCpuTime() - t0) / n;
                ns = round == 0 ? a : Math.min(ns, a);
                long t1 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < n; i++) {
                    CordonHooks.read(sa, null, 10);
                    sink = sa;
                }
                double b = (double) (mx.getCurrentThreadCpuTime() - t1) / n;
                rs = round == 0 ? b : Math.min(rs, b);
            }
            out[0] = String.format("host thread, hook pre-filter (connect/bind/resolve/open), %d guest threads marked: %.1f ns/call (cpu, min of 5)%n"
                    + "host thread, byte-count hook (read/write), %d tracked channels: %.1f ns/call (cpu, min of 5)%n",
                    CordonHooks.class.getName().isEmpty() ? 0 : markedCount(), ns, CordonHooks.trackedCount(), rs);
        });
        t.join();
        return out[0];
    }

    static int markedCount() {
        int n = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (CordonHooks.marked(t)) {
                n++;
            }
        }
        return n;
    }

    static double min(double[] v) {
        return java.util.Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double median(double[] v) {
        double[] c = v.clone();
        java.util.Arrays.sort(c);
        return c[c.length / 2];
    }

    @Test
    void measure() throws Exception {
        assumeTrue(Boolean.getBoolean("cordon.bench"), "run with -Dcordon.bench=true");
        assertTrue(NetworkGate.available(), NetworkGate.unavailableReason());
        StringBuilder report = new StringBuilder("\n== network gate overhead (JIT " + SharedEngine.jitEnabled() + ") ==\n");

        try (Loopback.Tcp server = new Loopback.Tcp("127.0.0.1", "bench")) {
            NetworkPolicy net = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(
                    new NetworkPolicy.AllowEntry(null, new Cidr(new byte[] {127, 0, 0, 1}, 32, "127.0.0.1/32"), List.of(server.port())),
                    new NetworkPolicy.AllowEntry("bench.test", null, List.of(server.port()))), false);
            NetworkGate gate = new NetworkGate(Policy.DEFAULT.withNetwork(net), d -> { }, Resolver.of(Map.of("bench.test",
                    List.of("127.0.0.1"))), EgressLog.NONE);
            java.nio.file.Path egressFile = java.nio.file.Files.createTempFile("bench-egress", ".jsonl");
            NetworkGate egressGate = new NetworkGate(Policy.DEFAULT.withNetwork(net).withLogging(
                    new LoggingPolicy(LoggingPolicy.Level.INFO, true, null, true, true)), d -> { },
                    Resolver.of(Map.of("bench.test", List.of("127.0.0.1"))), EgressLog.jsonl(egressFile, "bench"));
            try (Context gated = Guests.builder(null).build();
                    Context logged = Guests.builder(null).build();
                    Engine plainEngine = Engine.newBuilder("python").option("engine.WarnInterpreterOnly", "false").build();
                    Context plain = Context.newBuilder("python").engine(plainEngine)
                            .allowIO(IOAccess.newBuilder().allowHostSocketAccess(true).build())
                            .option("python.PosixModuleBackend", "java").build()) {
                gate.attach(gated);
                egressGate.attach(logged);
                // Runs a Python callable with the hooks bypassed on this thread (a permit): the exact
                // same context, engine and thread, without the gate.
                gated.getBindings("python").putMember("without_gate", (org.graalvm.polyglot.proxy.ProxyExecutable) a ->
                        dev.cordon.agent.GatePermit.call(() -> a[0].execute()));
                Probe probe = new Probe();
                gated.getBindings("python").putMember("probe_current",
                        (org.graalvm.polyglot.proxy.ProxyExecutable) a -> probe.currentGateNanos(a[0].asInt()));
                gated.getBindings("python").putMember("probe_decision",
                        (org.graalvm.polyglot.proxy.ProxyExecutable) a -> probe.decisionNanos(a[0].asInt()));
                String code = """
                        import socket, http.client, time
                        def timed(f, n):
                            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                            for _ in range(n):
                                f()
                            return [(time.perf_counter_ns() - w0) / n / 1000, (time.thread_time_ns() - c0) / n / 1000]
                        def connects(n, h, p):
                            def once():
                                s = socket.create_connection((h, p))
                                s.close()
                            return timed(once, n)
                        def gets(n, h, p):
                            def once():
                                c = http.client.HTTPConnection(h, p)
                                c.request('GET', '/')
                                c.getresponse().read()
                                c.close()
                            return timed(once, n)
                        """;
                for (Context c : List.of(gated, logged, plain)) {
                    c.eval("python", code);
                }
                // the plain context runs on a thread of its own: an application thread, never marked
                java.util.concurrent.ExecutorService app = java.util.concurrent.Executors.newSingleThreadExecutor();
                int rounds = Integer.getInteger("cordon.bench.rounds", 9);
                String[] labels = {"connect+close, gated (IP literal)", "connect+close, gated (name, pinned)",
                        "connect+close, plain GraalPy", "HTTP GET, gated", "HTTP GET, gated + egress log with bodies",
                        "HTTP GET, plain GraalPy"};
                double[][] wall = new double[6][rounds];
                double[][] cpu = new double[6][rounds];
                int nc = Integer.getInteger("cordon.bench.connects", 100);
                int ng = Integer.getInteger("cordon.bench.gets", 50);
                String h = "127.0.0.1";
                int port = server.port();
                for (int round = -2; round < rounds; round++) {
                    org.graalvm.polyglot.Value[] v = new org.graalvm.polyglot.Value[6];
                    v[0] = gated.eval("python", "connects(%d, '%s', %d)".formatted(nc, h, port));
                    v[2] = app.submit(() -> plain.eval("python", "connects(%d, '%s', %d)".formatted(nc, h, port))).get();
                    v[1] = gated.eval("python", "connects(%d, 'bench.test', %d)".formatted(nc, port));
                    v[3] = gated.eval("python", "gets(%d, '%s', %d)".formatted(ng, h, port));
                    v[5] = app.submit(() -> plain.eval("python", "gets(%d, '%s', %d)".formatted(ng, h, port))).get();
                    v[4] = logged.eval("python", "gets(%d, '%s', %d)".formatted(ng, h, port));
                    if (round >= 0) {
                        for (int k = 0; k < 6; k++) {
                            wall[k][round] = v[k].getArrayElement(0).asDouble();
                            cpu[k][round] = v[k].getArrayElement(1).asDouble();
                        }
                    }
                }
                report.append(String.format("%-42s %12s %12s %12s %12s%n", "per operation, us", "wall min", "wall median",
                        "cpu min", "cpu median"));
                for (int k = 0; k < 6; k++) {
                    report.append(String.format("%-42s %12.1f %12.1f %12.1f %12.1f%n", labels[k], min(wall[k]),
                            median(wall[k]), min(cpu[k]), median(cpu[k])));
                }
                report.append(String.format("ratio gated/plain (cpu median): connect %.2f, GET %.2f, GET+egress %.2f%n",
                        median(cpu[0]) / median(cpu[2]), median(cpu[3]) / median(cpu[5]), median(cpu[4]) / median(cpu[5])));
                report.append(String.format("ratio gated/plain (wall min):   connect %.2f, GET %.2f, GET+egress %.2f%n",
                        min(wall[0]) / min(wall[2]), min(wall[3]) / min(wall[5]), min(wall[4]) / min(wall[5])));
                // Paired, interleaved small batches: on a shared, loaded machine the load drifts between
                // rounds; the ratio of neighbouring batches cancels most of it.
                int pairs = Integer.getInteger("cordon.bench.pairs", 40);
                double[][] ratios = new double[5][pairs];
                for (int i = -5; i < pairs; i++) {
                    double g1 = gated.eval("python", "connects(10, '%s', %d)".formatted(h, port)).getArrayElement(1).asDouble();
                    double p1 = app.submit(() -> plain.eval("python", "connects(10, '%s', %d)".formatted(h, port))
                            .getArrayElement(1).asDouble()).get();
                    double g2 = gated.eval("python", "gets(5, '%s', %d)".formatted(h, port)).getArrayElement(1).asDouble();
                    double p2 = app.submit(() -> plain.eval("python", "gets(5, '%s', %d)".formatted(h, port))
                            .getArrayElement(1).asDouble()).get();
                    double e2 = logged.eval("python", "gets(5, '%s', %d)".formatted(h, port)).getArrayElement(1).asDouble();
                    double u1 = gated.eval("python", "without_gate(lambda: connects(10, '%s', %d))".formatted(h, port))
                            .getArrayElement(1).asDouble();
                    double u2 = gated.eval("python", "without_gate(lambda: gets(5, '%s', %d))".formatted(h, port))
                            .getArrayElement(1).asDouble();
                    if (i >= 0) {
                        ratios[0][i] = g1 / p1;
                        ratios[1][i] = g2 / p2;
                        ratios[2][i] = e2 / p2;
                        ratios[3][i] = g1 / u1;
                        ratios[4][i] = g2 / u2;
                    }
                }
                report.append(String.format("paired cpu ratio gated/plain, median of %d neighbouring batches: connect %.2f,"
                        + " GET %.2f, GET+egress(bodies) %.2f%n", pairs, median(ratios[0]), median(ratios[1]), median(ratios[2])));
                report.append(String.format("paired cpu ratio gated/same context with hooks bypassed (permit): connect %.2f,"
                        + " GET %.2f%n", median(ratios[3]), median(ratios[4])));
                app.shutdown();
                report.append(hostThreadCost());
                double[] cur = new double[5];
                double[] dec = new double[5];
                for (int i = 0; i < 5; i++) {
                    cur[i] = gated.eval("python", "probe_current(2000000)").asDouble();
                    dec[i] = gated.eval("python", "probe_decision(2000000)").asDouble();
                }
                report.append(String.format("guest thread, attribution (marked thread -> Context.getCurrent -> gate): %.1f ns%n", median(cur)));
                report.append(String.format("guest thread, connect decision (3-entry allowlist, cidr match): %.1f ns%n", median(dec)));
            } finally {
                gate.close();
                egressGate.close();
            }
        }
        System.out.println(report);
    }
}
