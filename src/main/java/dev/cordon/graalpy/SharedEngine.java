package dev.cordon.graalpy;

import java.lang.management.ManagementFactory;
import org.graalvm.polyglot.Engine;

/**
 * The one polyglot {@link Engine} of this JVM. Sharing it lets contexts share parsed code and
 * compiled methods, and makes a new context cost ~0.1-0.25 s instead of ~2 s (DESIGN.md section 3).
 *
 * <p>The optimizing runtime is used when the JVM was started with JVMCI and the Graal compiler on
 * the upgrade module path (bin/cordon does this on Java 25); otherwise Truffle falls back to the
 * interpreter and we silence its warning, because the fallback is a supported mode, not an error.
 */
public final class SharedEngine {

    private static volatile SharedEngine instance;

    private final Engine engine;
    private final GuestThreads.Registry threads;

    private SharedEngine() {
        // The agent's hooks must be in place before any guest code runs: they carry the network gate
        // and map denials to precise Python exceptions. Launched with -javaagent this is a no-op;
        // embedders get a one-time self-attach (~0.4 s). If it fails, the gates still deny (they
        // fail closed); see CordonAgent.failure().
        dev.cordon.agent.CordonAgent.ensureInstalled();
        this.engine = Engine.newBuilder("python")
                .option("engine.WarnInterpreterOnly", "false")
                .build();
        this.threads = engine.getInstruments().get(GuestThreads.ID).lookup(GuestThreads.Registry.class);
        if (threads == null) {
            throw new IllegalStateException("Cordon's guest thread instrument did not load; limits cannot be enforced");
        }
    }

    public static SharedEngine get() {
        SharedEngine e = instance;
        if (e == null) {
            synchronized (SharedEngine.class) {
                e = instance;
                if (e == null) {
                    e = new SharedEngine();
                    instance = e;
                }
            }
        }
        return e;
    }

    public Engine engine() {
        return engine;
    }

    public GuestThreads.Registry threads() {
        return threads;
    }

    /** Whether the optimizing (JIT) runtime is active, as opposed to the fallback interpreter. */
    public static boolean jitEnabled() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream().anyMatch(a -> a.equals("-XX:+EnableJVMCI"))
                && !"Interpreted".equals(System.getProperty("truffle.TruffleRuntime"))
                && runtimeName().contains("Graal");
    }

    private static String runtimeName() {
        try {
            Class<?> truffle = Class.forName("com.oracle.truffle.api.Truffle");
            Object rt = truffle.getMethod("getRuntime").invoke(null);
            return (String) rt.getClass().getMethod("getName").invoke(rt);
        } catch (ReflectiveOperationException | LinkageError e) {
            return "unknown";
        }
    }
}
