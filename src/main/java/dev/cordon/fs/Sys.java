package dev.cordon.fs;

import dev.cordon.agent.GuestErrors;
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
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

/**
 * The few Linux system calls the gate needs, called through the JDK's foreign function API.
 *
 * <p>Why these: Java's file API resolves every path from the root on each call and offers
 * {@code NOFOLLOW_LINKS} for the last component only, so any check-then-open leaves a window in
 * which a concurrent writer (another guest thread, or later a native-tier process sharing the
 * workspace) can swap a directory on the path for a symbolic link. {@code openat2(2)} with
 * {@code RESOLVE_BENEATH} (Linux 5.6+) makes the kernel resolve the whole path relative to a
 * directory fd we hold and fail with {@code EXDEV} if any step (a {@code ..}, an absolute or
 * relative symlink) would leave it; {@code RESOLVE_NO_MAGICLINKS} refuses {@code /proc}-style
 * links. Everything else then acts on the fd it returned or on (parent fd, name) pairs.
 *
 * <p>Why FFM and not JNA: the same calls at ~10-30 ns each instead of ~0.3-1 µs, and no struct
 * mapping layer; JNA stays the project's choice where it already is. Without native access this
 * class fails to initialise and the gate refuses to start (fail closed).
 *
 * <p>Constants are those of x86_64 and aarch64 Linux (the {@code O_DIRECTORY}/{@code O_NOFOLLOW}
 * values differ between them); other platforms are refused.
 */
final class Sys {

