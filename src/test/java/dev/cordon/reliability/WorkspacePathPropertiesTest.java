package dev.cordon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.fs.WorkspaceFileSystem;
import dev.cordon.fs.WorkspaceLayout;
import dev.cordon.policy.FilesystemPolicy;
import org.junit.jupiter.api.Test;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessMode;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Property test of workspace path resolution ({@link WorkspaceFileSystem}, the filesystem gate),
 * through its public polyglot {@code FileSystem} API: random sequences of guest operations on
 * random guest paths — {@code ..}, {@code .}, empty segments, relative paths after a {@code chdir},
 * the host's own paths, {@code /proc} magic links, symlinks planted by the host that point out
 * (absolute, relative, to a file, to {@code /etc}), symlinks and renames made by the guest — must
 * never read the canary outside the workspace, never change anything outside the workspace and
 * {@code /tmp}, and fail only with the exceptions the polyglot contract allows.
 */
class WorkspacePathPropertiesTest {

    static final String CANARY = "CANARY-" + "7f3e9a1c".repeat(8);

    static final List<String> SEGMENTS = List.of("workspace", "tmp", "uploads", "outputs", "evil-abs", "evil-rel",
            "evil-file", "etc", "chain", "..", ".", "", "a", "b", "secret.txt", "outside", "passwd", "self", "root",
            "fd", "proc", "dev");

    record Op(int kind, String p1, String p2) { }

    static String guestPath(Random r) {
        String rel = String.join("/", Props.listOf(r, 1, 6, x -> Props.pick(x, SEGMENTS)));
        return switch (r.nextInt(5)) {
            case 0 -> "/" + rel;
            case 1 -> rel;
            case 2 -> "/workspace/" + rel;
            case 3 -> "/tmp/" + rel;
            default -> Props.pick(r, "/proc/self/root/etc/passwd", "/proc/self/cwd", "/dev/fd/3", "/proc/self/fd/3", "HOST_OUTSIDE",
                    "HOST_OUTSIDE/secret.txt", "HOST_WS/../outside/secret.txt", "/workspace/uploads/evil-abs/secret.txt",
                    "/workspace/uploads/evil-rel/secret.txt", "/workspace/uploads/evil-file",
                    "/workspace/uploads/chain/secret.txt", "/tmp/evil", "//workspace//uploads/../../tmp/../workspace/a",
                    "/workspace/uploads/etc/passwd", "../outside/secret.txt", "../../etc/passwd");
        };
    }

    static List<Op> ops(Random r) {
        return Props.listOf(r, 1, 25, x -> new Op(x.nextInt(14), guestPath(x), guestPath(x)));
    }

