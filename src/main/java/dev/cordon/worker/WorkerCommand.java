package dev.cordon.worker;

import dev.cordon.policy.Policy;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The command line of a worker JVM: this JVM's java and class path, the JVM flags Cordon needs
 * (taken over from this JVM), and the worker's own bounds.
 *
 * <p>Heap: {@code -Xmx} = {@code resources.max_memory_mb} + {@value #HEAP_OVERHEAD_MB} MB. The
 * overhead is what GraalPy itself keeps live in a worker (measured: ~60 MB after the engine, the
 * session's context and a spare warm context; docs/isolation.md) plus room for the collector, so
 * that guest code gets its whole {@code max_memory_mb} before the heap runs out. When it does run
 * out, {@code -XX:+ExitOnOutOfMemoryError} ends the worker at once with exit status 3, which the
 * host reports as limit {@code memory}: an out-of-memory error is never left to half-break the
 * worker's own threads. The JVM's other memory is bounded too (metaspace, code cache, direct
 * buffers), so the worker's footprint is the heap plus a fixed amount.
 */
final class WorkerCommand {

    private WorkerCommand() { }

    /** Heap a worker gets on top of {@code max_memory_mb}: GraalPy's own live set plus collector room. */
    static final int HEAP_OVERHEAD_MB = 128;

    /**
     * JVM flags of this JVM that a worker must share: the agent, native access, the JIT setup,
     * thread stacks, module openings, Truffle and polyglot settings. Heap sizing, the collector,
     * debuggers and anything else are not taken over.
     */
    private static final List<String> INHERITED_PREFIXES = List.of(
            "-javaagent:", "--enable-native-access", "-XX:+EnableDynamicAgentLoading", "-Djdk.attach.allowAttachSelf",
            "--sun-misc-unsafe-memory-access", "-XX:+UnlockExperimentalVMOptions", "-XX:+EnableJVMCI",
            "-XX:-EnableJVMCI", "--upgrade-module-path", "-Xss", "--add-opens", "--add-exports", "--add-modules",
            "-Dpolyglot.", "-Dtruffle.", "-Dgraal.", "-Djdk.graal.", "-Dcordon.", "-Djava.io.tmpdir=",
            "-XX:TieredStopAtLevel=", "-Djna.");

    /** System properties set at run time (not on the command line) that a worker must see too. */
    private static final List<String> INHERITED_PROPERTIES = List.of("cordon.native.", "polyglot.", "cordon.repo");

    static List<String> build(Policy policy) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String a : args) {
            if (INHERITED_PREFIXES.stream().anyMatch(a::startsWith)) {
                cmd.add(a);
            }
        }
        if (args.stream().noneMatch(a -> a.startsWith("-Xss"))) {
            cmd.add("-Xss8m"); // guest recursion must end in RecursionError, as in bin/cordon
        }
        for (Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
            String k = String.valueOf(e.getKey());
            if (INHERITED_PROPERTIES.stream().anyMatch(k::startsWith)
                    && args.stream().noneMatch(a -> a.startsWith("-D" + k + "="))) {
                cmd.add("-D" + k + "=" + e.getValue());
            }
        }
        cmd.add("-Xmx" + heapMb(policy) + "m");
        cmd.addAll(List.of(
                // One session per JVM and a small heap: the serial collector has no helper threads
                // and the smallest footprint.
                "-XX:+UseSerialGC",
                "-XX:+ExitOnOutOfMemoryError",
                // The JVM's own messages (e.g. the out-of-memory notice) must never reach stdout:
                // stdout is the protocol stream.
                "-XX:+DisplayVMOutputToStderr",
                "-XX:MaxMetaspaceSize=256m", "-XX:ReservedCodeCacheSize=128m", "-XX:MaxDirectMemorySize=64m",
                // No /tmp/hsperfdata_* file per worker.
                "-XX:-UsePerfData"));
        String extra = System.getProperty("cordon.worker.jvmOptions");
        if (extra != null && !extra.isBlank()) {
            cmd.addAll(List.of(extra.trim().split("\\s+")));
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(WorkerMain.class.getName());
        return cmd;
    }

    static int heapMb(Policy policy) {
        return policy.resources().maxMemoryMb() + HEAP_OVERHEAD_MB;
    }
}
