package dev.cordon.langchain4j;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.mcp.ResultText;
import dev.cordon.policy.Policy;
import dev.langchain4j.code.CodeExecutionEngine;
import java.util.Objects;

/**
 * LangChain4j's {@link CodeExecutionEngine} on a Cordon session: Python runs under the session's
 * policy instead of in the application's JVM unguarded.
 *
 * <p>{@link #execute} returns what the code printed; when the call failed, was stopped by a limit or
 * had an operation blocked, the text adds the error and each blocked operation with its policy rule
 * and fix (see {@link ResultText}), so a model reading it knows what to change. {@link #run} gives
 * the full {@link ExecResult}.
 *
 * <pre>{@code
 * try (var engine = CordonCodeExecutionEngine.of(PolicyLoader.load(Path.of("openclaw.exec.yaml")))) {
 *     String out = engine.execute("print(sum(range(10)))");   // "45\n"
 * }
 * }</pre>
 *
 * <p>Thread-safe: calls on one engine run one at a time, in order (its session's rule).
 */
public final class CordonCodeExecutionEngine implements CodeExecutionEngine, AutoCloseable {

    /** The session name {@link #of(Policy)} uses. */
    public static final String SESSION = "langchain4j";

    private final Session session;
    private final Sandbox owned;

    /** An engine on an existing session; closing the engine leaves the session open. */
    public CordonCodeExecutionEngine(Session session) {
        this(Objects.requireNonNull(session, "session"), null);
    }

    private CordonCodeExecutionEngine(Session session, Sandbox owned) {
        this.session = session;
        this.owned = owned;
    }

    /**
     * An engine with a sandbox of its own for {@code policy} (its workspace a temporary directory);
     * {@link #close()} closes both.
     */
    public static CordonCodeExecutionEngine of(Policy policy) {
        // One session, so no pool to keep warm: its one interpreter is built on the first call.
        Sandbox sandbox = Sandbox.builder().policy(policy).poolSize(0).build();
        try {
            return new CordonCodeExecutionEngine(sandbox.openSession(SESSION), sandbox);
        } catch (RuntimeException e) {
            sandbox.close();
            throw e;
        }
    }

    /** Runs {@code code}; returns its output, with errors and blocked operations explained. Never throws for guest code. */
    @Override
    public String execute(String code) {
        return ResultText.of(run(code));
    }

    /** Runs {@code code} and returns the whole result. */
    public ExecResult run(String code) {
        return session.exec(code);
    }

    public Session session() {
        return session;
    }

    @Override
    public void close() {
        if (owned != null) {
            owned.close();
        }
    }
}