    @Test
    void guestPathsNeverLeadOut() {
        Props.forAll("guest paths", 400, WorkspacePathPropertiesTest::ops, ops -> {
            try {
                run(ops);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    static void run(List<Op> ops) throws IOException {
        Path base = Files.createTempDirectory("cordon-pathprop-");
        try {
            Path ws = Files.createDirectories(base.resolve("ws"));
            Path tmp = Files.createDirectories(base.resolve("tmp"));
            Path outside = Files.createDirectories(base.resolve("outside"));
            Files.writeString(outside.resolve("secret.txt"), CANARY);
            Files.createDirectories(outside.resolve("dir"));
            Files.writeString(outside.resolve("dir/secret.txt"), CANARY);
            Path uploads = Files.createDirectories(ws.resolve("uploads"));
            // Guest reads through these links are what must fail; the links themselves are
            // workspace entries the guest may rename or delete.
            // Links planted by the host (an upload unpacked with links in it, or another tier's doing).
            Files.createSymbolicLink(uploads.resolve("evil-abs"), outside);
            Files.createSymbolicLink(uploads.resolve("evil-rel"), Path.of("../../outside"));
            Files.createSymbolicLink(uploads.resolve("evil-file"), outside.resolve("secret.txt"));
            Files.createSymbolicLink(uploads.resolve("etc"), Path.of("/etc"));
            Files.createSymbolicLink(uploads.resolve("chain"), Path.of("evil-rel"));
            Files.createSymbolicLink(tmp.resolve("evil"), Path.of("../outside/secret.txt"));
            Map<String, String> before = snapshot(base, ws, tmp);

            try (WorkspaceFileSystem fs = WorkspaceFileSystem.create(new WorkspaceLayout(FilesystemPolicy.DEFAULT, ws, tmp),
                    d -> { })) {
                int i = 0;
                for (Op op : ops) {
                    String p1 = host(op.p1(), base);
                    String p2 = host(op.p2(), base);
                    apply(fs, op.kind(), p1, p2, i++, base);
                    assertEquals(before, snapshot(base, ws, tmp), () -> "something outside changed after " + op + " in " + ops);
                }
            }
        } finally {
            deleteTree(base);
        }
    }

    static String host(String p, Path base) {
        return p.replace("HOST_OUTSIDE", base.resolve("outside").toString()).replace("HOST_WS", base.resolve("ws").toString());
    }

    /** One guest operation; only the exceptions the polyglot FileSystem contract allows may come out. */
    static void apply(WorkspaceFileSystem fs, int kind, String a, String b, int i, Path base) {
        try {
            Path p = fs.parsePath(a);
            Path q = fs.parsePath(b);
            switch (kind) {
                case 0 -> {
                    try (SeekableByteChannel c = fs.newByteChannel(p, Set.of(StandardOpenOption.READ))) {
                        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                        while (c.read(buf) > 0 && buf.hasRemaining()) {
                            // read it all
                        }
                        String got = new String(buf.array(), 0, buf.position(), StandardCharsets.ISO_8859_1);
                        assertFalse(got.contains("CANARY-"), () -> "read the canary through " + a);
                        assertFalse(got.startsWith("root:x:0:0:"), () -> "read the host's /etc/passwd through " + a);
                    }
                }
                case 1 -> {
                    try (SeekableByteChannel c = fs.newByteChannel(p, Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                            i % 2 == 0 ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND))) {
                        c.write(ByteBuffer.wrap(("guest-" + i).getBytes(StandardCharsets.UTF_8)));
                    }
                }
                case 2 -> fs.createDirectory(p);
                case 3 -> fs.createSymbolicLink(p, q);
                case 4 -> fs.move(p, q, i % 2 == 0 ? new java.nio.file.CopyOption[0]
                        : new java.nio.file.CopyOption[] {StandardCopyOption.REPLACE_EXISTING});
                case 5 -> fs.delete(p);
                case 6 -> {
                    Map<String, Object> attrs = fs.readAttributes(p, "size,isRegularFile");
                    assertFalse(Boolean.TRUE.equals(attrs.get("isRegularFile")) && Long.valueOf(CANARY.length()).equals(attrs.get("size")),
                            () -> "stat followed a link out: " + a);
                }
                case 7 -> {
                    // A guest path comes back (/workspace/..., /tmp/..., the runtime's files), never a
                    // host path of the test's tree or of /etc.
                    Path real = fs.toRealPath(p);
                    assertFalse(real.startsWith(base) || real.startsWith("/etc"), () -> a + " -> " + real);
                }
                case 8 -> {
                    try (DirectoryStream<Path> ds = fs.newDirectoryStream(p, x -> true)) {
                        for (Path e : ds) {
                            assertFalse(e.getFileName() != null && e.getFileName().toString().equals("secret.txt")
                                    && a.contains("evil"), () -> "listed outside through " + a);
                        }
                    }
                }
                case 9 -> fs.copy(p, q);
                case 10 -> {
                    if (p.isAbsolute()) {
                        fs.setCurrentWorkingDirectory(p);
                    }
                }
                case 11 -> fs.createLink(p, q);
                case 12 -> fs.checkAccess(p, Set.of(AccessMode.READ, AccessMode.WRITE));
                default -> fs.readSymbolicLink(p);
            }
        } catch (IOException | SecurityException | UnsupportedOperationException | InvalidPathException e) {
            // refused or failed the way the contract allows
        } catch (RuntimeException e) {
            throw new AssertionError("operation " + kind + " on '" + a + "', '" + b + "' threw " + e, e);
        }
    }

    /** Everything under {@code base} except the workspace and /tmp: names, link targets, contents. */
    static Map<String, String> snapshot(Path base, Path ws, Path tmp) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> all = Files.walk(base)) {
            for (Path p : all.toList()) {
                if (p.startsWith(ws) || p.startsWith(tmp)) {
                    continue;
                }
                String v;
                if (Files.isSymbolicLink(p)) {
                    v = "-> " + Files.readSymbolicLink(p);
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    v = Files.readString(p);
                } else {
                    v = "dir " + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                }
                m.put(base.relativize(p).toString(), v);
            }
        }
        return m;
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            List<Path> l = new ArrayList<>(all.toList());
            java.util.Collections.reverse(l);
            for (Path p : l) {
                Files.deleteIfExists(p);
            }
        }
    }
}
