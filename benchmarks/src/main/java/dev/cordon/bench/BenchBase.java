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
 * time, so the JSON has percentiles and we can quote medians; one fork, whose JVM flags
 * {@link BenchMain} sets (agent, JIT when available). The machines are shared and noisy: read a
 * figure only next to its baseline from the same run.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public abstract class BenchBase {
}
