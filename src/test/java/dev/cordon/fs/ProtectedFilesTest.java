package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.CordonAgent;
import dev.cordon.policy.FilesystemPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Cordon's log files inside the workspace: readable by guest code, never changed by it. */
class ProtectedFilesTest {

    @RegisterExtension
    final TestDirs dirs = new TestDirs();

    @BeforeAll
    static void agent() {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
    }

    private static final String LOG = "/workspace/sandbox.log";
    private static final String AUDIT = "/workspace/logs/audit.jsonl";

    @Test
    void logFilesAreReadableButNeverChanged() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(LOG, AUDIT), List.of(), null)) {
            Path log = g.ws.resolve("sandbox.log");
            Path audit = g.ws.resolve("logs/audit.jsonl");
            assertTrue(Files.isRegularFile(log, LinkOption.NOFOLLOW_LINKS), "created at start");
            assertTrue(Files.isRegularFile(audit, LinkOption.NOFOLLOW_LINKS), "created at start, with its directory");
            Files.writeString(log, "[BLOCKED] line one\n"); // the host (Audit) writes it
            Files.writeString(audit, "{\"n\":1}\n");
            String out = g.run("""
                    import os, shutil
                    print('read:', open('/workspace/sandbox.log').read().strip())
                    with open('/workspace/other.txt', 'w') as f: f.write('other')
                    os.makedirs('/workspace/d')
                    os.symlink('/workspace/sandbox.log', '/workspace/d/alias')
                    tries = [
                        lambda: open('/workspace/sandbox.log', 'w'),
                        lambda: open('/workspace/sandbox.log', 'a').write('forged'),
                        lambda: open('/workspace/sandbox.log', 'r+'),
                        lambda: open('/workspace/d/alias', 'w'),
                        lambda: open('d/../sandbox.log', 'a'),
                        lambda: os.truncate('/workspace/sandbox.log', 0),
                        lambda: os.remove('/workspace/sandbox.log'),
                        lambda: os.rename('/workspace/sandbox.log', '/workspace/moved.log'),
                        lambda: os.rename('/workspace/other.txt', '/workspace/sandbox.log'),
                        lambda: os.replace('/workspace/other.txt', '/workspace/sandbox.log'),
                        lambda: shutil.move('/workspace/other.txt', '/workspace/sandbox.log'),
                        lambda: shutil.copy('/workspace/other.txt', '/workspace/sandbox.log'),
                        lambda: os.chmod('/workspace/sandbox.log', 0),
                        lambda: os.utime('/workspace/sandbox.log', (0, 0)),
                        lambda: os.symlink('/workspace/other.txt', '/workspace/sandbox.log'),
                        lambda: open('/workspace/logs/audit.jsonl', 'a').write('{"forged":1}'),
                        lambda: os.rename('/workspace/logs', '/workspace/logs2'),
                        lambda: shutil.rmtree('/workspace/logs'),
                        lambda: os.rmdir('/workspace/logs'),
                    ]
                    for i, t in enumerate(tries):
                        try:
                            r = t()
                            print(i, 'DID', r)
                        except BaseException as e:
                            print(i, type(e).__name__, getattr(e, 'errno', ''))
                    """);
            assertTrue(out.contains("read: [BLOCKED] line one"), out);
            assertFalse(out.contains("DID"), out);
            assertEquals("[BLOCKED] line one\n", Files.readString(log));
            assertEquals("{\"n\":1}\n", Files.readString(audit));
            assertTrue(Files.isRegularFile(log, LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.isRegularFile(audit, LinkOption.NOFOLLOW_LINKS));
            assertFalse(Files.exists(g.ws.resolve("moved.log")));
            assertFalse(Files.exists(g.ws.resolve("logs2")));
            assertEquals("other", Files.readString(g.ws.resolve("other.txt")), "the file renamed over the log stays");
            assertTrue(g.denials.stream().anyMatch(d -> d.rule().equals("logging.log_file") && d.operation().equals("rename")),
                    g::denialText);
            assertTrue(g.denials.stream().anyMatch(d -> d.rule().equals("logging.log_file")
                    && d.target().equals("/workspace/d/alias")), "a link to the log is the log: " + g.denialText());
            assertTrue(out.contains("PermissionError 13"), out);
        }
    }

    /** A symlink planted where the log file belongs (earlier session, same workspace) is replaced, never followed. */
    @Test
    void aLinkAtTheLogPathIsReplacedByARealFile() throws Exception {
        Path base = dirs.fresh();
        try (Sandboxed g = new Sandboxed(base, FilesystemPolicy.DEFAULT, List.of(LOG), List.of(), s -> {
            try {
                Files.createSymbolicLink(s.ws.resolve("sandbox.log"), s.outside.resolve("existing.txt"));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        })) {
            Path log = g.ws.resolve("sandbox.log");
            assertTrue(Files.isRegularFile(log, LinkOption.NOFOLLOW_LINKS));
            assertEquals("keep", Files.readString(g.outside.resolve("existing.txt")));
        }
    }

    /** Log files are written by the host, not by guest code: they do not use the guest's quota. */
    @Test
    void logFilesAreNotCountedInTheQuota() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), FilesystemPolicy.DEFAULT, List.of(LOG), List.of(), null)) {
            Files.writeString(g.ws.resolve("sandbox.log"), "x".repeat(10_000));
            Files.writeString(g.ws.resolve("data.bin"), "y".repeat(1000));
            g.fs.rescan();
            assertEquals(1000, g.fs.usedBytes());
        }
    }
}
