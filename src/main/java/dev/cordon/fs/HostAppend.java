package dev.cordon.fs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Appends bytes to a file that lies inside a session's workspace, as the host, without ever
 * following a link and without ever blocking on a special file.
 *
 * <p>Why not {@code Files.write(path, APPEND)}: guest code in the native tier (a sandboxed
 * subprocess, or the native engine) writes the workspace directly, not through the filesystem
 * gate. Between two audit lines it can replace a directory on the log's path with a symbolic link
 * to any host file the JVM's user may write (the host would then append guest-chosen text such as
 * a denied path to, say, {@code ~/.bashrc}), or replace the log with a FIFO (the host's
 * {@code open} would block forever). Here the kernel resolves the path from a descriptor of the
 * workspace root with {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)}, the file is opened
 * {@code O_NOFOLLOW | O_NONBLOCK}, and anything but a regular file is refused before a byte is
 * written. Missing directories on the way are made with {@code mkdirat} relative to the parent's
 * descriptor. Each append opens and closes the file (~10-20 µs): audit lines are rare, and holding
 * a descriptor would keep writing into a file the guest may have unlinked.
 *
 * <p>Linux x86_64/aarch64 only, on the filesystem gate's system calls ({@link Sys}).
 */
public final class HostAppend {

    private static final int DIR = Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_NOFOLLOW;
    private static final long BENEATH = Sys.RESOLVE_BENEATH | Sys.RESOLVE_NO_SYMLINKS | Sys.RESOLVE_NO_MAGICLINKS;

    private HostAppend() { }

    /**
     * Appends {@code bytes} to {@code root/rel}, creating the file (0644) and missing directories
     * (0755) beneath {@code root}.
     *
     * @param root the host directory of the workspace (trusted: made by the host)
     * @param rel  a relative path with no {@code .}, {@code ..} or empty components
     * @throws IOException naming what refused: a link, a special file, a path that leaves {@code root}
     */
    public static void append(Path root, String rel, byte[] bytes) throws IOException {
        List<String> parts = split(rel);
        Path where = root.resolve(rel);
        try {
            append(root, parts, where, bytes);
        } catch (RuntimeException | LinkageError e) {
            // The system calls themselves failed to run (no FFM access, not Linux): still an I/O failure.
            throw new IOException("cannot append to " + where + ": " + e, e);
        }
    }

    private static void append(Path root, List<String> parts, Path where, byte[] bytes) throws IOException {
        int dir = call("open", root, () -> Sys.openat2(Sys.AT_FDCWD, root.toString(), Sys.O_PATH | Sys.O_DIRECTORY, 0, 0));
        try {
            for (int k = 0; k < parts.size() - 1; k++) {
                String name = parts.get(k);
                int parent = dir;
                Path at = root.resolve(name);
                int next;
                try {
                    next = Sys.openat2(parent, name, DIR, 0, BENEATH);
                } catch (Sys.Errno e) {
                    if (e.errno != Sys.ENOENT) {
                        throw failure("open", at, e.errno);
                    }
                    try {
                        Sys.mkdirat(parent, name, 0755);
                    } catch (Sys.Errno m) {
                        if (m.errno != Sys.EEXIST) {
                            throw failure("mkdir", at, m.errno);
                        }
                    }
                    next = call("open", at, () -> Sys.openat2(parent, name, DIR, 0, BENEATH));
                }
                Sys.close(dir);
                dir = next;
            }
            int parent = dir;
            int fd = call("open", where, () -> Sys.openat2(parent, parts.getLast(),
                    Sys.O_WRONLY | Sys.O_APPEND | Sys.O_CREAT | Sys.O_NOFOLLOW | Sys.O_NONBLOCK | Sys.O_NOCTTY, 0644, BENEATH));
            try {
                Stat st = call("statx", where, () -> Sys.fstat(fd));
                if (!st.isRegularFile()) {
                    throw new IOException(where + " is not a regular file (mode 0" + Integer.toOctalString(st.mode())
                            + "); not writing an audit line into it");
                }
                call("write", where, () -> {
                    Sys.write(fd, bytes);
                    return 0;
                });
            } finally {
                Sys.close(fd);
            }
        } finally {
            Sys.close(dir);
        }
    }

    /** The components of {@code rel}; refuses absolute paths, {@code .}, {@code ..} and empty names. */
    static List<String> split(String rel) throws IOException {
        List<String> parts = new ArrayList<>();
        for (String s : rel.split("/", -1)) {
            if (s.isEmpty() || s.equals(".") || s.equals("..")) {
                throw new IOException("not a plain relative path beneath the workspace: " + rel);
            }
            parts.add(s);
        }
        return parts;
    }

    private interface SysCall<T> {
        T run() throws Sys.Errno;
    }

    private static <T> T call(String op, Path where, SysCall<T> c) throws IOException {
        try {
            return c.run();
        } catch (Sys.Errno e) {
            throw failure(op, where, e.errno);
        }
    }

    /** A failed call, with the errno's usual meaning for the common refusals. */
    private static IOException failure(String op, Path where, int errno) {
        String why = switch (errno) {
            case 2 -> "no such file or directory";
            case 6 -> "not a regular file (a FIFO or device: ENXIO)";
            case 13 -> "permission denied";
            case 18 -> "the path leaves the workspace (EXDEV)";
            case 20 -> "a component is not a directory (a symbolic link planted on the path is refused so)";
            case 21 -> "is a directory";
            case 28 -> "no space left on device";
            case 40 -> "a symbolic link is on the path (ELOOP); the host never follows links into its logs";
            default -> "errno " + errno;
        };
        return new IOException(op + " " + where + ": " + why);
    }
}
