package dev.cordon.bench;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Policy;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Source;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Warm call latency in an existing session, Cordon against a bare GraalPy context on the same
 * engine running the same code: the policy overhead of a call.
 */
@State(Scope.Thread)
public class CallLatency extends BenchBase {

    static final String SMALL = "x = 6 * 7";

    Sandbox sandbox;
    Session session;
    Context bare;
    Source bareSource;
    int n;

    @Setup(Level.Trial)
    public void setUp() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT.withFilesystem(Policy.DEFAULT.filesystem())).poolSize(0).build();
        session = sandbox.openSession("bench");
        ExecResult r = session.exec(SMALL);
        if (!r.ok()) {
            throw new IllegalStateException("warm-up call failed: " + r);
        }
        bare = Context.newBuilder("python").engine(SharedEngine.get().engine()).allowHostAccess(org.graalvm.polyglot.HostAccess.NONE)
                .option("python.PosixModuleBackend", "java").build();
        bareSource = Source.create("python", SMALL);
        bare.eval(bareSource);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        session.close();
        sandbox.close();
        bare.close(true);
    }

    /** The same snippet every time: parsed once, then cached. */
    @Benchmark
    public Object cordonCachedSnippet() {
        return session.exec(SMALL);
    }

    @Benchmark
    public Object bareCachedSnippet() {
        return bare.eval(bareSource);
    }

    /** A new snippet each time: parse + eval. */
    @Benchmark
    public Object cordonNewSnippet() {
        return session.exec("x = " + (n++));
    }

    @Benchmark
    public Object bareNewSnippet() {
        return bare.eval(Source.create("python", "x = " + (n++)));
    }
}
