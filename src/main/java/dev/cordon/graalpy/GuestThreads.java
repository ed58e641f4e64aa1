package dev.cordon.graalpy;

import com.oracle.truffle.api.TruffleContext;
import com.oracle.truffle.api.instrumentation.ThreadsListener;
import com.oracle.truffle.api.instrumentation.TruffleInstrument;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.graalvm.polyglot.Context;

/**
 * A Truffle instrument that learns every thread that enters a guest context, including threads that
 * guest code starts ({@code threading.Thread}, {@code _thread.start_new_thread}, asyncio executors).
 * A plain ThreadLocal cannot see those; the listener runs on the new thread itself, where
 * {@link Context#getCurrent()} names its polyglot context, so each thread is attributed to its
 * session without any help from guest code.
 */
public final class GuestThreads extends TruffleInstrument {

    public static final String ID = "cordon-threads";

    /** Service the host looks up through {@code engine.getInstruments().get(ID).lookup(Registry.class)}. */
    public static final class Registry {
        private final Map<Context, Set<Thread>> threads = new ConcurrentHashMap<>();
        private final Map<Context, java.util.concurrent.atomic.AtomicLong> retiredCpu = new ConcurrentHashMap<>();
        private final java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();

        /**
         * CPU nanoseconds of the context's threads that have already ended. Guest code cannot hide
         * CPU time by spreading work over short-lived threads: each thread's total is added here,
         * read on the thread itself as it is disposed.
         */
        public long retiredCpuNanos(Context context) {
            java.util.concurrent.atomic.AtomicLong a = retiredCpu.get(context);
            return a == null ? 0 : a.get();
        }

        /** Live threads of {@code context} that are initialized for it (the eval thread included). */
        public Set<Thread> threadsOf(Context context) {
            Set<Thread> s = threads.get(context);
            return s == null ? Set.of() : Set.copyOf(s);
        }

        public void forget(Context context) {
            threads.remove(context);
            retiredCpu.remove(context);
        }

        void add(Thread t) {
            Context c = current();
            if (c != null) {
                threads.computeIfAbsent(c, k -> ConcurrentHashMap.newKeySet()).add(t);
            }
        }

        void remove(Thread t) {
            Context c = current();
            if (c != null) {
                Set<Thread> s = threads.get(c);
                if (s != null && s.remove(t) && t == Thread.currentThread()) {
                    long cpu = mx.getCurrentThreadCpuTime();
                    if (cpu > 0) {
                        retiredCpu.computeIfAbsent(c, k -> new java.util.concurrent.atomic.AtomicLong()).addAndGet(cpu);
                    }
                }
            }
        }

        private static Context current() {
            try {
                return Context.getCurrent();
            } catch (IllegalStateException e) {
                return null;
            }
        }
    }

    private final Registry registry = new Registry();

    @Override
    protected void onCreate(Env env) {
        env.registerService(registry);
        env.getInstrumenter().attachThreadsListener(new ThreadsListener() {
            @Override
            public void onThreadInitialized(TruffleContext context, Thread thread) {
                registry.add(thread);
            }

            @Override
            public void onThreadDisposed(TruffleContext context, Thread thread) {
                registry.remove(thread);
            }
        }, true);
    }
}
