package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.CordonAgent;
import dev.cordon.policy.FilesystemPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code max_size_mb} bounds the bytes of all files in the workspace and /tmp: checked by measuring
 * the host directories, not by trusting the gate's count (which is compared with them too).
 */
class QuotaTest {

    @RegisterExtension
    final TestDirs dirs = new TestDirs();

    static final long MB = 1024 * 1024;
    static final FilesystemPolicy ONE_MB = new FilesystemPolicy("/workspace", true, 1, true, "/workspace/uploads",
            "/workspace/outputs");

    @BeforeAll
    static void agent() {
        assertTrue(CordonAgent.ensureInstalled(), CordonAgent::failure);
    }

    private static long onDisk(Sandboxed g) throws Exception {
        return Sandboxed.bytesUnder(g.ws) + Sandboxed.bytesUnder(g.tmp);
    }

    private static void assertWithinQuotaAndCounted(Sandboxed g) throws Exception {
        long disk = onDisk(g);
        assertTrue(disk <= MB, "bytes on disk " + disk + " exceed the quota");
        assertEquals(disk, g.fs.usedBytes(), "the gate's count matches the disk");
    }

    @Test
    void aWritePastTheQuotaFailsAndKeepsEarlierData() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            String out = g.run("""
                    import os
                    with open('/workspace/a.bin', 'wb') as f:
                        f.write(bytes(range(256)) * 2734)          # 699,904 bytes
                    try:
                        with open('/workspace/b.bin', 'wb') as f:
                            f.write(b'y' * 600_000)
                        print('WROTE b')
                    except OSError as e:
                        print('full', type(e).__name__, e.errno, e.strerror)
                    print('b size', os.path.getsize('/workspace/b.bin'))
                    """);
            assertTrue(out.contains("full OSError 28 Cordon blocked filesystem write /workspace/b.bin"), out);
            assertTrue(out.contains("filesystem.max_size_mb"), out);
            assertTrue(out.contains("max_size_mb (e.g. 2)"), out);
            byte[] a = Files.readAllBytes(g.ws.resolve("a.bin"));
            byte[] expect = new byte[699_904];
            for (int i = 0; i < expect.length; i++) {
                expect[i] = (byte) (i % 256);
            }
            assertArrayEquals(expect, a, "the earlier file is intact");
            long b = Files.size(g.ws.resolve("b.bin"));
            assertEquals(MB - 699_904, b, "the second file fills exactly up to the limit");
            assertWithinQuotaAndCounted(g);
            assertTrue(g.denials.stream().anyMatch(d -> d.rule().equals("filesystem.max_size_mb")), g::denialText);

