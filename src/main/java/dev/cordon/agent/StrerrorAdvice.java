package dev.cordon.agent;

import com.oracle.truffle.api.strings.TruffleString;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into GraalPy's {@code os.strerror} ({@code PosixModuleBuiltins$StrErrorNode.getStrError}).
 * CPython's {@code subprocess} turns a failed start into {@code OSError(errno, os.strerror(errno),
 * executable)}, so a process gate's actionable message would be replaced by "Permission denied".
 * When a process gate refused a start on this thread a moment ago, it left its message behind
 * ({@link GuestErrors#processDenied}); {@code strerror} of that errno on the same thread returns it
 * once. The guest then sees {@code PermissionError: [Errno 13] Cordon blocked subprocess exec wget:
 * ... To allow it: ...}.
 */
final class StrerrorAdvice {

    static final String TARGET = "com.oracle.graal.python.builtins.modules.PosixModuleBuiltins$StrErrorNode";

    private StrerrorAdvice() { }

    @Advice.OnMethodExit
    static void exit(@Advice.Argument(0) int code, @Advice.Return(readOnly = false) TruffleString result) {
        TruffleString pending = GuestErrors.takePending(code);
        if (pending != null) {
            result = pending;
        }
    }
}
