package dev.cordon;

import dev.cordon.policy.FilesystemPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The host side of a session's workspace: maps the policy's guest paths ({@code /workspace/...}) to
 * the host directory, creates the upload and output dirs, lists outputs. Never follows links.
 */
final class Workspace {

    private final FilesystemPolicy fs;
    private final Path host;

    Workspace(FilesystemPolicy fs, Path host) {
        this.fs = fs;
        this.host = host.toAbsolutePath().normalize();
    }

    Path host() {
        return host;
    }

    /** The host path of a guest path inside the workspace, or null if it lies outside. */
    Path toHost(String guestPath) {
        Path g = Path.of(guestPath).normalize();
        Path root = Path.of(fs.workspaceDir());
        if (!g.startsWith(root)) {
            return null;
        }
        return host.resolve(root.relativize(g).toString()).normalize();
    }

    String toGuest(Path hostPath) {
        Path rel = host.relativize(hostPath.toAbsolutePath().normalize());
        return Path.of(fs.workspaceDir()).resolve(rel.toString()).toString();
    }

    void create() {
        try {
            Files.createDirectories(host);
            Files.createDirectories(toHost(fs.uploadDir()));
            Files.createDirectories(toHost(fs.outputDir()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the workspace at " + host, e);
        }
    }

    /** Files (not links) under the output dir, sorted by path. */
    List<ExecResult.Output> outputs() {
        Path out = toHost(fs.outputDir());
        List<ExecResult.Output> list = new ArrayList<>();
        if (out == null || !Files.isDirectory(out, LinkOption.NOFOLLOW_LINKS)) {
            return list;
        }
        try {
            Files.walkFileTree(out, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile()) {
                        list.add(new ExecResult.Output(toGuest(file), attrs.size()));
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // A listing error must not lose the call's result; report what was found.
        }
        list.sort(Comparator.comparing(ExecResult.Output::path));
        return list;
    }

    /** Copies a host file into the upload dir (as the caller, not the guest: uploads are trusted input). */
    Path upload(Path file, String name) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return write(name, in);
        }
    }

    Path upload(String name, byte[] content) throws IOException {
        return write(name, new java.io.ByteArrayInputStream(content));
    }

    /**
     * Writes an upload without following links: sandboxed processes share this tree and may have
     * left a symlink where the upload dir or the file should be. The dir must be a real directory
     * (the filesystem gate's rescan restores it), an existing entry is unlinked, and the file is
     * created with O_EXCL, which never follows a link.
     */
    private Path write(String name, java.io.InputStream content) throws IOException {
        if (name.contains("/") || name.equals("..") || name.equals(".") || name.isEmpty() || name.indexOf(0) >= 0) {
            throw new IllegalArgumentException("upload name must be a plain file name: " + name);
        }
        Path dir = toHost(fs.uploadDir());
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(dir);
            Files.createDirectories(dir);
        }
        Path dest = dir.resolve(name);
        Files.deleteIfExists(dest);
        try (java.io.OutputStream out = Files.newOutputStream(dest, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            content.transferTo(out);
        }
        return dest;
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort: a leftover temp file is not worth failing the close for
                }
            });
        } catch (IOException e) {
            // same
        }
    }
}
