package dev.cordon.nativetier;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.graalvm.polyglot.io.ProcessHandler;

/** Runs one command through a process handler the way GraalPy does (pipes, guest cwd). */
record Run(int rc, String out, String err) {

    static Run of(ProcessHandler h, String... argv) throws Exception {
        return of(h, "/workspace", Map.of(), argv);
    }

    static Run of(ProcessHandler h, String cwd, Map<String, String> env, String... argv) throws Exception {
        Process p = h.start(ProcessHandler.ProcessCommand.create(List.of(argv), cwd, env, false,
                ProcessHandler.Redirect.PIPE, ProcessHandler.Redirect.PIPE, ProcessHandler.Redirect.PIPE));
        p.getOutputStream().close();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        int rc = p.waitFor();
        return new Run(rc, out, err.join());
    }

    static String read(InputStream in) {
        try (in) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            in.transferTo(b);
            return b.toString(StandardCharsets.UTF_8);
        } catch (Exception e) {
            return "<" + e + ">";
        }
    }

    String all() {
        return out + err;
    }
}
