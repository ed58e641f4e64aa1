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
            for (int round = 0; round < 3; round++) {
                int n = 10_000_000;
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    try {
                        CordonHooks.connect(null, sa, CordonHooks.TCP);
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                    sink = sa;
                }
                ns = (double) (System.nanoTime() - t0) / n;
                long t1 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    CordonHooks.read(sa, null, 10);
                    sink = sa;
                }
                rs = (double) (System.nanoTime() - t1) / n;
            }
            out[0] = String.format("host thread, hook pre-filter (connect/bind/resolve/open), %d guest threads marked: %.1f ns/call%n"
                    + "host thread, byte-count hook (read/write), %d tracked channels: %.1f ns/call%n",
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
                Probe probe = new Probe();
                gated.getBindings("python").putMember("probe_current",
                        (org.graalvm.polyglot.proxy.ProxyExecutable) a -> probe.currentGateNanos(a[0].asInt()));
                gated.getBindings("python").putMember("probe_decision",
                        (org.graalvm.polyglot.proxy.ProxyExecutable) a -> probe.decisionNanos(a[0].asInt()));
                String code = """
                        import socket, http.client, time
                        def connects(n, h, p):
                            t0 = time.perf_counter_ns()
                            for _ in range(n):
                                s = socket.create_connection((h, p))
                                s.close()
                            return (time.perf_counter_ns() - t0) / n / 1000
                        def gets(n, h, p):
                            t0 = time.perf_counter_ns()
                            for _ in range(n):
                                c = http.client.HTTPConnection(h, p)
                                c.request('GET', '/')
                                c.getresponse().read()
                                c.close()
                            return (time.perf_counter_ns() - t0) / n / 1000
                        """;
                for (Context c : List.of(gated, logged, plain)) {
                    c.eval("python", code);
                }
                // the plain context runs on a thread of its own: an application thread, never marked
                java.util.concurrent.ExecutorService app = java.util.concurrent.Executors.newSingleThreadExecutor();
                int rounds = Integer.getInteger("cordon.bench.rounds", 9);
                double[][] r = new double[6][rounds];
                String[] labels = {"connect+close, gated (IP literal)", "connect+close, gated (name, pinned)",
                        "connect+close, plain GraalPy", "HTTP GET, gated", "HTTP GET, gated + egress log with bodies",
                        "HTTP GET, plain GraalPy"};
                int nc = 300;
                int ng = 100;
                for (int round = -2; round < rounds; round++) {
                    double[] v = new double[6];
                    v[0] = gated.eval("python", "connects(%d, '127.0.0.1', %d)".formatted(nc, server.port())).asDouble();
                    v[1] = gated.eval("python", "connects(%d, 'bench.test', %d)".formatted(nc, server.port())).asDouble();
                    v[2] = app.submit(() -> plain.eval("python", "connects(%d, '127.0.0.1', %d)".formatted(nc, server.port())).asDouble()).get();
                    v[3] = gated.eval("python", "gets(%d, '127.0.0.1', %d)".formatted(ng, server.port())).asDouble();
                    v[4] = logged.eval("python", "gets(%d, '127.0.0.1', %d)".formatted(ng, server.port())).asDouble();
                    v[5] = app.submit(() -> plain.eval("python", "gets(%d, '127.0.0.1', %d)".formatted(ng, server.port())).asDouble()).get();
                    if (round >= 0) {
                        for (int k = 0; k < 6; k++) {
                            r[k][round] = v[k];
                        }
                    }
                }
                app.shutdown();
                for (int k = 0; k < 6; k++) {
                    report.append(String.format("%-42s min %8.1f us  median %8.1f us  (rounds: %s)%n", labels[k], min(r[k]),
                            median(r[k]), java.util.Arrays.stream(r[k]).mapToObj(x -> String.format("%.0f", x)).toList()));
                }
                report.append(String.format("ratio (min) connect gated/plain %.2f, GET gated/plain %.2f, GET egress/plain %.2f%n",
                        min(r[0]) / min(r[2]), min(r[3]) / min(r[5]), min(r[4]) / min(r[5])));
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
