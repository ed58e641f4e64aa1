package dev.cordon.audit;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
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
 * <p>Linux x86_64/aarch64 only, like the filesystem gate (which refuses to start elsewhere).
 */
public final class HostAppend {

    private static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final int AT_FDCWD = -100;
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int O_WRONLY = 1;
    private static final int O_CREAT = 0100;
    private static final int O_NOCTTY = 0400;
    private static final int O_APPEND = 02000;
    private static final int O_NONBLOCK = 04000;
    private static final int O_DIRECTORY = AARCH64 ? 040000 : 0200000;
    private static final int O_NOFOLLOW = AARCH64 ? 0100000 : 0400000;
    private static final int O_CLOEXEC = 02000000;
    private static final int O_PATH = 010000000;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final long RESOLVE_NO_SYMLINKS = 0x04;
    private static final long RESOLVE_BENEATH = 0x08;
    private static final long SYS_OPENAT2 = 437; // same on x86_64 and aarch64
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int ENOENT = 2;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int EEXIST = 17;
    private static final int STATX_TYPE = 0x1;
    /** {@code stx_mode} offset in {@code struct statx} (u32 mask, u32 blksize, u64 attributes, u32 nlink, uid, gid). */
    private static final long STX_MODE = 28;

    private static final MethodHandle SYSCALL4;
    private static final MethodHandle CLOSE;
    private static final MethodHandle WRITE;
    private static final MethodHandle STATX;
    private static final MethodHandle MKDIRAT;
    private static final VarHandle ERRNO;
    private static final long CAPTURE_SIZE;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        MemoryLayout state = Linker.Option.captureStateLayout();
        ERRNO = state.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        CAPTURE_SIZE = state.byteSize();
        ValueLayout i = ValueLayout.JAVA_INT;
        ValueLayout l = ValueLayout.JAVA_LONG;
        ValueLayout a = ValueLayout.ADDRESS;
        SYSCALL4 = linker.downcallHandle(libc.find("syscall").orElseThrow(),
                FunctionDescriptor.of(l, l, l, a, a, l), Linker.Option.firstVariadicArg(1), errno);
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(i, i));
        WRITE = linker.downcallHandle(libc.find("write").orElseThrow(), FunctionDescriptor.of(l, i, a, l), errno);
        STATX = linker.downcallHandle(libc.find("statx").orElseThrow(), FunctionDescriptor.of(i, i, a, i, i, a), errno);
        MKDIRAT = linker.downcallHandle(libc.find("mkdirat").orElseThrow(), FunctionDescriptor.of(i, i, a, i), errno);
    }

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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(CAPTURE_SIZE, 8);
            int dir = openat2(arena, st, AT_FDCWD, root.toString(), O_PATH | O_DIRECTORY, 0, 0, root);
            try {
                for (int k = 0; k < parts.size() - 1; k++) {
                    String name = parts.get(k);
                    int next;
                    try {
                        next = beneath(arena, st, dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, root);
                    } catch (Errno e) {
                        if (e.errno != ENOENT) {
                            throw e;
                        }
                        mkdirat(arena, st, dir, name, root);
                        next = beneath(arena, st, dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, root);
                    }
                    close(dir);
                    dir = next;
                }
                int fd = beneath(arena, st, dir, parts.getLast(),
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0644, root);
                try {
                    MemorySegment sx = arena.allocate(256, 8);
                    int r = (int) STATX.invokeExact(st, fd, arena.allocateFrom(""), AT_EMPTY_PATH, STATX_TYPE, sx);
                    if (r != 0) {
                        throw new Errno(errno(st), "statx", root.resolve(rel));
                    }
                    int mode = Short.toUnsignedInt(sx.get(ValueLayout.JAVA_SHORT, STX_MODE));
                    if ((mode & S_IFMT) != S_IFREG) {
                        throw new IOException(root.resolve(rel) + " is not a regular file (mode 0"
                                + Integer.toOctalString(mode) + "); not writing an audit line into it");
                    }
                    MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, bytes);
                    long off = 0;
                    while (off < bytes.length) {
                        long n = (long) WRITE.invokeExact(st, fd, buf.asSlice(off), (long) bytes.length - off);
                        if (n < 0) {
                            int e = errno(st);
                            if (e == EINTR) {
                                continue;
                            }
                            throw new Errno(e, "write", root.resolve(rel));
                        }
                        off += n;
                    }
                } finally {
                    close(fd);
                }
            } finally {
                close(dir);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("cannot append to " + root.resolve(rel) + ": " + t, t);
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

    private static int beneath(Arena arena, MemorySegment st, int dir, String name, int flags, int mode, Path root)
            throws Throwable {
        return openat2(arena, st, dir, name, flags, mode, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                root);
    }

    private static int openat2(Arena arena, MemorySegment st, int dir, String path, int flags, int mode, long resolve,
            Path root) throws Throwable {
        MemorySegment p = arena.allocateFrom(path, StandardCharsets.UTF_8);
        MemorySegment how = arena.allocate(24, 8);
        how.set(ValueLayout.JAVA_LONG, 0, Integer.toUnsignedLong(flags | O_CLOEXEC));
        how.set(ValueLayout.JAVA_LONG, 8, (flags & O_CREAT) != 0 ? mode : 0);
        how.set(ValueLayout.JAVA_LONG, 16, resolve);
        for (int attempt = 0; ; attempt++) {
            long r = (long) SYSCALL4.invokeExact(st, SYS_OPENAT2, (long) dir, p, how, 24L);
            if (r >= 0) {
                return (int) r;
            }
            int e = errno(st);
            // EAGAIN: RESOLVE_BENEATH raced with a rename; the kernel asks for a retry.
            if ((e == EAGAIN || e == EINTR) && attempt < 100) {
                continue;
            }
            throw new Errno(e, "open", root.resolve(path));
        }
    }

    private static void mkdirat(Arena arena, MemorySegment st, int dir, String name, Path root) throws Throwable {
        int r = (int) MKDIRAT.invokeExact(st, dir, arena.allocateFrom(name, StandardCharsets.UTF_8), 0755);
        if (r != 0 && errno(st) != EEXIST) {
            throw new Errno(errno(st), "mkdir", root.resolve(name));
        }
    }

    private static void close(int fd) throws Throwable {
        if (fd >= 0) {
            int ignored = (int) CLOSE.invokeExact(fd);
        }
    }

    private static int errno(MemorySegment st) {
        return (int) ERRNO.get(st, 0L);
    }

    /** A failed call, with the errno's usual meaning for the common refusals. */
    static final class Errno extends IOException {
        private static final long serialVersionUID = 1L;
        final int errno;

        Errno(int errno, String op, Path where) {
            super(op + " " + where + ": " + describe(errno));
            this.errno = errno;
        }

        private static String describe(int errno) {
            return switch (errno) {
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
        }
    }
}
