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

    private GuestErrors() { }

    /**
     * An exception that GraalPy raises in the guest as {@code OSError(errno, message)}, e.g.
     * {@code PermissionError} for {@link #EACCES}.
     */
    public static FileSystemException exception(int errno, String message) {
        return new FileSystemException(MARKER + errno, null, message);
    }
}
