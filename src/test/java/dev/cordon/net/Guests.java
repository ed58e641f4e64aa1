package dev.cordon.net;

import dev.cordon.agent.GatePermit;
import dev.cordon.graalpy.SharedEngine;
import java.io.ByteArrayOutputStream;
import org.graalvm.polyglot.Context;
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
        if (out != null) {
            b.out(out).err(out);
        }
        return b;
    }
}