    static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));

    static final int AT_FDCWD = -100;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;
    static final int AT_REMOVEDIR = 0x200;
    static final int AT_EMPTY_PATH = 0x1000;

    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0100;
    static final int O_EXCL = 0200;
    static final int O_NOCTTY = 0400;
    static final int O_APPEND = 02000;
    static final int O_NONBLOCK = 04000;
    static final int O_DIRECTORY = AARCH64 ? 040000 : 0200000;
    static final int O_NOFOLLOW = AARCH64 ? 0100000 : 0400000;
    static final int O_CLOEXEC = 02000000;
    static final int O_PATH = 010000000;

    static final long RESOLVE_NO_MAGICLINKS = 0x02;
    static final long RESOLVE_NO_SYMLINKS = 0x04;
    static final long RESOLVE_BENEATH = 0x08;

    static final int RENAME_NOREPLACE = 1;

    static final int S_IFMT = 0170000;
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;

    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EEXIST = 17;
    static final int EXDEV = 18;
    static final int ENOTDIR = 20;
    static final int EISDIR = 21;
    static final int EINVAL = 22;
    static final int ENOSYS = 38;
    static final int ENOTEMPTY = 39;
    static final int ELOOP = 40;
    static final int EOPNOTSUPP = 95;

    private static final long SYS_OPENAT2 = 437; // same number on x86_64 and aarch64
    private static final int STATX_BASIC_STATS = 0x7ff;
    private static final int PATH_MAX = 4096;

    private static final MethodHandle SYSCALL4;
    private static final MethodHandle CLOSE;
    private static final MethodHandle STATX;
    private static final MethodHandle MKDIRAT;
    private static final MethodHandle UNLINKAT;
    private static final MethodHandle RENAMEAT2;
    private static final MethodHandle SYMLINKAT;
    private static final MethodHandle READLINKAT;
    private static final MethodHandle WRITE;
    private static final VarHandle ERRNO;
    private static final long CAPTURE_SIZE;

    static {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        if (!os.equals("Linux") || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
            throw new UnsupportedOperationException("Cordon's workspace filesystem needs Linux on x86_64 or aarch64 (found "
                    + os + " " + arch + ")");
        }
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        MemoryLayout state = Linker.Option.captureStateLayout();
        ERRNO = state.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        CAPTURE_SIZE = state.byteSize();
        ValueLayout I = ValueLayout.JAVA_INT;
        ValueLayout L = ValueLayout.JAVA_LONG;
        ValueLayout A = ValueLayout.ADDRESS;
        SYSCALL4 = linker.downcallHandle(libc.find("syscall").orElseThrow(),
                FunctionDescriptor.of(L, L, L, A, A, L), Linker.Option.firstVariadicArg(1), errno);
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(I, I));
        STATX = linker.downcallHandle(libc.find("statx").orElseThrow(), FunctionDescriptor.of(I, I, A, I, I, A), errno);
        MKDIRAT = linker.downcallHandle(libc.find("mkdirat").orElseThrow(), FunctionDescriptor.of(I, I, A, I), errno);
        UNLINKAT = linker.downcallHandle(libc.find("unlinkat").orElseThrow(), FunctionDescriptor.of(I, I, A, I), errno);
        RENAMEAT2 = linker.downcallHandle(libc.find("renameat2").orElseThrow(),
                FunctionDescriptor.of(I, I, A, I, A, I), errno);
        SYMLINKAT = linker.downcallHandle(libc.find("symlinkat").orElseThrow(), FunctionDescriptor.of(I, A, I, A), errno);
        READLINKAT = linker.downcallHandle(libc.find("readlinkat").orElseThrow(),
                FunctionDescriptor.of(L, I, A, A, L), errno);
        WRITE = linker.downcallHandle(libc.find("write").orElseThrow(), FunctionDescriptor.of(L, I, A, L), errno);
    }

    private Sys() { }

    /** Per-thread native scratch memory: no allocation on the hot path. */
    private static final class Scratch {
        final MemorySegment state = Arena.ofAuto().allocate(CAPTURE_SIZE, 8);
        final MemorySegment path1 = Arena.ofAuto().allocate(PATH_MAX + 1, 8);
        final MemorySegment path2 = Arena.ofAuto().allocate(PATH_MAX + 1, 8);
        final MemorySegment how = Arena.ofAuto().allocate(24, 8);
        final MemorySegment statx = Arena.ofAuto().allocate(256, 8);
        final MemorySegment buf = Arena.ofAuto().allocate(PATH_MAX + 1, 8);
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** A failed call: the errno, to be translated by the caller who knows the guest path. */
    static final class Errno extends Exception {
        private static final long serialVersionUID = 1L;
        final int errno;

        Errno(int errno) {
            super(null, null, false, false);
            this.errno = errno;
        }
    }

    private static MemorySegment cstr(MemorySegment seg, String s) throws Errno {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > PATH_MAX) {
            throw new Errno(36); // ENAMETOOLONG
        }
        MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_BYTE, 0, b.length);
        seg.set(ValueLayout.JAVA_BYTE, b.length, (byte) 0);
        return seg;
    }

    private static int errno(Scratch s) {
        return (int) ERRNO.get(s.state, 0L);
    }

    /**
     * {@code openat2(dirfd, path, {flags, mode, resolve})}, retried on {@code EAGAIN} (the kernel
     * returns it for {@code RESOLVE_BENEATH} when a rename raced with the lookup) and {@code EINTR}.
     */
    static int openat2(int dirfd, String path, int flags, int mode, long resolve) throws Errno {
        Scratch s = SCRATCH.get();
        MemorySegment p = cstr(s.path1, path);
        s.how.set(ValueLayout.JAVA_LONG, 0, Integer.toUnsignedLong(flags | O_CLOEXEC));
        s.how.set(ValueLayout.JAVA_LONG, 8, (flags & O_CREAT) != 0 ? mode : 0);
        s.how.set(ValueLayout.JAVA_LONG, 16, resolve);
        for (int attempt = 0; ; attempt++) {
            long r;
            try {
                r = (long) SYSCALL4.invokeExact(s.state, SYS_OPENAT2, (long) dirfd, p, s.how, 24L);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (r >= 0) {
                return (int) r;
            }
            int e = errno(s);
            if ((e == EAGAIN || e == EINTR) && attempt < 1000) {
                if (attempt > 16) {
                    Thread.onSpinWait();
                }
                continue;
            }
            throw new Errno(e);
        }
    }

    static void close(int fd) {
        if (fd < 0) {
            return;
        }
        try {
            int r = (int) CLOSE.invokeExact(fd);
            assert r == 0 || r == -1;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code statx} of the fd itself ({@code AT_EMPTY_PATH}). */
    static Stat fstat(int fd) throws Errno {
        return statx(fd, "", AT_EMPTY_PATH);
    }

    /** {@code statx(dirfd, name, AT_SYMLINK_NOFOLLOW)}: the entry itself, never following a link. */
    static Stat lstatAt(int dirfd, String name) throws Errno {
        return statx(dirfd, name, AT_SYMLINK_NOFOLLOW);
    }

    private static Stat statx(int dirfd, String path, int flags) throws Errno {
        Scratch s = SCRATCH.get();
        MemorySegment p = cstr(s.path1, path);
        int r;
        try {
            r = (int) STATX.invokeExact(s.state, dirfd, p, flags, STATX_BASIC_STATS, s.statx);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r != 0) {
            throw new Errno(errno(s));
        }
        return Stat.of(s.statx);
    }

    static void mkdirat(int dirfd, String name, int mode) throws Errno {
        Scratch s = SCRATCH.get();
        int r;
        try {
            r = (int) MKDIRAT.invokeExact(s.state, dirfd, cstr(s.path1, name), mode);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r != 0) {
            throw new Errno(errno(s));
        }
    }

    static void unlinkat(int dirfd, String name, int flags) throws Errno {
        Scratch s = SCRATCH.get();
        int r;
        try {
            r = (int) UNLINKAT.invokeExact(s.state, dirfd, cstr(s.path1, name), flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r != 0) {
            throw new Errno(errno(s));
        }
    }

    static void renameat2(int olddirfd, String oldname, int newdirfd, String newname, int flags) throws Errno {
        Scratch s = SCRATCH.get();
        int r;
        try {
            r = (int) RENAMEAT2.invokeExact(s.state, olddirfd, cstr(s.path1, oldname), newdirfd, cstr(s.path2, newname), flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r != 0) {
            throw new Errno(errno(s));
        }
    }

    static void symlinkat(String target, int dirfd, String name) throws Errno {
        Scratch s = SCRATCH.get();
        int r;
        try {
            r = (int) SYMLINKAT.invokeExact(s.state, cstr(s.path2, target), dirfd, cstr(s.path1, name));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r != 0) {
            throw new Errno(errno(s));
        }
    }

    /** {@code readlinkat}; with an empty name and an {@code O_PATH|O_NOFOLLOW} fd, reads that link. */
    static String readlinkat(int dirfd, String name) throws Errno {
        Scratch s = SCRATCH.get();
        long n;
        try {
            n = (long) READLINKAT.invokeExact(s.state, dirfd, cstr(s.path1, name), s.buf, (long) PATH_MAX);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (n < 0) {
            throw new Errno(errno(s));
        }
        byte[] b = new byte[(int) n];
        MemorySegment.copy(s.buf, ValueLayout.JAVA_BYTE, 0, b, 0, (int) n);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Writes all of {@code bytes} to {@code fd}, retrying on {@code EINTR} and short writes. */
    static void write(int fd, byte[] bytes) throws Errno {
        Scratch s = SCRATCH.get();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, bytes);
            long off = 0;
            while (off < bytes.length) {
                long n;
                try {
                    n = (long) WRITE.invokeExact(s.state, fd, buf.asSlice(off), (long) bytes.length - off);
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
                if (n < 0) {
                    int e = errno(s);
                    if (e == EINTR) {
                        continue;
                    }
                    throw new Errno(e);
                }
                off += n;
            }
        }
    }

    /** The host path the kernel has for an fd (what {@code /proc/self/fd/N} points at). */
    static String fdPath(int fd) throws Errno {
        return readlinkat(AT_FDCWD, "/proc/self/fd/" + fd);
    }

    /**
     * Checks once that the kernel has {@code openat2} and lets us use it (a container's seccomp
     * profile may refuse it with {@code ENOSYS} or {@code EPERM}).
     */
    static void probe() {
        int fd;
        try {
            fd = openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY, 0, 0);
        } catch (Errno e) {
            throw new UnsupportedOperationException("Cordon's workspace filesystem needs openat2(2) (Linux 5.6 or later, "
                    + "allowed by any seccomp profile around the JVM); it failed with " + strerror(e.errno));
        }
        close(fd);
    }

    /** Python's text for an errno (so GraalPy's message matching maps it even without the agent). */
    static String strerror(int errno) {
        return switch (errno) {
            case 1 -> "Operation not permitted";
            case 2 -> "No such file or directory";
            case 5 -> "Input/output error";
            case 9 -> "Bad file descriptor";
            case 11 -> "Resource temporarily unavailable";
            case 13 -> "Permission denied";
            case 16 -> "Device or resource busy";
            case 17 -> "File exists";
            case 18 -> "Invalid cross-device link";
            case 20 -> "Not a directory";
            case 21 -> "Is a directory";
            case 22 -> "Invalid argument";
            case 23 -> "Too many open files in system";
            case 24 -> "Too many open files";
            case 26 -> "Text file busy";
            case 27 -> "File too large";
            case 28 -> "No space left on device";
            case 30 -> "Read-only file system";
            case 31 -> "Too many links";
            case 36 -> "File name too long";
            case 39 -> "Directory not empty";
            case 40 -> "Too many levels of symbolic links";
            case 95 -> "Operation not supported";
            case 122 -> "Disk quota exceeded";
            default -> String.format(Locale.ROOT, "Unknown error %d", errno);
        };
    }

    /**
     * The Java exception GraalPy turns into the same errno, for an error that is the file
     * system's ordinary answer (not a Cordon denial).
     */
    static IOException toException(int errno, String guestPath) {
        return switch (errno) {
            case ENOENT -> new NoSuchFileException(guestPath);
            case EEXIST -> new FileAlreadyExistsException(guestPath);
            case ENOTDIR -> new NotDirectoryException(guestPath);
            case ENOTEMPTY -> new DirectoryNotEmptyException(guestPath);
            case ELOOP -> new FileSystemLoopException(guestPath);
            case EACCES -> new AccessDeniedException(guestPath);
            default -> GuestErrors.exception(errno, strerror(errno));
        };
    }
}
