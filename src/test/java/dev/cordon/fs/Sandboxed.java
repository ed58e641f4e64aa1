package dev.cordon.fs;

import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.FilesystemPolicy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.EnvironmentAccess;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.io.IOAccess;

/**
 * A real GraalPy context on the shared engine whose only filesystem is a {@link WorkspaceFileSystem}
 * over fresh host directories: {@code ws} (the workspace), {@code tmp} (guest /tmp) and
 * {@code outside} (a sibling directory guest code must never reach).
 */
final class Sandboxed implements AutoCloseable {

    final Path base;
    final Path ws;
    final Path tmp;
    final Path outside;
    final List<Decision.Deny> denials = new CopyOnWriteArrayList<>();
    final List<String> processAttempts = new CopyOnWriteArrayList<>();
    final WorkspaceFileSystem fs;
    final Context ctx;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    Sandboxed(Path base, FilesystemPolicy policy) throws IOException {
        this(base, policy, List.of(), List.of(), null);
    }

    Sandboxed(Path base, FilesystemPolicy policy, List<String> protectedPaths, List<Path> readOnly,
            java.util.function.Consumer<Sandboxed> beforeCreate) throws IOException {
        this.base = base;
        this.ws = Files.createDirectories(base.resolve("ws"));
        this.tmp = Files.createDirectories(base.resolve("tmp"));
        this.outside = Files.createDirectories(base.resolve("outside"));
        Files.writeString(outside.resolve("existing.txt"), "keep");
        if (beforeCreate != null) {
            beforeCreate.accept(this);
        }
        DenialSink sink = denials::add;
        this.fs = WorkspaceFileSystem.create(new WorkspaceLayout(policy, ws, tmp, protectedPaths, readOnly), sink);
        this.ctx = Context.newBuilder("python")
                .engine(SharedEngine.get().engine())
                // As in a session: the gate runs inside a permit, so the tripwire lets its host I/O through.
                .allowIO(IOAccess.newBuilder().fileSystem(dev.cordon.agent.GatePermit.fileSystem(fs)).build())
                .allowHostAccess(HostAccess.NONE)
                .allowCreateThread(true)
                // As in a session: processes reach a handler that decides (here: always no).
                .allowCreateProcess(true)
                .processHandler(cmd -> {
                    processAttempts.add(String.join(" ", cmd.getCommand()));
                    throw new IOException("no processes in this test");
                })
                .allowEnvironmentAccess(EnvironmentAccess.NONE)
                .environment("TMPDIR", "/tmp")
                .environment("HOME", policy.workspaceDir())
                .out(out)
                .err(err)
                .option("python.PosixModuleBackend", "java")
                .option("python.DontWriteBytecodeFlag", "true")
                .build();
        ctx.eval("python", "import os\nos.chdir(" + pyStr(policy.workspaceDir()) + ")\n");
    }

    static String pyStr(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** Runs guest code; returns what it printed (stdout and stderr, including a traceback if it raised). */
    String run(String code) {
        int o = out.size();
        int e = err.size();
        String failure = "";
        try {
            ctx.eval("python", code);
        } catch (PolyglotException pe) {
            failure = "RAISED: " + pe.getMessage() + "\n";
        }
        String stdout = out.toString(StandardCharsets.UTF_8).substring(o);
        String stderr = err.toString(StandardCharsets.UTF_8).substring(e);
        if (Boolean.getBoolean("cordon.test.verbose")) {
            System.out.println("--- guest output:\n" + stdout + stderr + failure);
        }
        return stdout + stderr + failure;
    }

    String allOutput() {
        return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    }

    String denialText() {
        return denials.stream().map(Decision.Deny::message).collect(Collectors.joining("\n"));
    }

    /** Bytes of the regular files under a host directory (apparent sizes, links not followed). */
    static long bytesUnder(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            return s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException ex) {
                    return 0;
                }
            }).sum();
        }
    }

    @Override
    public void close() {
        try {
            ctx.close(true);
        } finally {
            fs.close();
        }
    }
}
