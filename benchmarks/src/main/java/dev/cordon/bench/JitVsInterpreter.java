package dev.cordon.bench;

import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A CPU-bound pure-Python kernel (n-body, {@value #STEPS} steps) in a Cordon session, once with the
 * Graal JIT and once in a fork whose Truffle runtime is the plain interpreter: two forks with
 * different flags in one run. CPython 3.11's figure for the same code comes from the comparison
 * harness (benchmarks/run compare), which runs it in the same run as Cordon.
 */
@State(Scope.Thread)
@Warmup(iterations = 10, time = 3)
@Measurement(iterations = 5, time = 3)
public class JitVsInterpreter extends BenchBase {

    static final int STEPS = 2000;

    Sandbox sandbox;
    Session session;
    String code;

    @Setup(Level.Trial)
    public void setUp() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT).poolSize(0).build();
        session = sandbox.openSession("nbody");
        code = Workloads.nbody(STEPS);
        CallLatency.check(session.exec(code));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        session.close();
        sandbox.close();
    }

    @Benchmark
    public Object nbodyJit() {
        return session.exec(code);
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = INTERPRETER)
    @Warmup(iterations = 2, time = 3)
    public Object nbodyInterpreter() {
        return session.exec(code);
    }
}
