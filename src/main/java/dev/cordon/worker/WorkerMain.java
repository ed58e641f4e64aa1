package dev.cordon.worker;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyException;
import dev.cordon.policy.PolicyLoader;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The worker JVM's main class (internal: started by {@link WorkerPool}, never by hand). It runs one
 * session of the in-JVM tier, exactly as the host would run it in-process (the same
 * {@link Sandbox}/{@link Session} code, so every gate applies inside the worker), and answers the
 * host's frames ({@link Wire}) on stdin/stdout until the host closes the session or goes away.
 *
 * <p>Life: HELLO (the policy) → build the sandbox and warm one interpreter → READY; OPEN (the
 * session's name and workspace); EXEC / UPLOAD / RELOAD as often as asked; CLOSE or end of stdin →
 * close the session (files are kept) and exit. After a call that leaves the worker in a state it
 * should not serve from (a memory limit, a guest that did not stop and whose thread may still be
 * running), the answer says "retiring" and the worker exits right after it: the process ending is
 * what stops such a thread, and what returns its memory.
 */
public final class WorkerMain {

    private WorkerMain() { }

    private static Sandbox sandbox;
    private static Session session;

    public static void main(String[] args) {
        // stdout is the protocol stream: everything else that prints to System.out goes to stderr.
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out),
                64 * 1024));
        DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream(FileDescriptor.in),
                64 * 1024));
        System.setOut(System.err);
        System.setIn(InputStream.nullInputStream());
        int status = 0;
        try {
            serve(in, out);
        } catch (EOFException e) {
            // The host closed our stdin (it closed the session, or it died): end quietly.
        } catch (IOException | RuntimeException e) {
            System.err.println("cordon worker " + ProcessHandle.current().pid() + ": " + e);
            status = 1;
        }
        shutdown(status);
    }

    private static void serve(DataInputStream in, DataOutputStream out) throws IOException {
        Wire.Out o = new Wire.Out();
        Wire.In hello = Wire.In.read(in);
        if (hello.type != Wire.HELLO) {
            throw new IOException("expected HELLO, got frame type " + hello.type);
        }
        long t0 = System.nanoTime();
        try {
            Policy p = policy(hello.str(), hello.str());
            String audit = hello.str();
            String root = hello.str();
            Sandbox.Builder b = Sandbox.builder().policy(p).poolSize(1).workspaceRoot(Path.of(root));
            if (audit != null) {
                b.auditJsonl(Path.of(audit));
            }
            sandbox = b.build();
            sandbox.awaitWarm(300_000);
        } catch (PolicyException | RuntimeException e) {
            o.reset(Wire.FAIL).str(Wire.FAIL_ARGUMENT).str(String.valueOf(e.getMessage())).send(out);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        o.reset(Wire.READY).i64(ProcessHandle.current().pid()).i64((System.nanoTime() - t0) / 1_000_000).send(out);
        while (true) {
            Wire.In f = Wire.In.read(in);
            boolean retire = false;
            try {
                switch (f.type) {
                    case Wire.OPEN -> {
                        String name = f.str();
                        Path ws = Path.of(f.str());
                        if (session != null) {
                            throw new IllegalStateException("this worker already serves session " + session.name());
                        }
                        session = sandbox.openSession(name, ws);
                        o.reset(Wire.OK).str(null);
                    }
                    case Wire.EXEC -> {
                        String code = f.str();
                        byte[] stdin = f.bytes();
                        ExecResult r = open().exec(code, stdin);
                        retire = mustRetire(r);
                        o.reset(Wire.RESULT);
                        Wire.writeResult(o, r);
                        o.bool(retire);
                    }
                    case Wire.UPLOAD_PATH -> o.reset(Wire.OK).str(open().upload(Path.of(f.str())));
                    case Wire.UPLOAD_BYTES -> {
                        String name = f.str();
                        byte[] content = f.bytes();
                        o.reset(Wire.OK).str(open().upload(name, content));
                    }
                    case Wire.RELOAD -> {
                        sandbox.reload(policy(f.str(), f.str()));
                        o.reset(Wire.OK).str(null);
                    }
                    case Wire.CLOSE -> {
                        if (session != null) {
                            session.close();
                            session = null;
                        }
                        o.reset(Wire.OK).str(null).send(out);
                        return;
                    }
                    default -> throw new IOException("unknown frame type " + f.type);
                }
            } catch (IOException | UncheckedIOException e) {
                o.reset(Wire.FAIL).str(Wire.FAIL_IO).str(String.valueOf(e.getMessage()));
            } catch (IllegalArgumentException e) {
                o.reset(Wire.FAIL).str(Wire.FAIL_ARGUMENT).str(String.valueOf(e.getMessage()));
            } catch (PolicyException e) {
                o.reset(Wire.FAIL).str(Wire.FAIL_ARGUMENT).str(e.getMessage());
            } catch (RuntimeException e) {
                o.reset(Wire.FAIL).str(Wire.FAIL_STATE).str(String.valueOf(e));
            }
            o.send(out);
            if (retire) {
                return;
            }
        }
    }

    private static Session open() {
        if (session == null) {
            throw new IllegalStateException("no session is open in this worker");
        }
        return session;
    }

    /** The policy as the host has it, but run in-process here: this JVM is the isolation. */
    static Policy policy(String yaml, String source) throws PolicyException {
        Policy p = PolicyLoader.parse(yaml, source == null ? "<worker>" : source);
        p = new Policy(source == null ? null : Path.of(source), p.engine(), Policy.Isolation.IN_PROCESS, p.network(),
                p.packages(), p.filesystem(), p.subprocess(), p.resources(), p.logging());
        return p;
    }

    /**
     * Whether this worker must end after answering: the memory limit was hit (the heap may still
     * hold what the guest allocated), or a limit stopped a guest that then had its interpreter
     * retired (its thread may still be running a builtin that ignores interruption, DESIGN.md §3),
     * or the engine itself failed. The next call of the session gets a fresh worker.
     */
    static boolean mustRetire(ExecResult r) {
        if (r.status() == ExecResult.Status.LIMIT
                && (r.limit() == ExecResult.Limit.MEMORY || !r.notices().isEmpty())) {
            return true;
        }
        return r.error() != null && "EngineError".equals(r.error().type());
    }

    /**
     * Closes the session (its files stay; a native workspace is copied back and unmounted) within a
     * bound, then ends the JVM without waiting for threads: a guest thread stuck in a builtin is
     * exactly what this process exists to end.
     */
    private static void shutdown(int status) {
        Thread closer = Thread.ofPlatform().daemon(true).name("cordon-worker-close").start(() -> {
            try {
                if (session != null) {
                    session.close();
                }
                if (sandbox != null) {
                    sandbox.close();
                }
            } catch (RuntimeException e) {
                System.err.println("cordon worker: closing the session failed: " + e);
            }
        });
        try {
            closer.join(20_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.err.flush();
        Runtime.getRuntime().halt(status);
    }
}
