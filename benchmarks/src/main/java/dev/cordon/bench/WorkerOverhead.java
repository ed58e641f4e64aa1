package dev.cordon.bench;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the worker tier ({@code execution.isolation: worker}) adds to a warm call: the same session
 * code and the same snippets, once in this JVM and once in a worker JVM behind the framed pipe
 * protocol. The added latency is the worker figure minus the in-process one of the same run
 * (target: at most 100 µs at the median). Both sessions live in one trial, so both figures come
 * from the same machine state.
 */
@State(Scope.Thread)
public class WorkerOverhead extends BenchBase {

    static final String SMALL = "x = 6 * 7";
    /** A call that returns output, so the result frame carries text. */
    static final String PRINT = "print('abcdefghij' * 10)";

    Sandbox inProcess;
    Sandbox worker;
    Session local;
    Session remote;
    int n;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        String yaml = "execution:\n  isolation: %s\n  engine: graalpy\n  sandbox:\n    filesystem: {persist_across_calls: true}\n";
        Policy in = PolicyLoader.parse(yaml.formatted("in-process"), "bench");
        Policy w = PolicyLoader.parse(yaml.formatted("worker"), "bench");
        inProcess = Sandbox.builder().policy(in).poolSize(0).build();
        worker = Sandbox.builder().policy(w).poolSize(0).build();
        local = inProcess.openSession("local");
        remote = worker.openSession("remote");
        for (Session s : new Session[] {local, remote}) {
            ExecResult r = s.exec(SMALL);
            if (!r.ok()) {
                throw new IllegalStateException("warm-up call failed: " + r);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        local.close();
        remote.close();
        inProcess.close();
        worker.close();
    }

    @Benchmark
    public Object inProcessCached() {
        return local.exec(SMALL);
    }

    @Benchmark
    public Object workerCached() {
        return remote.exec(SMALL);
    }

    @Benchmark
    public Object inProcessPrint() {
        return local.exec(PRINT);
    }

    @Benchmark
    public Object workerPrint() {
        return remote.exec(PRINT);
    }

    /** A new snippet each time (parse + eval), as agent code usually is. */
    @Benchmark
    public Object inProcessNewSnippet() {
        return local.exec("x = " + (n++));
    }

    @Benchmark
    public Object workerNewSnippet() {
        return remote.exec("x = " + (n++));
    }
}
