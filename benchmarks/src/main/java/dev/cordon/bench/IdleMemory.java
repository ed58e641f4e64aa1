package dev.cordon.bench;

import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Idle memory per session: heap after full GC with {@value #SESSIONS} idle sessions open (each has
 * run one small call and keeps its interpreter), minus the heap before, divided by the sessions.
 * Reported as the secondary metrics {@code bytesPerSession} and {@code sessionsPerGiB} (JMH sums
 * event counters over measurement iterations, hence exactly one); the time is that of opening the
 * sessions.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, batchSize = 1)
@Measurement(iterations = 1, batchSize = 1)
public class IdleMemory extends BenchBase {

    static final int SESSIONS = 20;

    /** JMH prints these next to the score. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Footprint {
        public double bytesPerSession;
        public double sessionsPerGiB;
    }

    Sandbox sandbox;
    List<Session> open = new ArrayList<>();
    int round;

    @Setup(Level.Trial)
    public void setUp() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT).poolSize(0).build();
        sandbox.openSession("first").exec("x = 1");
    }

    @TearDown(Level.Invocation)
    public void closeSessions() {
        for (Session s : open) {
            s.close();
        }
        open.clear();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sandbox.close();
    }

    @Benchmark
    public Object idleSessions(Footprint f) throws InterruptedException {
        long before = liveHeap();
        round++;
        for (int i = 0; i < SESSIONS; i++) {
            Session s = sandbox.openSession("idle" + round + "-" + i);
            CallLatency.check(s.exec("import json\nx = [i for i in range(100)]"));
            open.add(s);
        }
        long per = (liveHeap() - before) / SESSIONS;
        f.bytesPerSession = per;
        f.sessionsPerGiB = (1L << 30) / (double) per;
        return open;
    }

    static long liveHeap() throws InterruptedException {
        var mem = ManagementFactory.getMemoryMXBean();
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            min = Math.min(min, mem.getHeapMemoryUsage().getUsed());
        }
        return min;
    }
}
