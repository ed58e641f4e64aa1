package dev.cordon.bench;

import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import java.util.concurrent.TimeUnit;
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
 * Opening a session from a warm pool and running its first call, against building a new GraalPy
 * context on the same engine and running its first statement (what a session would cost without
 * the pool). Single-shot: each acquire takes a warm context, which the pool refills in the
 * background between invocations (not timed).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, batchSize = 1)
@Measurement(iterations = 30, batchSize = 1)
public class SessionAcquire extends BenchBase {

    Sandbox sandbox;
    Session session;
    BareGraalPy context;
    int n;

    @Setup(Level.Trial)
    public void setUp() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT).poolSize(1).build();
    }

    @Setup(Level.Invocation)
    public void warm() throws InterruptedException {
        sandbox.awaitWarm(120_000);
    }

    @TearDown(Level.Invocation)
    public void release() {
        if (session != null) {
            session.close();
            session = null;
        }
        if (context != null) {
            context.close();
            context = null;
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
        context = new BareGraalPy(false);
        return context.context.eval("python", "pass").isNull();
    }
}
