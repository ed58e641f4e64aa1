package dev.cordon.agent;

import com.oracle.graal.python.builtins.objects.exception.OSErrorEnum;
import com.oracle.truffle.api.strings.TruffleString;
import java.nio.file.FileSystemException;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into GraalPy's {@code OSErrorEnum.fromException}, which turns a Java exception from the
 * polyglot {@code FileSystem} or a socket into Python's errno and message. GraalPy keeps a custom
 * message only as {@code [Errno 5]} (EIO) and maps {@code AccessDeniedException} to a fixed
 * "Permission denied": neither lets a denial say what was blocked and how to allow it.
 *
 * <p>A gate marks its exception with {@link GuestErrors#MARKER} in {@link FileSystemException#getFile()}
 * (JDK types only, so hooks in the bootstrap class loader can do it too); this advice maps it to the
 * errno it names and keeps the message. Without the agent the same exception still denies the
 * operation; the guest then sees {@code OSError(EIO, message)}. The advice references only JDK and
 * GraalPy types because it runs inside GraalPy's class.
 */
final class GuestErrnoAdvice {

    static final String TARGET = "com.oracle.graal.python.builtins.objects.exception.OSErrorEnum";

    private GuestErrnoAdvice() { }

    @Advice.OnMethodExit
    static void exit(@Advice.Argument(0) Exception e,
            @Advice.Return(readOnly = false) OSErrorEnum.ErrorAndMessagePair result) {
        if (e instanceof FileSystemException f && f.getFile() != null && f.getFile().startsWith("cordon:errno=")) {
            OSErrorEnum errno = OSErrorEnum.fromNumber(Integer.parseInt(f.getFile().substring(13)));
            if (errno != null) {
                result = new OSErrorEnum.ErrorAndMessagePair(errno,
                        TruffleString.fromJavaStringUncached(f.getReason(), TruffleString.Encoding.UTF_8));
            }
        }
    }
}
