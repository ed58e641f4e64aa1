package dev.cordon.agent;

import java.lang.instrument.Instrumentation;
import net.bytebuddy.agent.ByteBuddyAgent;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.matcher.ElementMatchers;

/**
 * Cordon's Java agent: host-side hooks on the Java layer that GraalPy's emulated POSIX backend
 * calls. Guest code cannot reach or undo them: they live in the JVM's bytecode, not in Python.
 *
 * <p>Installed by {@code -javaagent:cordon.jar} (the launcher {@code bin/cordon} does this) or, for
 * embedders, by self-attach on first use ({@link #ensureInstalled()}), which needs the JVM flags
 * {@code -XX:+EnableDynamicAgentLoading -Djdk.attach.allowAttachSelf=true} to be quiet and fast
 * (~0.4 s). Installing twice is harmless.
 *
 * <p>Hooks installed here:
 * <ul>
 *   <li>{@link GuestErrnoAdvice}: lets a gate's denial reach Python as the right {@code OSError}
 *       subclass (PermissionError, ENOSPC ...) with Cordon's actionable message instead of GraalPy's
 *       generic {@code [Errno 5]}.</li>
 * </ul>
 */
public final class CordonAgent {

    private static volatile Instrumentation instrumentation;
    private static volatile String failure;

    private CordonAgent() { }

    public static void premain(String args, Instrumentation inst) {
        install(inst);
    }

    public static void agentmain(String args, Instrumentation inst) {
        install(inst);
    }

    /**
     * Installs the agent into this JVM if it is not installed yet.
     *
     * @return whether the hooks are active; when false, {@link #failure()} says why
     */
    public static synchronized boolean ensureInstalled() {
        if (instrumentation != null) {
            return true;
        }
        if (failure != null) {
            return false;
        }
        try {
            install(ByteBuddyAgent.install());
        } catch (RuntimeException | LinkageError e) {
            failure = "cannot self-attach Cordon's Java agent (" + e.getMessage() + "); start the JVM with "
                    + "-javaagent:cordon.jar or with -XX:+EnableDynamicAgentLoading -Djdk.attach.allowAttachSelf=true";
        }
        return instrumentation != null;
    }

    /** Whether the hooks are active. */
    public static boolean installed() {
        return instrumentation != null;
    }

    /** Why the agent could not be installed, or null. */
    public static String failure() {
        return failure;
    }

    /** The instrumentation the agent was installed with, or null. */
    public static Instrumentation instrumentation() {
        return instrumentation;
    }

    private static synchronized void install(Instrumentation inst) {
        if (instrumentation != null) {
            return;
        }
        new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                .type(ElementMatchers.named(GuestErrnoAdvice.TARGET))
                .transform((builder, type, loader, module, domain) -> builder.visit(
                        Advice.to(GuestErrnoAdvice.class).on(ElementMatchers.named("fromException"))))
                .installOn(inst);
        instrumentation = inst;
    }
}
