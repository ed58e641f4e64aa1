package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The workspace through the public API: what persists between calls, uploads and outputs, files
 * left open, the blocked-operations log, and reads outside the workspace. Effects are checked on
 * the host side.
 */
class SessionWorkspaceTest {

    static Sandbox persistent;
    static Sandbox fresh;
    @TempDir
    static Path root;

    @BeforeAll
    static void start() throws Exception {
        Policy p = PolicyLoader.parse("""
                execution:
                  sandbox:
                    filesystem: {persist_across_calls: true, max_size_mb: 8}
                  logging:
                    log_file: /workspace/sandbox.log
                """, "persistent");
        persistent = Sandbox.builder().policy(p).workspaceRoot(root.resolve("p")).poolSize(0).build();
        fresh = Sandbox.builder().policy(Policy.DEFAULT).workspaceRoot(root.resolve("f")).poolSize(0).build();
    }

    @AfterAll
    static void stop() {
        persistent.close();
        fresh.close();
    }

    @Test
    void persistAcrossCallsKeepsGlobalsAndFiles() {
        Session s = persistent.openSession("keep");
        assertTrue(s.exec("x = 41\nopen('/workspace/state.txt', 'w').write('kept')").ok());
        ExecResult r = s.exec("print(x + 1, open('/workspace/state.txt').read())");
        assertEquals("42 kept\n", r.stdout(), r::toString);
    }

    @Test
    void withoutPersistEachCallStartsFreshButUploadsStay() throws Exception {
        Session s = fresh.openSession("fresh");
        s.upload("in.txt", "input".getBytes(StandardCharsets.UTF_8));
        assertTrue(s.exec("x = 1\nopen('/workspace/scratch.txt', 'w').write('gone')").ok());
        assertTrue(Files.exists(s.workspace().resolve("scratch.txt")));
        ExecResult r = s.exec("""
                import os
                print('x' in globals(), os.path.exists('/workspace/scratch.txt'), open('/workspace/uploads/in.txt').read())
                """);
        assertEquals("False False input\n", r.stdout(), r::toString);
        assertFalse(Files.exists(s.workspace().resolve("scratch.txt")), "the old file is gone on the host too");
        assertTrue(Files.exists(s.workspace().resolve("uploads/in.txt")));
    }

    @Test
    void standardStreamsCanBeStatedAndReopenedByFdWithoutDenials() {
        Session s = persistent.openSession("stdio");
        ExecResult r = s.exec("""
                import os, stat, sys
                print(stat.S_ISCHR(os.fstat(1).st_mode), os.isatty(1))
                f = open(sys.stdout.fileno(), 'w', closefd=False)
                f.write('via fd\\n')
                f.flush()
                """);
        assertTrue(r.ok(), r::toString);
        assertEquals("True False\nvia fd\n", r.stdout(), r::toString);
        assertTrue(r.blocked().isEmpty(), r::toString);
        // By path, the host's /dev/stdout stays outside the sandbox.
        ExecResult byPath = s.exec("open('/dev/stdout', 'w')");
        assertEquals("PermissionError", byPath.error().type(), byPath::toString);
        assertEquals(1, byPath.blocked().size(), byPath::toString);
    }

    @Test
    void outputsAreListedAndUnclosedFilesFlushed() throws Exception {
        Session s = persistent.openSession("outputs");
        // No close(): GraalPy has no reference counting, so the session must flush it at call end.
        ExecResult r = s.exec("open('/workspace/outputs/report.txt', 'w').write('hello world')");
        assertTrue(r.ok(), r::toString);
        assertEquals("hello world", Files.readString(s.workspace().resolve("outputs/report.txt")));
        assertEquals(1, r.outputs().size(), r::toString);
        assertEquals("/workspace/outputs/report.txt", r.outputs().get(0).path());
        assertEquals(11, r.outputs().get(0).bytes());
    }

    @Test
    void readOutsideIsDeniedAndLoggedAndTheLogIsReadOnly() throws Exception {
        // Not under /tmp: guest /tmp is the session's private temp dir, so a host /tmp path would
        // only be "not found", which proves less than a denial.
        Path canary = Files.createTempFile(OutsideDirs.root(), "canary", ".txt");
        Files.writeString(canary, "CANARY-7f3a9e");
        Session s = persistent.openSession("outside");
        ExecResult r = s.exec("""
                try:
                    print(open(%s).read())
                except PermissionError as e:
                    print('denied:', e)
                """.formatted(pyString(canary.toString())));
        assertTrue(r.ok(), r::toString);
        assertFalse(r.stdout().contains("CANARY-7f3a9e"), r.stdout());
        assertTrue(r.stdout().contains("denied:") && r.stdout().contains("filesystem.workspace_only"), r.stdout());
        assertEquals(1, r.blocked().size(), r::toString);
        assertEquals("filesystem.workspace_only", r.blocked().get(0).policy());
        Path log = s.workspace().resolve("sandbox.log");
        String before = Files.readString(log);
        assertTrue(before.contains("[BLOCKED] filesystem=read path=" + canary + " policy=filesystem.workspace_only"), before);
        assertTrue(before.contains("session=outside"), before);
        // Guest code can read its log, but cannot forge, truncate or delete it.
        ExecResult tamper = s.exec("""
                import os
                print(open('/workspace/sandbox.log').read().count('[BLOCKED]'))
                for attempt in (lambda: open('/workspace/sandbox.log', 'a').write('[BLOCKED] forged\\n'),
                                lambda: open('/workspace/sandbox.log', 'w'),
                                lambda: os.remove('/workspace/sandbox.log'),
                                lambda: os.rename('/workspace/sandbox.log', '/workspace/moved.log')):
                    try:
                        attempt()
                        print('allowed')
                    except PermissionError:
                        print('refused')
                """);
        assertEquals("1\nrefused\nrefused\nrefused\nrefused\n", tamper.stdout(), tamper::toString);
        String after = Files.readString(log);
        assertTrue(after.startsWith(before), "earlier lines intact");
        assertFalse(after.contains("forged"), after);
    }

    static String pyString(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
