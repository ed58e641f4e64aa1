package dev.cordon.net;

import dev.cordon.agent.GatePermit;
import dev.cordon.graalpy.SharedEngine;
import java.io.ByteArrayOutputStream;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotAccess;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.IOAccess;

/** GraalPy contexts as the brief prescribes for network tests (the real filesystem gate comes from another worker). */
final class Guests {

    private Guests() { }

    /** A context with the prelude the pool's bootstrap runs ({@link GuestPrelude}). */
    static Context context(ByteArrayOutputStream out) {
        Context c = builder(out).build();
        c.eval("python", GuestPrelude.SOURCE);
        return c;
    }

    static Context.Builder builder(ByteArrayOutputStream out) {
        FileSystem fs = GatePermit.fileSystem(FileSystem.newReadOnlyFileSystem(FileSystem.newDefaultFileSystem()));
        Context.Builder b = Context.newBuilder("python").engine(SharedEngine.get().engine())
                .allowIO(IOAccess.newBuilder().fileSystem(fs).allowHostSocketAccess(true).build())
                .allowCreateThread(true)
                .option("python.PosixModuleBackend", "java");
        return access(b, out);
    }

    /**
     * The access settings of the pool's contexts ({@code PooledContext}): a shared engine requires
     * every context to use the same host access, so tests on it must not differ (a test context
     * with another HostAccess breaks every later context of the engine). Host functions reach the
     * guest as proxies, which host access does not govern.
     */
    static Context.Builder access(Context.Builder b, ByteArrayOutputStream out) {
        b.allowHostAccess(HostAccess.NONE)
                .allowHostClassLookup(name -> false)
                .allowHostClassLoading(false)
                .allowPolyglotAccess(PolyglotAccess.NONE)
                .allowNativeAccess(false);
        if (out != null) {
            b.out(out).err(out);
        }
        return b;
    }
}
