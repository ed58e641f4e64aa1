package dev.cordon.agent;

import com.oracle.graal.python.runtime.PosixSupportLibrary.GetAddrInfoException;
import com.oracle.truffle.api.strings.TruffleString;
import dev.cordon.agent.boot.CordonHooks;
import net.bytebuddy.asm.Advice;

/**
 * Inlined into GraalPy's {@code EmulatedPosixSupport.gaiError(int)}, which builds the
 * {@code socket.gaierror} of a failed {@code getaddrinfo}. GraalPy catches only
 * {@code UnknownHostException} from the JDK there and replaces its message with the fixed
 * {@code "Name or service not known"}; when Cordon's resolve hook refused the name on this thread it
 * left its actionable message behind ({@link CordonHooks#pendingGai}), and this advice puts it into
 * the exception the guest sees: {@code socket.gaierror: [Errno -2] Cordon blocked network resolve ...}.
 */
final class GaiMessageAdvice {

    static final String TARGET = "com.oracle.graal.python.runtime.EmulatedPosixSupport";

    private GaiMessageAdvice() { }

    @Advice.OnMethodExit(onThrowable = Throwable.class)
    static void exit(@Advice.Argument(0) int error, @Advice.Thrown(readOnly = false) Throwable thrown) {
        if (thrown instanceof GetAddrInfoException) {
            String message = CordonHooks.takePendingGai();
            if (message != null) {
                thrown = new GetAddrInfoException(error,
                        TruffleString.fromJavaStringUncached(message, TruffleString.Encoding.UTF_8));
            }
        }
    }
}
