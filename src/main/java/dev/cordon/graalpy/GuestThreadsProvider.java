package dev.cordon.graalpy;

import com.oracle.truffle.api.instrumentation.TruffleInstrument;
import com.oracle.truffle.api.instrumentation.provider.TruffleInstrumentProvider;
import java.util.Collection;
import java.util.List;

/**
 * Registers {@link GuestThreads} with Truffle (what the DSL processor would generate; written by
 * hand so the build needs no annotation processor). {@code internal = false} because internal
 * instruments cannot be looked up from the polyglot API.
 */
@TruffleInstrument.Registration(id = GuestThreads.ID, name = "Cordon guest thread registry", version = "1",
        internal = false, services = GuestThreads.Registry.class)
public final class GuestThreadsProvider extends TruffleInstrumentProvider {
    @Override
    protected String getInstrumentClassName() {
        return GuestThreads.class.getName();
    }

    @Override
    protected Object create() {
        return new GuestThreads();
    }

    @Override
    protected Collection<String> getServicesClassNames() {
        return List.of(GuestThreads.Registry.class.getName());
    }
}