            // Deleting gives the bytes back.
            String again = g.run("""
                    import os
                    os.remove('/workspace/a.bin')
                    with open('/workspace/c.bin', 'wb') as f:
                        f.write(b'c' * 600_000)
                    print('c ok')
                    """);
            assertTrue(again.contains("c ok"), again);
            assertWithinQuotaAndCounted(g);
        }
    }

    @Test
    void tmpCountsInTheSameQuota() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            String out = g.run("""
                    import tempfile
                    with tempfile.NamedTemporaryFile('wb', delete=False) as t:
                        t.write(b't' * 800_000)
                    print('tmp', t.name)
                    try:
                        with open('/workspace/w.bin', 'wb') as f:
                            f.write(b'w' * 300_000)
                    except OSError as e:
                        print('full', e.errno)
                    """);
            assertTrue(out.contains("tmp /tmp/"), out);
            assertTrue(out.contains("full 28"), out);
            assertEquals(800_000, Sandboxed.bytesUnder(g.tmp));
            assertWithinQuotaAndCounted(g);
        }
    }

    @Test
    void truncateRewriteAndRenameGiveBytesBack() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            String out = g.run("""
                    import os
                    def w(p, n, mode='wb'):
                        with open(p, mode) as f:
                            f.write(b'z' * n)
                    w('/workspace/a', 900_000)
                    os.truncate('/workspace/a', 100_000)
                    w('/workspace/b', 800_000)                 # fits only because the truncate gave back
                    with open('/workspace/b', 'r+b') as f:
                        f.truncate(0)
                    w('/workspace/b', 800_000)                 # 'wb' of an existing file truncates first
                    w('/workspace/b', 800_000)
                    w('/workspace/c', 100_000)
                    os.replace('/workspace/c', '/workspace/b')  # the replaced 800 kB are given back
                    w('/workspace/d', 700_000)
                    print('sizes', [os.path.getsize('/workspace/' + n) for n in 'abd'])
                    """);
            assertTrue(out.contains("sizes [100000, 100000, 700000]"), out);
            assertWithinQuotaAndCounted(g);
        }
    }

    /** A deleted file that is still open keeps its bytes on disk: it stays counted until closed. */
    @Test
    void aDeletedButOpenFileStaysCounted() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            String out = g.run("""
                    import os
                    with open('/workspace/x', 'wb') as f:
                        f.write(b'x' * 900_000)
                    held = open('/workspace/x', 'rb')
                    os.remove('/workspace/x')
                    try:
                        with open('/workspace/y', 'wb') as f:
                            f.write(b'y' * 500_000)
                        print('WROTE while held')
                    except OSError as e:
                        print('full while held', e.errno)
                    """);
            assertTrue(out.contains("full while held 28"), out);
            // the unlinked inode still holds 900,000 bytes on the host: y got at most the rest
            assertTrue(Files.size(g.ws.resolve("y")) <= MB - 900_000, "y " + Files.size(g.ws.resolve("y")));
            String after = g.run("""
                    held.close()
                    with open('/workspace/y', 'wb') as f:
                        f.write(b'y' * 500_000)
                    print('wrote after close')
                    """);
            assertTrue(after.contains("wrote after close"), after);
            assertWithinQuotaAndCounted(g);
        }
    }

    @Test
    void sparseWritesCountTheirLogicalSize() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            String out = g.run("""
                    with open('/workspace/s', 'wb') as f:
                        f.seek(50 * 1024 * 1024)
                        try:
                            f.write(b'!')
                            f.flush()
                            print('WROTE')
                        except OSError as e:
                            print('full', e.errno)
                    """);
            assertTrue(out.contains("full 28"), out);
            assertTrue(Files.size(g.ws.resolve("s")) <= MB);
            assertWithinQuotaAndCounted(g);
        }
    }

    @Test
    void copiesAreWithinTheQuota() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            String out = g.run("""
                    import shutil
                    with open('/workspace/src', 'wb') as f:
                        f.write(b's' * 600_000)
                    try:
                        shutil.copy('/workspace/src', '/workspace/dst')
                        print('COPIED')
                    except OSError as e:
                        print('full', e.errno)
                    """);
            assertTrue(out.contains("full 28"), out);
            assertEquals(600_000, Files.size(g.ws.resolve("src")));
            assertWithinQuotaAndCounted(g);
        }
    }

    @Test
    void concurrentGuestThreadsStayWithinTheQuota() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            String out = g.run("""
                    import threading, os
                    errors = []
                    shared = open('/workspace/shared', 'ab')
                    def work(i):
                        try:
                            with open('/workspace/own%d' % i, 'wb') as f:
                                while True:
                                    f.write(b'o' * 10_000)
                                    f.flush()
                                    shared.write(b's' * 7_000)
                                    shared.flush()
                        except OSError as e:
                            errors.append(e.errno)
                    ts = [threading.Thread(target=work, args=(i,)) for i in range(6)]
                    for t in ts: t.start()
                    for t in ts: t.join()
                    try:
                        shared.close()
                    except OSError:
                        pass
                    print('errors', sorted(set(errors)), len(errors))
                    """);
            assertTrue(out.contains("errors [28] 6"), out);
            long disk = onDisk(g);
            assertTrue(disk <= MB && disk > MB - 20_000, "disk " + disk);
            assertWithinQuotaAndCounted(g);
        }
    }

    @Test
    void rescanCountsWhatTheHostChanged() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB)) {
            assertEquals(0, g.fs.usedBytes());
            Files.write(g.ws.resolve("uploads/data.csv"), new byte[500_000]);
            Files.write(g.tmp.resolve("left.bin"), new byte[100_000]);
            g.fs.rescan();
            assertEquals(600_000, g.fs.usedBytes());
            String out = g.run("""
                    try:
                        with open('/workspace/big', 'wb') as f:
                            f.write(b'b' * 500_000)
                    except OSError as e:
                        print('full', e.errno)
                    """);
            assertTrue(out.contains("full 28"), out);
            assertWithinQuotaAndCounted(g);
            assertFalse(g.fs.usedBytes() > MB);
        }
    }

    /** Files present when the session starts count from the start. */
    @Test
    void existingFilesAreCountedAtCreation() throws Exception {
        try (Sandboxed g = new Sandboxed(dirs.fresh(), ONE_MB, java.util.List.of(), java.util.List.of(), s -> {
            try {
                Files.write(s.ws.resolve("pre.bin"), new byte[300_000]);
                Files.createDirectories(s.ws.resolve("deep/er"));
                Files.write(s.ws.resolve("deep/er/x.bin"), new byte[200_000]);
                Files.createSymbolicLink(s.ws.resolve("link"), s.outside.resolve("existing.txt"));
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        })) {
            assertEquals(500_000, g.fs.usedBytes(), "links are not followed when counting");
        }
    }
}
