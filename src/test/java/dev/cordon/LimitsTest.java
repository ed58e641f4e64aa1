package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.Policy;
import dev.cordon.policy.ResourcesPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each limit ends the call with status limit and its name, within a bounded time; the session goes on. */
class LimitsTest {

    /** CPU, memory and output limits, with a wall clock far enough away that a loaded machine cannot hit it first. */
    static Sandbox sandbox;
    /** The wall clock, with CPU to spare. */
    static Sandbox wallSandbox;

    @BeforeAll
    static void start() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT.withResources(new ResourcesPolicy(128, 1, 1, 1, 120)))
                .poolSize(0).build();
        wallSandbox = Sandbox.builder().policy(Policy.DEFAULT.withResources(new ResourcesPolicy(128, 60, 1, 1, 3)))
                .poolSize(0).build();
    }

    @AfterAll
    static void stop() {
        sandbox.close();
        wallSandbox.close();
    }

    private static void assertNextCallWorks(Session s) {
        ExecResult r = s.exec("print(40 + 2)");
        assertEquals(ExecResult.Status.OK, r.status(), () -> "next call: " + r);
        assertEquals("42\n", r.stdout());
    }

    @Test
    void cpuLoop() {
        Session s = sandbox.openSession("cpu");
        long t0 = System.nanoTime();
        ExecResult r = s.exec("while True:\n    pass\n");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
        assertEquals(ExecResult.Limit.CPU, r.limit());
        assertTrue(ms < 60_000, "took " + ms + " ms (a liveness bound, not a speed target)");
        assertTrue(r.timing().cpuMs() >= 900, "cpu " + r.timing());
        assertTrue(r.error().message().contains("max_cpu_seconds"), r.error()::message);
        assertNextCallWorks(s);
    }

    @Test
    void sleepHitsWallClock() {
        Session s = wallSandbox.openSession("wall");
        long t0 = System.nanoTime();
        ExecResult r = s.exec("import time\ntime.sleep(3600)\n");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
        assertEquals(ExecResult.Limit.WALL, r.limit());
        assertTrue(ms >= 2900 && ms < 60_000, "took " + ms + " ms");
        assertNextCallWorks(s);
    }

    @Test
    void spinningThreadsCountTowardCpu() {
        Session s = sandbox.openSession("threads");
        ExecResult r = s.exec("""
                import threading, time
                def spin():
                    while True:
                        pass
                for _ in range(2):
                    threading.Thread(target=spin, daemon=True).start()
                time.sleep(60)  # only the spinning threads use CPU; the limit must still end the call
                print('main thread woke up')
                """);
        // The main thread only sleeps: the CPU is all in the guest's threads, and it still counts.
        assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
        assertEquals(ExecResult.Limit.CPU, r.limit());
        assertTrue(!r.stdout().contains("woke up"), r.stdout());
        assertNextCallWorks(s);
    }

    @Test
    void memoryGrowth() {
        Session s = sandbox.openSession("memory");
        long t0 = System.nanoTime();
        ExecResult r = s.exec("x = []\nwhile True:\n    x.append(bytearray(1 << 20))\n");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
        assertEquals(ExecResult.Limit.MEMORY, r.limit(), r::toString);
        assertTrue(ms < 60_000, "took " + ms + " ms (a liveness bound, not a speed target)");
        s.exec("x = None");
        assertNextCallWorks(s);
    }

    @Test
    void outputFlood() {
        Session s = sandbox.openSession("output");
        ExecResult r = s.exec("while True:\n    print('x' * 1000)\n");
        assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
        assertEquals(ExecResult.Limit.OUTPUT, r.limit());
        assertTrue(r.stdoutTruncated());
        assertTrue(r.stdout().endsWith("[cordon: output truncated at max_output_size_mb]\n"));
        assertTrue(r.stdout().length() <= 1024 * 1024 + 100, "length " + r.stdout().length());
        assertNextCallWorks(s);
    }
}
