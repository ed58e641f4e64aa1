package dev.cordon.bench;

import dev.cordon.graalpy.SharedEngine;
import java.io.ByteArrayOutputStream;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.io.IOAccess;

/**
 * The baseline for "policy overhead": a plain GraalPy context on Cordon's shared engine, as an
 * embedder without Cordon would build it. It must use the same HostAccess as Cordon's contexts
 * (every context of one engine must), and the same emulated POSIX backend, so that the only
 * difference left is what Cordon adds per call: gates, limits, output capture, accounting.
 */
public final class BareGraalPy implements AutoCloseable {

    public final Context context;
    public final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public BareGraalPy(boolean hostIo) {
        context = Context.newBuilder("python").engine(SharedEngine.get().engine())
                .allowHostAccess(HostAccess.NONE)
                .allowIO(hostIo ? IOAccess.newBuilder().allowHostFileAccess(true).allowHostSocketAccess(true).build()
                        : IOAccess.NONE)
                .out(out).err(out)
                .option("python.PosixModuleBackend", "java")
                .option("python.DontWriteBytecodeFlag", "true")
                .build();
    }

    @Override
    public void close() {
        context.close(true);
    }
}
