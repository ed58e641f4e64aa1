package dev.cordon.net;

import com.oracle.truffle.api.TruffleContext;
import com.oracle.truffle.api.instrumentation.ThreadsListener;
import com.oracle.truffle.api.instrumentation.TruffleInstrument;
import com.oracle.truffle.api.instrumentation.provider.TruffleInstrumentProvider;
import dev.cordon.agent.boot.CordonHooks;
import java.util.Collection;
import java.util.List;

/**
 * A Truffle instrument on Cordon's shared engine that marks, in the bootstrap dispatcher, every
 * thread initialized in one of the engine's contexts: eval threads and threads guest code starts
 * (Truffle calls the listener on the new thread before any guest code runs there). That mark is
 * the hooks' pre-filter: an unmarked thread (the embedding application's own) is never examined
 * further, which keeps its I/O at the cost of one map lookup. Contexts of other engines in the same
 * JVM are not seen, so they are not affected either.
 */
public final class GuestThreadMarks extends TruffleInstrument {

    public static final String ID = "cordon-net-threads";

    /** The service looked up to create the instrument on an engine. */
    public static final class Active {
        Active() { }
    }

    @Override
    protected void onCreate(Env env) {
        env.registerService(new Active());
        env.getInstrumenter().attachThreadsListener(new ThreadsListener() {
            @Override
            public void onThreadInitialized(TruffleContext context, Thread thread) {
                CordonHooks.mark(thread);
            }

            @Override
            public void onThreadDisposed(TruffleContext context, Thread thread) {
                CordonHooks.unmark(thread);
            }
        }, true);
    }

    /** Registers the instrument with Truffle (by hand, so the build needs no annotation processor). */
    @TruffleInstrument.Registration(id = ID, name = "Cordon guest thread marks", version = "1",
            internal = false, services = Active.class)
    public static final class Provider extends TruffleInstrumentProvider {
        @Override
        protected String getInstrumentClassName() {
            return GuestThreadMarks.class.getName();
        }

        @Override
        protected Object create() {
            return new GuestThreadMarks();
        }

        @Override
        protected Collection<String> getServicesClassNames() {
            return List.of(Active.class.getName());
        }
    }
}
