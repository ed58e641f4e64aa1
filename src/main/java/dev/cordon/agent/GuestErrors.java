package dev.cordon.agent;

import java.nio.file.FileSystemException;

/**
 * How a gate's denial becomes a Python exception: an {@link java.io.IOException} carrying the errno
 * and Cordon's message, mapped by {@link GuestErrnoAdvice} (when the agent is installed) to the
 * matching {@code OSError} subclass.
 */
public final class GuestErrors {

    /** Prefix of {@link FileSystemException#getFile()} that marks a Cordon denial; the errno follows. */
    public static final String MARKER = "cordon:errno=";

    public static final int EPERM = 1;
    public static final int EACCES = 13;
    public static final int EROFS = 30;
    public static final int ENOSPC = 28;
    public static final int EAGAIN = 11;

    /** How long a process gate's message waits for the {@code os.strerror} call of the same failure. */
    private static final long PENDING_NANOS = 2_000_000_000L;

    private record Pending(int errno, String message, long at) { }

    private static final ThreadLocal<Pending> PENDING = new ThreadLocal<>();

    private GuestErrors() { }

    /**
     * The exception a process gate throws for a refused start. Like {@link #exception}, and also
     * remembered on this thread so that the {@code os.strerror(errno)} with which CPython's
     * {@code subprocess} rebuilds the error returns Cordon's message instead of the stock text
     * (see {@link StrerrorAdvice}). Forgotten after the next such call or after 2 s.
     */
    public static FileSystemException processDenied(int errno, String message) {
        PENDING.set(new Pending(errno, message, System.nanoTime()));
        return exception(errno, message);
    }

    /** The message a process gate left for {@code strerror(errno)} on this thread, once, or null (public: called from GraalPy's class). */
    @com.oracle.truffle.api.CompilerDirectives.TruffleBoundary
    public static com.oracle.truffle.api.strings.TruffleString takePending(int errno) {
        Pending p = PENDING.get();
        if (p == null || p.errno() != errno) {
            return null;
        }
        PENDING.remove();
        if (System.nanoTime() - p.at() > PENDING_NANOS) {
            return null;
        }
        return com.oracle.truffle.api.strings.TruffleString.fromJavaStringUncached(p.message(),
                com.oracle.truffle.api.strings.TruffleString.Encoding.UTF_8);
    }

    /**
     * An exception that GraalPy raises in the guest as {@code OSError(errno, message)}, e.g.
     * {@code PermissionError} for {@link #EACCES}.
     */
    public static FileSystemException exception(int errno, String message) {
        return new FileSystemException(MARKER + errno, null, message);
    }
}
