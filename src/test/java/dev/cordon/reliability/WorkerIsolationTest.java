package dev.cordon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker tier ({@code execution.isolation: worker}) as a user sees it: the session runs in a
 * child JVM with every gate, its limits are hard (the worker dies, the host does not), and the next
 * call after a death gets a fresh worker and says so.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class WorkerIsolationTest {

    static long pid(Session s) {
        return FaultsTest.pid(s);
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    void theSessionRunsInAWorkerWithTheSameGates(@TempDir Path dir) throws Exception {
        Policy p = Probes.policy("worker", "graalpy", """
                filesystem: {persist_across_calls: true}
                logging: {log_file: "/workspace/sandbox.log"}
                """);
        // A host file outside the workspace (not under /tmp: guest /tmp is the session's own).
        Path hostFile = Path.of("/etc/hostname");
        String secret = Files.readString(hostFile).strip();
        try (ServerSocketChannel listener = ServerSocketChannel.open();
             Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).workspaceRoot(dir.resolve("ws")).build()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            listener.configureBlocking(false);
            int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            Session s = sandbox.openSession("gates");
            long worker = pid(s);
            assertNotEquals(ProcessHandle.current().pid(), worker, "guest code runs in another process");
            assertTrue(ProcessHandle.current().children().anyMatch(h -> h.pid() == worker), "a child of the host");
            List<String> cmd = Probes.argv(worker);
            assertTrue(cmd.contains("-Xmx" + (256 + 128) + "m"), "heap from max_memory_mb + overhead: " + cmd);

            // Globals persist across calls, in the worker.
            assertTrue(s.exec("x = 41").ok());
            // Uploads go through the worker's session (its quota rescans them).
            String guest = s.upload("data.csv", "a,b\n1,2\n".getBytes(StandardCharsets.UTF_8));
            assertEquals("/workspace/uploads/data.csv", guest);
            ExecResult r = s.exec("""
                    x += 1
                    print(x, open('/workspace/uploads/data.csv').read().splitlines()[1])
                    open('/workspace/outputs/result.txt', 'w').write('done')
                    """);
            assertEquals("42 1,2\n", r.stdout(), r::toString);
            assertEquals(List.of(new ExecResult.Output("/workspace/outputs/result.txt", 4)), r.outputs());
            assertEquals("done", Files.readString(s.workspace().resolve("outputs/result.txt")));

            // The filesystem gate, the network gate and the process gate apply inside the worker.
            ExecResult denied = s.exec("""
                    import socket, subprocess
                    for attempt in (lambda: open('%s').read(), lambda: socket.create_connection(('127.0.0.1', %d), timeout=2),
                                    lambda: subprocess.run(['ls'])):
                        try:
                            print(attempt())
                        except PermissionError as e:
                            print('denied')
                    """.formatted(hostFile, port));
            assertEquals("denied\ndenied\ndenied\n", denied.stdout(), denied::toString);
            // (GraalPy asks the process gate once per PATH entry that holds the command: ls twice.)
            assertEquals(List.of("filesystem.workspace_only", "network.policy", "subprocess.allow"),
                    denied.blocked().stream().map(ExecResult.Blocked::policy).distinct().toList());
            assertFalse(!secret.isEmpty() && denied.stdout().contains(secret));
            assertEquals(null, listener.accept(), "no connection reached the listener");
            String log = Files.readString(s.workspace().resolve("sandbox.log"));
            assertEquals(denied.blocked().size(), log.lines().filter(l -> l.contains("[BLOCKED]")).count(), log);

            s.close();
            assertTrue(Probes.eventually(10_000, () -> !alive(worker)), "closing the session ends its worker");
        }
    }

    /**
     * The memory limit is the worker's heap: a guest that allocates past it ends the worker with an
     * out-of-memory exit (or is stopped by the watchdog first), never touching the host's heap.
     */
    @Test
    void memoryLimitIsHardAndTheNextCallGetsAFreshWorker() {
        Policy p = Probes.policy("worker", "graalpy", """
                filesystem: {persist_across_calls: true}
                resources: {max_memory_mb: 64}
                """);
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("memory");
            assertTrue(s.exec("kept = 'globals before'").ok());
            long worker = pid(s);
            long hostHeapBefore = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            ExecResult r = s.exec("""
                    hog = []
                    while True:
                        hog.append(bytearray(4 * 1024 * 1024))
                    """);
            assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
            assertEquals(ExecResult.Limit.MEMORY, r.limit(), r::toString);
            assertFalse(r.notices().isEmpty(), "the call says the worker was ended: " + r);
            assertTrue(Probes.eventually(10_000, () -> !alive(worker)), "the worker process is gone");
            long hostHeapAfter = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            assertTrue(hostHeapAfter - hostHeapBefore < 64L * 1024 * 1024, "the host's heap did not take the allocation");

            ExecResult next = s.exec("print('kept' in globals())");
            assertEquals("False\n", next.stdout(), next::toString);
            assertTrue(next.notices().stream().anyMatch(n -> n.contains("fresh worker process")), next::toString);
            assertNotEquals(worker, pid(s));
        }
    }

    /**
     * A builtin that ignores interruption (DESIGN.md §3): in-process its thread would keep running
     * after the call; in the worker tier the worker ends, and with it the thread.
     */
    @Test
    void aBuiltinThatWillNotStopEndsTheWorker() {
        Policy p = Probes.policy("worker", "graalpy", "resources: {max_cpu_seconds: 2, max_wall_seconds: 4}");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("builtin");
            long worker = pid(s);
            long t0 = System.nanoTime();
            ExecResult r = s.exec("sum(range(10 ** 15))");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
            assertTrue(r.notices().stream().anyMatch(n -> n.contains("worker process was ended")), r::toString);
            assertTrue(Probes.eventually(10_000, () -> !alive(worker)), "the worker (and the spinning thread) is gone");
            assertTrue(ms < 60_000, "bounded by the limits plus the stop grace: " + ms + " ms");
            ExecResult next = s.exec("print('next')");
            assertEquals("next\n", next.stdout(), next::toString);
            assertNotEquals(worker, pid(s));
        }
    }

    /** A limit the guest does stop for keeps the worker and its globals, as in-process. */
    @Test
    void aLimitTheGuestStopsForKeepsTheWorker() {
        Policy p = Probes.policy("worker", "graalpy", """
                filesystem: {persist_across_calls: true}
                resources: {max_wall_seconds: 2}
                """);
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("wall");
            assertTrue(s.exec("kept = 1").ok());
            long worker = pid(s);
            ExecResult r = s.exec("import time\ntime.sleep(30)");
            assertEquals(ExecResult.Limit.WALL, r.limit(), r::toString);
            assertEquals(List.of(), r.notices(), r::toString);
            ExecResult next = s.exec("print(kept)");
            assertEquals("1\n", next.stdout(), next::toString);
            assertEquals(worker, pid(s));
        }
    }

    /** A worker that stops answering (here: SIGSTOP) is killed at the host's deadline. */
    @Test
    void aWedgedWorkerIsKilledAtTheDeadline() throws Exception {
        Policy p = Probes.policy("worker", "graalpy", "resources: {max_cpu_seconds: 1, max_wall_seconds: 1}");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("wedged");
            long worker = pid(s);
            CompletableFuture<ExecResult> call = CompletableFuture.supplyAsync(() -> s.exec("import time\ntime.sleep(0.5)"));
            Process stop = new ProcessBuilder("kill", "-STOP", String.valueOf(worker)).start();
            assertEquals(0, stop.waitFor());
            ExecResult r = call.get(60, TimeUnit.SECONDS);
            assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
            assertEquals(ExecResult.Limit.WALL, r.limit(), r::toString);
            assertTrue(r.error().message().contains("was killed"), r::toString);
            assertFalse(alive(worker));
            assertTrue(s.exec("print(1)").ok());
        }
    }

    /** Dev-mode reload: the worker keeps its interpreter when it can; a new heap bound needs a new worker. */
    @Test
    void reloadKeepsTheWorkerOrReplacesItWhenTheHeapChanges() {
        Policy p = Probes.policy("worker", "graalpy", "filesystem: {persist_across_calls: true}");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("reload");
            assertTrue(s.exec("x = 7\nopen('/workspace/a.txt', 'w').write('a')").ok());
            long worker = pid(s);
            sandbox.reload(Probes.policy("worker", "graalpy", "filesystem: {persist_across_calls: true, writable: false}"));
            ExecResult r = s.exec("print(x)\nopen('/workspace/b.txt', 'w').write('b')");
            assertEquals("7\n", r.stdout(), "globals kept: " + r);
            assertEquals("PermissionError", r.error().type(), "the new policy applies: " + r);
            assertEquals(worker, pid(s));

            sandbox.reload(Probes.policy("worker", "graalpy", """
                    filesystem: {persist_across_calls: true}
                    resources: {max_memory_mb: 128}
                    """));
            ExecResult fresh = s.exec("print(open('/workspace/a.txt').read(), 'x' in globals())");
            assertEquals("a False\n", fresh.stdout(), fresh::toString);
            assertTrue(fresh.notices().stream().anyMatch(n -> n.contains("fresh worker process")), fresh::toString);
            long newWorker = pid(s);
            assertNotEquals(worker, newWorker);
            List<String> cmd = Probes.argv(newWorker);
            assertTrue(cmd.contains("-Xmx" + (128 + 128) + "m"), cmd::toString);

            // And back to in-process: the session now runs in the host.
            sandbox.reload(Probes.policy("in-process", "graalpy", "filesystem: {persist_across_calls: true}"));
            assertEquals(ProcessHandle.current().pid(), pid(s));
            assertTrue(Probes.eventually(10_000, () -> !alive(newWorker)));
        }
    }

    /** A warm pool hands a started, warmed worker to a new session; the pool refills in the background. */
    @Test
    void aWarmPoolServesNewSessions() throws Exception {
        Policy p = Probes.policy("worker", "graalpy", "");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(1).build()) {
            sandbox.awaitWarm(180_000);
            assertEquals(1, sandbox.warmContexts());
            long warm = ProcessHandle.current().children().filter(h -> Probes.argv(h.pid())
                    .contains("dev.cordon.worker.WorkerMain")).findFirst().orElseThrow().pid();
            Session s = sandbox.openSession("warm");
            assertEquals(warm, pid(s), "the session got the warm worker");
            assertTrue(Probes.eventually(180_000, () -> sandbox.warmContexts() == 1), "refilled");
            s.close();
        }
        assertTrue(Probes.eventually(10_000, () -> Probes.descendants() == 0), "no worker outlives the sandbox");
    }

    /** Many sessions at once: each its own worker, answers never crossed. */
    @Test
    void concurrentSessionsHaveTheirOwnWorkers() throws Exception {
        Policy p = Probes.policy("worker", "graalpy", "filesystem: {persist_across_calls: true}");
        AtomicInteger ok = new AtomicInteger();
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            List<CompletableFuture<Long>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String name = "c" + i;
                all.add(CompletableFuture.supplyAsync(() -> {
                    Session s = sandbox.openSession(name);
                    for (int k = 0; k < 20; k++) {
                        ExecResult r = s.exec("n = globals().get('n', 0) + 1\nprint('" + name + "', n)");
                        assertEquals(name + " " + (k + 1) + "\n", r.stdout(), r::toString);
                        ok.incrementAndGet();
                    }
                    return pid(s);
                }));
            }
            java.util.Set<Long> pids = new java.util.HashSet<>();
            for (CompletableFuture<Long> f : all) {
                pids.add(f.get(5, TimeUnit.MINUTES));
            }
            assertEquals(3, pids.size());
            assertEquals(60, ok.get());
        }
    }

    /** The protocol stream is the worker's stdout: nothing guest code or the JVM prints may reach it. */
    @Test
    void nothingCorruptsTheProtocolStream() {
        Policy p = Probes.policy("worker", "graalpy", "filesystem: {persist_across_calls: true}");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("stream");
            ExecResult r = s.exec("""
                    import os, sys
                    sys.__stdout__.write('\\x00\\x00\\x00\\x05garbage')
                    os.write(1, b'\\x7f\\xff\\xff\\xff')
                    print('after')
                    """);
            assertEquals(ExecResult.Status.OK, r.status(), r::toString);
            assertTrue(r.stdout().endsWith("after\n"), r::toString);
            assertTrue(s.exec("print('still in step')").stdout().equals("still in step\n"));
        }
    }

    /** Java-level sanity of a closed session. */
    @Test
    void aClosedSessionRefusesCalls() {
        Policy p = Probes.policy("worker", "graalpy", "");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("closed");
            s.close();
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> s.exec("1"));
        }
    }
}
