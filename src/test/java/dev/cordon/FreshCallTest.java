package dev.cordon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.policy.FilesystemPolicy;
import dev.cordon.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The per-call fast paths keep their promises: with {@code persist_across_calls: false} every call
 * still starts with no globals, the workspace dir as cwd and no files from earlier calls (checked on
 * the host), although the reset is skipped when nothing changed; the output listing, reused when
 * nothing changed, still follows every change, including writes through a handle kept across calls.
 */
class FreshCallTest {

    static Sandbox fresh;
    static Sandbox keep;

    @BeforeAll
    static void start() {
        fresh = Sandbox.builder().policy(Policy.DEFAULT).poolSize(0).build();
        FilesystemPolicy fs = Policy.DEFAULT.filesystem();
        keep = Sandbox.builder().policy(Policy.DEFAULT.withFilesystem(new FilesystemPolicy(fs.workspaceDir(),
                fs.writable(), fs.maxSizeMb(), true, fs.uploadDir(), fs.outputDir()))).poolSize(0).build();
    }

    @AfterAll
    static void stop() {
        fresh.close();
        keep.close();
    }

    static ExecResult ok(Session s, String code) {
        ExecResult r = s.exec(code);
        assertEquals(ExecResult.Status.OK, r.status(), r::toString);
        return r;
    }

    @Test
    void freshCallsForgetGlobalsFilesAndCwd() throws Exception {
        Session s = fresh.openSession("fresh");
        s.upload("kept.txt", "upload".getBytes(StandardCharsets.UTF_8));
        ExecResult r = ok(s, """
                import os
                g = 1
                open('/workspace/left.txt', 'w').write('x')
                os.makedirs('/workspace/outputs/sub')
                with open('/workspace/outputs/sub/o.txt', 'w') as f:
                    f.write('hello')
                os.chdir('/workspace/outputs')
                """);
        assertEquals(List.of(new ExecResult.Output("/workspace/outputs/sub/o.txt", 5)), r.outputs());
        assertTrue(Files.exists(s.workspace().resolve("left.txt")));

        r = ok(s, "import os\nprint('g' in globals(), os.getcwd(), sorted(os.listdir('/workspace')))");
        assertEquals("False /workspace ['outputs', 'uploads']\n", r.stdout());
        assertEquals(List.of(), r.outputs());
        assertFalse(Files.exists(s.workspace().resolve("left.txt")), "a file of an earlier call survived on the host");
        assertFalse(Files.exists(s.workspace().resolve("outputs/sub")));
        assertEquals("upload", Files.readString(s.workspace().resolve("uploads/kept.txt")));

        // Calls that change nothing: no reset needed, and still nothing left over or listed.
        for (int i = 0; i < 3; i++) {
            r = ok(s, "h = " + i + "\nprint(sorted(k for k in globals() if not k.startswith('__')))");
            assertEquals("['h']\n", r.stdout());
            assertEquals(List.of(), r.outputs());
        }
        // A change after quiet calls is undone again.
        ok(s, "open('/tmp/t', 'w').write('t')\nopen('/workspace/outputs/late.txt', 'w').write('late')");
        r = ok(s, "import os\nprint(os.path.exists('/tmp/t'), os.listdir('/workspace/outputs'))");
        assertEquals("False []\n", r.stdout());
        s.close();
    }

    @Test
    void outputListingFollowsWritesThroughKeptHandles() {
        Session s = keep.openSession("keep");
        ExecResult r = ok(s, "f = open('/workspace/outputs/o.txt', 'w')\nf.write('ab')\nf.flush()");
        assertEquals(List.of(new ExecResult.Output("/workspace/outputs/o.txt", 2)), r.outputs());
        r = ok(s, "x = 1");
        assertEquals(List.of(new ExecResult.Output("/workspace/outputs/o.txt", 2)), r.outputs());
        r = ok(s, "f.write('cdef')\nf.flush()");
        assertEquals(List.of(new ExecResult.Output("/workspace/outputs/o.txt", 6)), r.outputs());
        r = ok(s, "f.truncate(1)\nf.flush()");
        assertEquals(List.of(new ExecResult.Output("/workspace/outputs/o.txt", 1)), r.outputs());
        r = ok(s, "f.close()\nimport os\nos.rename('/workspace/outputs/o.txt', '/workspace/outputs/p.txt')");
        assertEquals(List.of(new ExecResult.Output("/workspace/outputs/p.txt", 1)), r.outputs());
        r = ok(s, "os.remove('/workspace/outputs/p.txt')");
        assertEquals(List.of(), r.outputs());
        s.close();
    }

    @Test
    void closedStandardStreamsAreRepairedForTheNextCall() {
        Session s = keep.openSession("streams");
        ok(s, "import sys\nprint('before')\nsys.stdout.close()");
        ExecResult r = ok(s, "print('after', end='')");
        assertEquals("after", r.stdout());
        s.close();
    }
}
