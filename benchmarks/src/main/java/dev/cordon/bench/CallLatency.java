package dev.cordon.bench;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.FilesystemPolicy;
import dev.cordon.policy.Policy;
import org.graalvm.polyglot.Source;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Warm call latency in an existing session, against a bare GraalPy context on the same engine running
 * the same code (the policy overhead of a call). Three workloads: the same tiny snippet every time
 * (parsed once), a new tiny snippet every time (parse + run), and a realistic 50-line tool call.
 * Cordon runs the default policy ({@code persist_across_calls: false}: globals cleared and the
 * workspace reset after every call) and, for comparison, a session that keeps its state.
 */
@State(Scope.Thread)
public class CallLatency extends BenchBase {

    Sandbox sandbox;
    Session session;
    Session persistent;
    BareGraalPy bare;
    Source bareTiny;
    Source bareTool;
    long n;

    @Setup(Level.Trial)
    public void setUp() {
        sandbox = Sandbox.builder().policy(Policy.DEFAULT).poolSize(0).build();
        session = sandbox.openSession("bench");
        check(session.exec(Workloads.TINY));
        check(session.exec(Workloads.TOOL));
        FilesystemPolicy fs = Policy.DEFAULT.filesystem();
        Policy keep = Policy.DEFAULT.withFilesystem(new FilesystemPolicy(fs.workspaceDir(), fs.writable(), fs.maxSizeMb(),
                true, fs.uploadDir(), fs.outputDir()));
        persistent = Sandbox.builder().policy(keep).poolSize(0).build().openSession("persist");
        check(persistent.exec(Workloads.TINY));
        bare = new BareGraalPy(false);
        bareTiny = Source.create("python", Workloads.TINY);
        bareTool = Source.create("python", Workloads.TOOL);
        bare.context.eval(bareTiny);
        bare.context.eval(bareTool);
    }

    static void check(ExecResult r) {
        if (!r.ok()) {
            throw new IllegalStateException("warm-up call failed: " + r);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        session.close();
        persistent.close();
        sandbox.close();
        bare.close();
    }

    /** The same snippet every time: parsed once, then cached. */
    @Benchmark
    public Object cordonTiny() {
        return session.exec(Workloads.TINY);
    }

    /** As {@link #cordonTiny}, in a session that keeps globals and files between calls. */
    @Benchmark
    public Object cordonTinyPersistent() {
        return persistent.exec(Workloads.TINY);
    }

    @Benchmark
    public Object bareTiny() {
        return bare.context.eval(bareTiny);
    }

    /** A new snippet each time: parse + eval. */
    @Benchmark
    public Object cordonNewSnippet() {
        return session.exec(Workloads.newSmall(n++));
    }

    @Benchmark
    public Object bareNewSnippet() {
        return bare.context.eval(Source.create("python", Workloads.newSmall(n++)));
    }

    /** The realistic call: a 50-line JSON tool function, defined and run, one line printed. */
    @Benchmark
    public Object cordonTool() {
        return session.exec(Workloads.TOOL);
    }

    @Benchmark
    public Object bareTool() {
        bare.out.reset();
        return bare.context.eval(bareTool);
    }
}
