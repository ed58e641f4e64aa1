package dev.cordon.cli;

import dev.cordon.Sandbox;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyException;
import dev.cordon.policy.PolicyLoader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;

/**
 * Dev-mode hot reload ({@code --dev --reload-on-change}): before each call, looks at the policy file
 * and, if it changed, loads it. A good edit replaces the sandbox's policy for that call and every
 * later one; a bad edit (invalid YAML, a deleted file) keeps the last good policy and says why, on
 * stderr and in the call's result ({@code notices}).
 *
 * <p>Checking before each call instead of watching with a background thread makes "an edit takes
 * effect on the next call" exact: there is no window in which a call runs on a policy older than
 * the file it started after. The check is one stat (~µs); the file is read only when its size or
 * modification time moved, and applied only when its bytes changed.
 */
final class DevReloader {

    private final Path file;
    private final PrintStream log;
    private long lastModified;
    private long lastSize;
    private byte[] lastDigest;
    private String lastProblem;

    DevReloader(Path file, PrintStream log) throws IOException {
        this.file = file;
        this.log = log;
        this.lastModified = Files.getLastModifiedTime(file).toMillis();
        this.lastSize = Files.size(file);
        this.lastDigest = digest(Files.readAllBytes(file));
    }

    /**
     * Reloads {@code sandbox}'s policy if the file changed since the last look.
     *
     * @return notices for the next result (empty when nothing happened or the reload was clean)
     */
    synchronized List<String> refresh(Sandbox sandbox) {
        long modified;
        long size;
        try {
            modified = Files.getLastModifiedTime(file).toMillis();
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            return problem("the policy file " + file + " is gone; keeping the last good policy");
        } catch (IOException e) {
            return problem("cannot read the policy file " + file + " (" + e.getMessage() + "); keeping the last good policy");
        }
        if (modified == lastModified && size == lastSize) {
            return List.of();
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            return problem("cannot read the policy file " + file + " (" + e.getMessage() + "); keeping the last good policy");
        }
        byte[] d = digest(bytes);
        if (Arrays.equals(d, lastDigest)) {
            lastModified = modified;
            lastSize = size;
            return List.of();
        }
        Policy next;
        try {
            next = PolicyLoader.load(file);
        } catch (PolicyException e) {
            // Remember the stat so the same broken edit is reported once, not on every call.
            lastModified = modified;
            lastSize = size;
            return problem("policy reload failed, keeping the last good policy: " + e.getMessage());
        }
        sandbox.reload(next);
        lastModified = modified;
        lastSize = size;
        lastDigest = d;
        lastProblem = null;
        log.println("cordon: dev mode: reloaded policy " + file);
        return List.of("policy reloaded from " + file);
    }

    private List<String> problem(String message) {
        if (!message.equals(lastProblem)) {
            log.println("cordon: dev mode: " + message);
            lastProblem = message;
        }
        return List.of(message);
    }

    private static byte[] digest(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
