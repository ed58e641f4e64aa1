package dev.cordon.bench.compare;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.bench.BareGraalPy;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/** The two in-JVM rows: a Cordon session and a bare GraalPy context on the same engine. */
final class InJvmRows {

    private InJvmRows() { }

    static long[] loop(Supplier<String> call, double warmupSeconds, int warmupMin, int n, String[] last) {
        long end = System.nanoTime() + (long) (warmupSeconds * 1e9);
        for (int k = 0; k < warmupMin || System.nanoTime() < end; k++) {
            call.get();
        }
        long[] s = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            last[0] = call.get();
            s[i] = System.nanoTime() - t;
        }
        return s;
    }

    /** Cordon's in-JVM tier: Session.exec under the default policy (all gates and limits on). */
    static class Cordon extends Row {
        private Sandbox sandbox;
        private Session session;

        @Override
        String id() {
            return "cordon";
        }

        @Override
        String label() {
            return "Cordon in-JVM (GraalPy " + (SharedEngine.jitEnabled() ? "JIT" : "interpreter") + ")";
        }

        Policy policy() {
            return Policy.DEFAULT;
        }

        @Override
        void open() {
            sandbox = Sandbox.builder().policy(policy()).poolSize(0).build();
            session = sandbox.openSession("compare");
        }

        @Override
        Samples run(String code, double warmupSeconds, int warmupMin, int n) {
            String[] last = new String[1];
            long[] s = loop(() -> {
                ExecResult r = session.exec(code);
                if (r.status() != ExecResult.Status.OK) {
                    throw new IllegalStateException("Cordon call failed: " + r);
                }
                return r.stdout();
            }, warmupSeconds, warmupMin, n, last);
            return new Samples(s, last[0]);
        }

        @Override
        String note() {
            return "default policy: workspace filesystem gate, limits watchdog, output cap, audit";
        }

        @Override
        public void close() {
            if (session != null) {
                session.close();
            }
            if (sandbox != null) {
                sandbox.close();
            }
        }
    }

    /**
     * Cordon's native engine: each call goes to the session's persistent CPython worker inside
     * bubblewrap + seccomp + rlimits (engine: native), timed around {@code Session.exec} like the
     * in-JVM row. Unavailable when the native tier cannot run here (it never runs unsandboxed).
     */
    static final class CordonNative extends Cordon {
        @Override
        String id() {
            return "native-worker";
        }

        @Override
        String label() {
            return "Cordon native worker (bwrap + persistent CPython)";
        }

        @Override
        String unavailable() {
            var a = dev.cordon.nativetier.NativeTier.get().check();
            return a.available() ? null : a.describe();
        }

        @Override
        Policy policy() {
            return Policy.DEFAULT.withEngine(Policy.EngineKind.NATIVE);
        }

        @Override
        String note() {
            return "default policy, engine: native (workspace bind, seccomp, rlimits, cgroups where available)";
        }
    }

    /**
     * The same, in a session that keeps globals and files between calls
     * ({@code persist_across_calls: true}): separates what the policy's gates and limits cost from
     * what starting every call from fresh state costs.
     */
    static final class CordonPersistent extends Cordon {
        @Override
        String id() {
            return "cordon-persist";
        }

        @Override
        String label() {
            return "Cordon in-JVM, persist_across_calls: true";
        }

        @Override
        Policy policy() {
            dev.cordon.policy.FilesystemPolicy fs = Policy.DEFAULT.filesystem();
            return Policy.DEFAULT.withFilesystem(new dev.cordon.policy.FilesystemPolicy(fs.workspaceDir(), fs.writable(),
                    fs.maxSizeMb(), true, fs.uploadDir(), fs.outputDir()));
        }

        @Override
        String note() {
            return "as Cordon, but globals and workspace files persist between calls";
        }
    }

    /** The same engine, no Cordon: {@code context.eval("python", code)}, stdout to a buffer. */
    static final class Bare extends Row {
        private BareGraalPy bare;

        @Override
        String id() {
            return "graalpy";
        }

        @Override
        String label() {
            return "bare GraalPy (same engine, no policy)";
        }

        @Override
        void open() {
            bare = new BareGraalPy(false);
        }

        @Override
        Samples run(String code, double warmupSeconds, int warmupMin, int n) {
            String[] last = new String[1];
            long[] s = loop(() -> {
                bare.out.reset();
                bare.context.eval("python", code);
                return bare.out.toString(StandardCharsets.UTF_8);
            }, warmupSeconds, warmupMin, n, last);
            return new Samples(s, last[0]);
        }

        @Override
        public void close() {
            if (bare != null) {
                bare.close();
            }
        }
    }
}
