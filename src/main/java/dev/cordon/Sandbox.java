package dev.cordon;

import dev.cordon.graalpy.ContextPool;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyException;
import dev.cordon.policy.PolicyLoader;
import dev.cordon.worker.WorkerPool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Runs untrusted Python under one execution policy. Thread-safe: open as many sessions as you like,
 * from as many threads; each session has its own interpreter and workspace.
 *
 * <pre>{@code
 * try (Sandbox sandbox = Sandbox.builder().policyFile(Path.of("openclaw.exec.yaml")).build();
 *      Session s = sandbox.openSession("agent-1")) {
 *     ExecResult r = s.exec("print(6 * 7)");
 * }
 * }</pre>
 */
public final class Sandbox implements AutoCloseable {

    /** Session names: what a directory name and a log line can hold without quoting. */
    public static final Pattern SESSION_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private final Path workspaceRoot;
    private final boolean ownsRoot;
    private final Path auditJsonl;
    private final int poolSize;
    private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
    private volatile Policy policy;
    /** Warm interpreters of in-process sessions; null while the policy runs sessions in workers. */
    private volatile ContextPool pool;
    /** Warm worker JVMs when the policy says {@code execution.isolation: worker} (dev.cordon.worker), else null. */
    private volatile WorkerPool workers;

    private Sandbox(Builder b) {
        this.policy = b.policy;
        this.poolSize = b.poolSize;
        this.auditJsonl = b.auditJsonl;
        if (b.workspaceRoot != null) {
            this.workspaceRoot = b.workspaceRoot.toAbsolutePath().normalize();
            this.ownsRoot = false;
        } else {
            try {
                this.workspaceRoot = Files.createTempDirectory("cordon-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a temporary workspace root", e);
            }
            this.ownsRoot = true;
        }
        if (WorkerPool.applies(policy)) {
            // Sessions run in worker JVMs: no interpreter (and no engine) is needed in this one.
            this.workers = new WorkerPool(policy, poolSize, workspaceRoot, auditJsonl);
        } else {
            this.pool = new ContextPool(Gates.shape(policy), poolSize);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A sandbox for {@code policy} with default settings. */
    public static Sandbox of(Policy policy) {
        return builder().policy(policy).build();
    }

    public Policy policy() {
        return policy;
    }

    /** Where session workspaces live: {@code <root>/<session>}. */
    public Path workspaceRoot() {
        return workspaceRoot;
    }

    /** The policy as text for an agent's system prompt or tool description. */
    public String describe() {
        return dev.cordon.policy.PolicyDescriber.describe(policy);
    }

    /**
     * Replaces the policy for new calls of every session (dev-mode hot reload). The caller has
     * already validated it: a policy that does not load never reaches here, so the last good one stays.
     */
    public synchronized void reload(Policy newPolicy) {
        Objects.requireNonNull(newPolicy, "policy");
        Policy old = this.policy;
        this.policy = newPolicy;
        boolean inWorkers = WorkerPool.applies(newPolicy);
        if (inWorkers) {
            if (workers == null) {
                workers = new WorkerPool(newPolicy, poolSize, workspaceRoot, auditJsonl);
            } else {
                workers.reload(newPolicy);
            }
        } else if (pool == null || !Gates.shape(old).equals(Gates.shape(newPolicy))) {
            ContextPool oldPool = pool;
            pool = new ContextPool(Gates.shape(newPolicy), poolSize);
            if (oldPool != null) {
                oldPool.close();
            }
        }
        for (Session s : sessions.values()) {
            s.reload(newPolicy, pool);
        }
        // Sessions have switched; the pool of the other kind is no longer needed.
        if (inWorkers && pool != null) {
            pool.close();
            pool = null;
        } else if (!inWorkers && workers != null) {
            workers.close();
            workers = null;
        }
    }

    /** The worker pool; only called while the policy runs sessions in workers. */
    WorkerPool workers() {
        return workers;
    }

    /**
     * Opens (or returns the open) session {@code name}, with its workspace at {@code <root>/<name>}.
     *
     * @throws IllegalArgumentException if the name does not match {@link #SESSION_NAME}
     */
    public Session openSession(String name) {
        if (name == null || !SESSION_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("session names match [A-Za-z0-9_-]{1,64}: " + name);
        }
        return sessions.computeIfAbsent(name, n -> new Session(this, n, workspaceRoot.resolve(n), policy, pool,
                auditJsonl));
    }

    /** Opens a session whose workspace is the given host directory (created if missing). */
    public Session openSession(String name, Path hostWorkspace) {
        if (name == null || !SESSION_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("session names match [A-Za-z0-9_-]{1,64}: " + name);
        }
        return sessions.computeIfAbsent(name, n -> new Session(this, n, hostWorkspace, policy, pool, auditJsonl));
    }

    /** The open session of that name, or null. */
    public Session session(String name) {
        return sessions.get(name);
    }

    void forget(Session s) {
        sessions.remove(s.name(), s);
    }

    /** Warm contexts (or, with {@code execution.isolation: worker}, warm worker JVMs) ready in the pool now. */
    public int warmContexts() {
        WorkerPool w = workers;
        ContextPool p = pool;
        return w != null ? w.ready() : p == null ? 0 : p.ready();
    }

    /** Waits until the pool is warm (useful before measuring latency). */
    public void awaitWarm(long timeoutMillis) throws InterruptedException {
        WorkerPool w = workers;
        ContextPool p = pool;
        if (w != null) {
            w.awaitWarm(timeoutMillis);
        } else if (p != null) {
            p.awaitWarm(timeoutMillis);
        }
    }

    @Override
    public void close() {
        for (Session s : sessions.values()) {
            s.close();
        }
        if (pool != null) {
            pool.close();
        }
        if (workers != null) {
            workers.close();
        }
        if (ownsRoot) {
            Workspace.deleteTree(workspaceRoot);
        }
    }

    public static final class Builder {
        private Policy policy = Policy.DEFAULT;
        private Path workspaceRoot;
        private Path auditJsonl;
        private int poolSize = 1;

        public Builder policy(Policy p) {
            this.policy = Objects.requireNonNull(p, "policy");
            return this;
        }

        /** Loads and validates the YAML now; errors carry file:line:column. */
        public Builder policyFile(Path file) throws PolicyException {
            this.policy = PolicyLoader.load(file);
            return this;
        }

        /** Parent of the session workspaces; default a temporary directory removed on close. */
        public Builder workspaceRoot(Path root) {
            this.workspaceRoot = root;
            return this;
        }

        /**
         * Warm contexts kept ready (default 1; 0 builds each on demand, best for one-shot use). With
         * {@code execution.isolation: worker}: warm worker JVMs kept ready.
         */
        public Builder poolSize(int n) {
            if (n < 0 || n > 64) {
                throw new IllegalArgumentException("pool size must be 0-64: " + n);
            }
            this.poolSize = n;
            return this;
        }

        /** Where the JSON-lines audit stream goes (default: none). */
        public Builder auditJsonl(Path file) {
            this.auditJsonl = file;
            return this;
        }

        public Sandbox build() {
            return new Sandbox(this);
        }
    }
}
