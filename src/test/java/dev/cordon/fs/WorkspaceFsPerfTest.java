package dev.cordon.fs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.FilesystemPolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Value;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.IOAccess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the gate costs on the hot paths, next to the polyglot default filesystem on the same files
 * in the same run (medians of several rounds). The bound asserted is loose (a shared 2-core
 * machine); the printed figures are what docs/filesystem.md reports.
 */
class WorkspaceFsPerfTest {

    @RegisterExtension
    final TestDirs dirs = new TestDirs();

    private interface Op {
        void run() throws IOException;
    }

    private static double nanosPerOp(Op op, int n) throws IOException {
        double[] rounds = new double[7];
        for (int r = 0; r < rounds.length; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                op.run();
            }
            rounds[r] = (System.nanoTime() - t0) / (double) n;
        }
        Arrays.sort(rounds);
        return rounds[rounds.length / 2];
    }

    private static void readAll(FileSystem fs, Path p, ByteBuffer buf) throws IOException {
        try (SeekableByteChannel c = fs.newByteChannel(p, Set.of(StandardOpenOption.READ))) {
            buf.clear();
            while (c.read(buf) > 0) {
                buf.clear();
            }
        }
    }

    @Test
    void gateOverheadIsMicroseconds() throws Exception {
        Path base = dirs.fresh();
        try (WorkspaceFileSystem ws = WorkspaceFileSystem.create(
                new WorkspaceLayout(FilesystemPolicy.DEFAULT, base.resolve("ws"), base.resolve("tmp")), d -> { })) {
            Path host = base.resolve("ws/small.txt");
            Files.writeString(host, "x".repeat(200));
            Path guest = Path.of("/workspace/small.txt");
            FileSystem plain = FileSystem.newDefaultFileSystem();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            Set<StandardOpenOption> write = EnumSet.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            ByteBuffer data = ByteBuffer.wrap(new byte[100]);
            for (int i = 0; i < 3; i++) { // warm-up
                nanosPerOp(() -> readAll(plain, host, buf), 20_000);
                nanosPerOp(() -> readAll(ws, guest, buf), 20_000);
            }
            double plainRead = nanosPerOp(() -> readAll(plain, host, buf), 20_000);
            double gateRead = nanosPerOp(() -> readAll(ws, guest, buf), 20_000);
            double plainStat = nanosPerOp(() -> plain.readAttributes(host, "unix:mode,ino,dev,nlink,uid,gid,size,ctime"), 20_000);
            double gateStat = nanosPerOp(() -> ws.readAttributes(guest, "unix:mode,ino,dev,nlink,uid,gid,size,ctime"), 20_000);
            Path hostW = base.resolve("ws/w.txt");
            Path guestW = Path.of("/workspace/w.txt");
            double plainWrite = nanosPerOp(() -> {
                try (SeekableByteChannel c = plain.newByteChannel(hostW, write)) {
                    c.write(data.clear());
                }
            }, 10_000);
            double gateWrite = nanosPerOp(() -> {
                try (SeekableByteChannel c = ws.newByteChannel(guestW, write)) {
                    c.write(data.clear());
                }
            }, 10_000);
            double gateDenied = nanosPerOp(() -> {
                try {
                    ws.readAttributes(Path.of("/workspace/missing"), "size");
                } catch (java.nio.file.NoSuchFileException e) {
                    // the common miss of import probing
                }
            }, 20_000);
            String report = String.format(Locale.ROOT,
                    "open+read 200 B+close: default %.1f us, gate %.1f us (+%.1f)%n"
                            + "stat (unix view):     default %.1f us, gate %.1f us (+%.1f)%n"
                            + "create/truncate+write 100 B+close: default %.1f us, gate %.1f us (+%.1f)%n"
                            + "stat of a missing workspace file: gate %.1f us",
                    plainRead / 1e3, gateRead / 1e3, (gateRead - plainRead) / 1e3,
                    plainStat / 1e3, gateStat / 1e3, (gateStat - plainStat) / 1e3,
                    plainWrite / 1e3, gateWrite / 1e3, (gateWrite - plainWrite) / 1e3, gateDenied / 1e3);
            System.out.println(report);
            assertTrue(gateRead - plainRead < 50_000, report);
        }
    }

    /** The same comparison as guest code sees it: a Python loop of open+read. */
    @Test
    void guestOpenReadLoop() throws Exception {
        Path base = dirs.fresh();
        Path host = Files.createDirectories(base.resolve("ws"));
        Files.writeString(host.resolve("small.txt"), "x".repeat(200));
        String loop = """
                def bench(p, n):
                    import time
                    for _ in range(2000):
                        with open(p) as f: f.read()
                    best = None
                    for _ in range(5):
                        t0 = time.perf_counter_ns()
                        for _ in range(n):
                            with open(p) as f: f.read()
                        dt = (time.perf_counter_ns() - t0) / n
                        best = dt if best is None or dt < best else best
                    return best
                bench
                """;
        double plain;
        try (Context c = Context.newBuilder("python").engine(SharedEngine.get().engine())
                .allowIO(IOAccess.newBuilder().fileSystem(FileSystem.newDefaultFileSystem()).build())
                .allowHostAccess(org.graalvm.polyglot.HostAccess.NONE)
                .option("python.PosixModuleBackend", "java").build()) {
            Value bench = c.eval("python", loop);
            plain = bench.execute(host.resolve("small.txt").toString(), 5000).asDouble();
        }
        double gated;
        try (WorkspaceFileSystem fs = WorkspaceFileSystem.create(
                new WorkspaceLayout(FilesystemPolicy.DEFAULT, host, base.resolve("tmp")), d -> { });
                Context c = Context.newBuilder("python").engine(SharedEngine.get().engine())
                        .allowIO(IOAccess.newBuilder().fileSystem(fs).build())
                        .allowHostAccess(org.graalvm.polyglot.HostAccess.NONE)
                .option("python.PosixModuleBackend", "java").build()) {
            Value bench = c.eval("python", loop);
            gated = bench.execute("/workspace/small.txt", 5000).asDouble();
        }
        String report = String.format(Locale.ROOT, "guest open+read+close: default FS %.1f us, gate %.1f us (+%.1f)",
                plain / 1e3, gated / 1e3, (gated - plain) / 1e3);
        System.out.println(report);
        assertTrue(gated - plain < 100_000, report);
    }
}
