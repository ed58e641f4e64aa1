package dev.cordon.bench;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.nativetier.NativeTier;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import java.io.IOException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The native tier's warm call round trip (issue 7: "warm native-worker call ≥ 10× faster than a
 * {@code python3} spawn"): a session on {@code engine: native} (a persistent CPython worker under
 * bubblewrap, seccomp, rlimits and cgroups where available) against starting {@code python3 -I -c}
 * per call from this JVM, without any isolation, in the same trial. Both run the same snippet.
 * Refuses to run (fails the trial) where the native tier is unavailable: it never measures an
 * unsandboxed stand-in.
 */
@State(Scope.Thread)
public class NativeWorkerCall extends BenchBase {

    static final String SMALL = "x = 6 * 7";

    Sandbox sandbox;
    Session session;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        var availability = NativeTier.get().check();
        if (!availability.available()) {
            throw new IllegalStateException("native tier unavailable: " + availability.describe());
        }
        Policy p = PolicyLoader.parse("""
                execution:
                  engine: native
                  sandbox:
                    filesystem: {persist_across_calls: true}
                """, "bench");
        sandbox = Sandbox.builder().policy(p).poolSize(0).build();
        session = sandbox.openSession("native");
        ExecResult r = session.exec(SMALL);
        if (!r.ok() || !"native".equals(r.engine())) {
            throw new IllegalStateException("warm-up call did not run in the native worker: " + r);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        session.close();
        sandbox.close();
    }

    @Benchmark
    public Object nativeWorkerTiny() {
        return session.exec(SMALL);
    }

    /** Baseline: a new, unsandboxed CPython process per call (spawn to exit). */
    @Benchmark
    public int python3Spawn() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/usr/bin/python3", "-I", "-c", SMALL)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException("python3 exited with " + rc);
        }
        return rc;
    }
}
