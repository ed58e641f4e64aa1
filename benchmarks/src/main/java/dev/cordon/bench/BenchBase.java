package dev.cordon.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Fixed settings every Cordon benchmark shares (netty's AbstractMicrobenchmarkBase idea): sample
 * time, so the JSON has percentiles and we quote medians (p0.50); one fork per benchmark, whose JVM
 * flags {@link BenchMain} sets (agent, JIT when available). Warm-up is long because GraalPy's JIT
 * compiles guest code in the background and, on 2 shared cores, takes seconds to settle. Every
 * Cordon figure has its baseline in the same class (bare GraalPy on the same engine, the same code),
 * so read ratios, not lone absolute times: the machines are shared and noisy.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 8, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public abstract class BenchBase {

    /** The flag that turns the optimizing runtime off in a fork that otherwise has it (JIT vs interpreter). */
    public static final String INTERPRETER = "-Dtruffle.TruffleRuntime=com.oracle.truffle.api.impl.DefaultTruffleRuntime";
}
