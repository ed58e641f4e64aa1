package dev.cordon.graalpy;

import java.io.IOException;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * The context's process handler, bound to its session's process gate with the session. Process
 * creation stays enabled on the context (without it {@code os.system} is an uncatchable internal
 * error, DESIGN.md section 3) and every start is decided here.
 */
final class SwitchableProcessHandler implements ProcessHandler {

    private volatile ProcessHandler target;

    SwitchableProcessHandler(ProcessHandler initial) {
        this.target = initial;
    }

    void bind(ProcessHandler handler) {
        this.target = handler;
    }

    @Override
    public Process start(ProcessCommand command) throws IOException {
        return target.start(command);
    }
}
