package dev.cordon.bench;

import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Policy;
import java.util.concurrent.TimeUnit;
import org.graalvm.polyglot.Context;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Opening a session from a warm pool, against building a new GraalPy context on the same engine
 * and running its first statement (what a session would cost without the pool). Single-shot: each
 * acquire takes a warm context that the pool refills in the background between invocations.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, batchSize = 1)
@Measurement(iterations = 30, batchSize = 1)
public class SessionAcquire extends BenchBase {

    Sandbox sandbox;
    Session session;
    int n;

    @Setup(Level.Trial)
    public void setUp() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT).poolSize(2).build();
    }

    @Setup(Level.Invocation)
    public void warm() throws InterruptedException {
        sandbox.awaitWarm(60_000);
    }

    @TearDown(Level.Invocation)
    public void release() {
        if (session != null) {
            session.close();
            session = null;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sandbox.close();
    }

    /** A pooled session, ready to run: open it and run its first (trivial) call. */
    @Benchmark
    public Object pooledSession() {
        session = sandbox.openSession("s" + (n++));
        return session.exec("pass");
    }

    /** A context built on demand on the shared engine, and its first statement. */
    @Benchmark
    public Object newContext() {
        try (Context c = Context.newBuilder("python").engine(SharedEngine.get().engine()).allowHostAccess(org.graalvm.polyglot.HostAccess.NONE)
                .option("python.PosixModuleBackend", "java").build()) {
            return c.eval("python", "pass").isNull();
        }
    }
}
