package dev.cordon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.cli.ServeClient;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Faults from outside the guest: each ends with a clear result, nothing is lost that was already
 * written, and the session's next call works.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class FaultsTest {

    /** The guest's pid: in the worker tier, GraalPy's emulated os.getpid() is the worker JVM's pid. */
    static long pid(Session s) {
        ExecResult r = s.exec("import os\nprint(os.getpid())");
        assertEquals(ExecResult.Status.OK, r.status(), r::toString);
        return Long.parseLong(r.stdout().strip());
    }

    /** Starts {@code code} on another thread and waits until it has been running for {@code settleMs}. */
    static CompletableFuture<ExecResult> inFlight(Session s, String code, long settleMs) throws InterruptedException {
        CompletableFuture<ExecResult> f = CompletableFuture.supplyAsync(() -> s.exec(code));
        Thread.sleep(settleMs);
        assertFalse(f.isDone(), () -> "the call ended too early: " + f.join());
        return f;
    }

    @Test
    void workerSigkilledMidCall() throws Exception {
        Policy p = Probes.policy("worker", "graalpy", "filesystem: {persist_across_calls: true}");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("killed");
            assertTrue(s.exec("x = 42\nopen('/workspace/kept.txt', 'w').write('kept')").ok());
            long worker = pid(s);
            assertNotEquals(ProcessHandle.current().pid(), worker);
            CompletableFuture<ExecResult> call = inFlight(s, "import time\ntime.sleep(60)", 1500);
            assertTrue(ProcessHandle.of(worker).orElseThrow().destroyForcibly()); // SIGKILL
            ExecResult r = call.get(30, TimeUnit.SECONDS);
            assertEquals(ExecResult.Status.ERROR, r.status(), r::toString);
            assertEquals("WorkerDied", r.error().type(), r::toString);
            assertTrue(r.error().message().contains("signal 9"), r::toString);
            assertTrue(r.notices().stream().anyMatch(n -> n.contains("next call starts a fresh one")), r::toString);

            ExecResult next = s.exec("print(open('/workspace/kept.txt').read(), 'x' in globals())");
            assertEquals(ExecResult.Status.OK, next.status(), next::toString);
            assertEquals("kept False\n", next.stdout(), "files kept, globals gone: " + next);
            assertTrue(next.notices().stream().anyMatch(n -> n.contains("fresh worker process")), next::toString);
            assertNotEquals(worker, pid(s));
            assertFalse(ProcessHandle.of(worker).map(ProcessHandle::isAlive).orElse(false));
        }
        assertTrue(Probes.eventually(10_000, () -> Probes.descendants() == 0), "no worker left");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"in-process", "worker"})
    void nativeWorkerKilledMidCall(String mode) throws Exception {
        assumeTrue(NativeTier.get().check().available(), () -> "native tier unavailable: " + NativeTier.get().check().missing());
        Policy p = Probes.policy(mode, "native", """
                filesystem: {persist_across_calls: true}
                resources: {max_wall_seconds: 20}
                """);
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("native-killed");
            ExecResult first = s.exec("x = 1\nopen('/workspace/kept.txt', 'w').write('kept')");
            assertEquals(ExecResult.Status.OK, first.status(), first::toString);
            assertEquals("native", first.engine());
            CompletableFuture<ExecResult> call = inFlight(s, "import time\ntime.sleep(60)", 1000);
            // bwrap (outside), bwrap (the sandbox's pid 1) and CPython all carry the worker script in
            // their argv: the CPython worker is the one whose program is python.
            List<ProcessHandle> workers = ProcessHandle.current().descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains("cordon_worker.py"))
                    .filter(h -> h.info().command().orElse("").contains("python")).toList();
            assertEquals(1, workers.size(), () -> "one CPython worker: " + workers.stream().map(h -> h.info().command()).toList());
            long cpython = workers.getFirst().pid();
            assertTrue(workers.getFirst().destroyForcibly());
            ExecResult r = call.get(30, TimeUnit.SECONDS);
            assertEquals(ExecResult.Status.ERROR, r.status(), r::toString);
            assertEquals("WorkerDied", r.error().type(), r::toString);

            ExecResult next = s.exec("print(open('/workspace/kept.txt').read(), 'x' in globals())");
            assertEquals(ExecResult.Status.OK, next.status(), next::toString);
            assertEquals("kept False\n", next.stdout(), next::toString);
            assertFalse(ProcessHandle.of(cpython).map(ProcessHandle::isAlive).orElse(false));
        }
    }

    /**
     * The disk itself fills (a 4 MiB tmpfs under a generous quota): the guest gets OSError(ENOSPC),
     * the file written before is intact, and after freeing space the next call writes again.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"in-process", "worker"})
    void workspaceDiskFull(String mode, @TempDir Path dir) throws Exception {
        assumeTrue(Probes.root(), "mounting a tmpfs needs root");
        Path mnt = Files.createDirectory(dir.resolve("small"));
        HostCommand.run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt.toString());
        try {
            Policy p = Probes.policy(mode, "graalpy", "filesystem: {persist_across_calls: true, max_size_mb: 256}");
            try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).workspaceRoot(mnt).build()) {
                Session s = sandbox.openSession("full");
                ExecResult r = s.exec("""
                        with open('/workspace/a.txt', 'w') as f:
                            f.write('A' * 1000000)
                        try:
                            with open('/workspace/b.bin', 'wb') as f:
                                for i in range(128):
                                    f.write(b'B' * 65536)
                                    f.flush()
                            print('no error')
                        except OSError as e:
                            print('errno', e.errno)
                        """);
                assertEquals(ExecResult.Status.OK, r.status(), r::toString);
                assertEquals("errno 28\n", r.stdout(), "the guest sees ENOSPC: " + r);
                Path a = mnt.resolve("full/a.txt");
                assertEquals(1_000_000, Files.size(a));
                assertEquals("A".repeat(1_000_000), Files.readString(a), "the earlier write is kept");

                ExecResult next = s.exec("""
                        import os
                        os.remove('/workspace/b.bin')
                        open('/workspace/c.txt', 'w').write('after')
                        print(len(open('/workspace/a.txt').read()))
                        """);
                assertEquals(ExecResult.Status.OK, next.status(), next::toString);
                assertEquals("1000000\n", next.stdout());
                assertEquals("after", Files.readString(mnt.resolve("full/c.txt")));
            }
        } finally {
            HostCommand.run("umount", "-l", mnt.toString());
        }
    }

    /** The policy's quota (max_size_mb) rather than the disk: limit disk, earlier bytes kept. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"in-process", "worker"})
    void workspaceQuotaFull(String mode) throws Exception {
        Policy p = Probes.policy(mode, "graalpy", "filesystem: {persist_across_calls: true, max_size_mb: 1}");
        try (Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).build()) {
            Session s = sandbox.openSession("quota");
            ExecResult r = s.exec("""
                    open('/workspace/a.txt', 'w').write('A' * 500000)
                    with open('/workspace/b.bin', 'wb') as f:
                        f.write(b'B' * 2000000)
                    """);
            assertEquals(ExecResult.Status.LIMIT, r.status(), r::toString);
            assertEquals(ExecResult.Limit.DISK, r.limit(), r::toString);
            assertEquals("filesystem.max_size_mb", r.blocked().getFirst().policy(), r::toString);
            Path ws = s.workspace();
            assertEquals("A".repeat(500_000), Files.readString(ws.resolve("a.txt")));
            assertTrue(Files.size(ws.resolve("a.txt")) + Files.size(ws.resolve("b.bin")) <= 1024 * 1024);
            ExecResult next = s.exec("import os\nos.remove('/workspace/b.bin')\nprint(len(open('/workspace/a.txt').read()))");
            assertEquals("500000\n", next.stdout(), next::toString);
        }
    }

    /**
     * bubblewrap missing: whatever needs the native tier is refused with a message naming it, and
     * nothing runs unsandboxed — neither a marker in the workspace nor one at a host path appears.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"in-process", "worker"})
    void bwrapMissingIsRefused(String mode, @TempDir Path dir) throws Exception {
        Path hostMarker = dir.resolve("ran-unsandboxed");
        String old = System.getProperty("cordon.native.bwrap");
        System.setProperty("cordon.native.bwrap", dir.resolve("no-such-bwrap").toString());
        try {
            assertFalse(NativeTier.get().check().available());
            // The native engine: the session refuses before any code runs.
            Policy nat = Probes.policy(mode, "native", "filesystem: {persist_across_calls: true}");
            try (Sandbox sandbox = Sandbox.builder().policy(nat).poolSize(0).build()) {
                Session s = sandbox.openSession("no-bwrap-native");
                ExecResult r = s.exec("open('/workspace/ran.txt', 'w').write('x')\nopen('" + hostMarker + "', 'w').write('x')");
                assertEquals(ExecResult.Status.ERROR, r.status(), r::toString);
                assertEquals("NativeTierUnavailable", r.error().type(), r::toString);
                assertTrue(r.error().message().contains("bwrap") || r.error().message().contains("bubblewrap"), r::toString);
                assertFalse(Files.exists(s.workspace().resolve("ran.txt")));
                assertFalse(Files.exists(hostMarker));
                assertEquals("NativeTierUnavailable", s.exec("print(1)").error().type(), "and stays refused");
            }
            // GraalPy (in this JVM or in a worker) with subprocesses allowed: each start is refused.
            Policy sub = Probes.policy(mode, "graalpy", """
                    filesystem: {persist_across_calls: true}
                    subprocess: {allow: true, allowed_commands: [touch]}
                    """);
            try (Sandbox sandbox = Sandbox.builder().policy(sub).poolSize(0).build()) {
                Session s = sandbox.openSession("no-bwrap-sub");
                ExecResult r = s.exec("""
                        import subprocess
                        for target in ['/workspace/ran.txt', '%s']:
                            try:
                                subprocess.run(['touch', target])
                                print('ran')
                            except PermissionError as e:
                                print('refused')
                        """.formatted(hostMarker));
                assertEquals(ExecResult.Status.OK, r.status(), r::toString);
                assertEquals("refused\nrefused\n", r.stdout(), r::toString);
                assertTrue(r.blocked().getFirst().reason().contains("native tier"), r::toString);
                assertFalse(Files.exists(s.workspace().resolve("ran.txt")));
                assertFalse(Files.exists(hostMarker));
                assertTrue(s.exec("print('next')").ok(), "the session goes on");
            }
        } finally {
            if (old == null) {
                System.clearProperty("cordon.native.bwrap");
            } else {
                System.setProperty("cordon.native.bwrap", old);
            }
        }
        assertFalse(Files.exists(hostMarker));
    }

    /** {@code serve --dev --reload-on-change}: the policy file is deleted, serving goes on under the last good policy. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"in-process", "worker"})
    void policyFileDeletedWhileServing(String mode, @TempDir Path dir) throws Exception {
        Path policy = dir.resolve("openclaw.exec.yaml");
        write(policy, """
                execution:
                  isolation: %s
                  sandbox:
                    filesystem: {persist_across_calls: true, writable: false}
                """.formatted(mode), 0);
        try (ServeClient serve = new ServeClient(dir, "--dev", "--reload-on-change", "--policy", policy.toString(),
                "--workspace-root", dir.resolve("ws").toString(), "--pool", "0", "--quiet")) {
            JsonNode r = serve.call(1, "s", "import os\nx = 1\nprint(os.getpid())", 180);
            assertEquals("ok", r.get("status").asText(), r.toString());
            long guestPid = Long.parseLong(r.get("stdout").asText().strip());
            assertEquals(mode.equals("worker"), guestPid != serve.process.pid(), "where the session runs: " + r);

            Files.delete(policy);
            r = serve.call(2, "s", "x += 1\nprint(x)\nopen('/workspace/w.txt', 'w').write('w')", 120);
            assertTrue(r.get("notices").toString().contains("gone"), r.toString());
            assertTrue(r.get("notices").toString().contains("keeping the last good policy"), r.toString());
            assertEquals("2\n", r.get("stdout").asText(), "globals kept: " + r);
            assertEquals("PermissionError", r.get("error").get("type").asText(), "still read-only: " + r);
            assertTrue(Files.notExists(dir.resolve("ws/s/w.txt")));

            r = serve.call(3, "s", "print(x)", 120);
            assertEquals("ok", r.get("status").asText(), "serving goes on: " + r);

            write(policy, """
                    execution:
                      isolation: %s
                      sandbox:
                        filesystem: {persist_across_calls: true, writable: true}
                    """.formatted(mode), 10);
            r = serve.call(4, "s", "open('/workspace/w.txt', 'w').write('w')\nprint(x)", 120);
            assertEquals("ok", r.get("status").asText(), "a restored file applies again: " + r);
            assertTrue(r.get("notices").toString().contains("reloaded"), r.toString());
            assertEquals("2\n", r.get("stdout").asText(), r.toString());
            assertTrue(Files.exists(dir.resolve("ws/s/w.txt")));
            assertTrue(serve.process.isAlive());
        }
    }

    static void write(Path policy, String yaml, int bump) throws Exception {
        Files.writeString(policy, yaml);
        Files.setLastModifiedTime(policy, FileTime.from(Instant.now().plusSeconds(bump)));
    }

    /** Runs a host command as the test's user (root here) and fails on a non-zero exit. */
    static final class HostCommand {
        static void run(String... cmd) throws Exception {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + ": " + out);
        }
    }

    @Test
    void hostDeathEndsItsWorkers(@TempDir Path dir) throws Exception {
        // A host JVM that opens a worker session, prints the worker's pid and waits; we SIGKILL it.
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xss8m", "-XX:+EnableDynamicAgentLoading", "-Djdk.attach.allowAttachSelf=true",
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), HostThatDies.class.getName(), dir.toString()));
        Process host = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(host.getInputStream())).readLine();
            assertNotNull(line, "the host printed its worker's pid");
            long worker = Long.parseLong(line.strip());
            assertTrue(ProcessHandle.of(worker).isPresent());
            host.destroyForcibly();
            host.waitFor(30, TimeUnit.SECONDS);
            assertTrue(Probes.eventually(30_000, () -> ProcessHandle.of(worker).map(h -> !h.isAlive()).orElse(true)),
                    "the worker ends when its host dies (its stdin closes)");
        } finally {
            host.destroyForcibly();
        }
    }

    /** Main of the host JVM in {@link #hostDeathEndsItsWorkers}. */
    public static final class HostThatDies {
        public static void main(String[] args) throws Exception {
            Policy p = Probes.policy("worker", "graalpy", "");
            Sandbox sandbox = Sandbox.builder().policy(p).poolSize(0).workspaceRoot(Path.of(args[0])).build();
            Session s = sandbox.openSession("orphan");
            System.out.println(pid(s));
            System.out.flush();
            Thread.sleep(600_000);
        }
    }
}
