package dev.cordon.graalpy;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One daemon thread that checks every running call every {@value #PERIOD_MS} ms: wall clock, CPU
 * time of all the session's guest threads, memory, and output. It only measures and flags; the
 * call itself ({@link GuestSession}) turns a flag into an interrupt and a {@code limit} status.
 */
final class Watchdog {

    static final long PERIOD_MS = 10;

    private static final Watchdog INSTANCE = new Watchdog();

    private final Set<GuestSession.Call> calls = ConcurrentHashMap.newKeySet();
    private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    private volatile long lastForcedGc;

    private Watchdog() {
        if (threads.isThreadCpuTimeSupported() && !threads.isThreadCpuTimeEnabled()) {
            threads.setThreadCpuTimeEnabled(true);
        }
        if (threads.isThreadAllocatedMemorySupported() && !threads.isThreadAllocatedMemoryEnabled()) {
            threads.setThreadAllocatedMemoryEnabled(true);
        }
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cordon-watchdog");
            t.setDaemon(true);
            t.setPriority(Thread.MAX_PRIORITY);
            return t;
        });
        s.scheduleAtFixedRate(this::tick, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    static Watchdog get() {
        return INSTANCE;
    }

    void watch(GuestSession.Call call) {
        calls.add(call);
    }

    void unwatch(GuestSession.Call call) {
        calls.remove(call);
    }

    /** Calls running now (in every session of this JVM). */
    int running() {
        return calls.size();
    }

    long cpuNanos(Thread t) {
        long v = threads.getThreadCpuTime(t.threadId());
        return Math.max(0, v);
    }

    /** CPU time of the calling thread: no thread lookup, unlike {@link #cpuNanos(Thread)}. */
    long currentCpuNanos() {
        return Math.max(0, threads.getCurrentThreadCpuTime());
    }

    long currentAllocatedBytes() {
        return Math.max(0, threads.getCurrentThreadAllocatedBytes());
    }

    long allocatedBytes(Thread t) {
        long v = threads.getThreadAllocatedBytes(t.threadId());
        return Math.max(0, v);
    }

    long heapUsed() {
        return memory.getHeapMemoryUsage().getUsed();
    }

    long heapMax() {
        long max = memory.getHeapMemoryUsage().getMax();
        return max > 0 ? max : Runtime.getRuntime().maxMemory();
    }

    /**
     * The live heap now: forces a full collection, at most twice a second for the whole JVM, so a
     * guest that allocates garbage fast cannot turn the watchdog into a GC storm.
     */
    long liveHeapAfterGc() {
        long now = System.nanoTime();
        if (now - lastForcedGc > 500_000_000L) {
            lastForcedGc = now;
            System.gc();
        }
        return heapUsed();
    }

    private void tick() {
        for (GuestSession.Call c : calls) {
            try {
                c.check(this);
            } catch (RuntimeException e) {
                // A measurement failure must not stop the watchdog for every other call.
                System.err.println("cordon: watchdog check failed: " + e);
            }
        }
    }
}
