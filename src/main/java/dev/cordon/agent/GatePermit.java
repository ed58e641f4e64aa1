package dev.cordon.agent;

import dev.cordon.agent.boot.CordonHooks;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.Charset;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.ProcessHandler;

/**
 * The tripwire's one exception: trusted host code that runs on a guest thread. Cordon's hooks block
 * a file open, file change or process start on a thread that runs guest code (GraalPy's own
 * language-home and JDK reads aside), because such an access did not come through a gate and would
 * otherwise be an escape. The gates themselves do exactly such host I/O on guest threads (the
 * polyglot {@code FileSystem} and {@code ProcessHandler} are called there), so each gate runs its
 * host I/O inside a permit:
 *
 * <pre>{@code
 * pooled.fileSystem.bind(GatePermit.fileSystem(workspaceGate));
 * pooled.processHandler.bind(GatePermit.processHandler(processGate));
 * // or, around any other trusted block:
 * GatePermit.call(() -> Files.readString(hostPath));
 * }</pre>
 *
 * <p>Only host code can open a permit; guest code reaches none of these methods (Cordon's contexts
 * have no host access). A permit covers the calling thread only, for the extent of the call.
 * Without the agent's hooks it just runs the action.
 */
public final class GatePermit {

    private GatePermit() { }

    /** An action that may throw {@code E}. */
    @FunctionalInterface
    public interface Action<T, E extends Exception> {
        T run() throws E;
    }

    /** A void action that may throw {@code E}. */
    @FunctionalInterface
    public interface VoidAction<E extends Exception> {
        void run() throws E;
    }

    /** Runs {@code action} on this thread with the tripwire lifted. */
    public static <T, E extends Exception> T call(Action<T, E> action) throws E {
        if (!CordonAgent.hooksInstalled()) {
            return action.run();
        }
        Object token = CordonHooks.enterPermit();
        try {
            return action.run();
        } finally {
            CordonHooks.exitPermit(token);
        }
    }

    /** Runs {@code action} on this thread with the tripwire lifted. */
    public static <E extends Exception> void run(VoidAction<E> action) throws E {
        if (!CordonAgent.hooksInstalled()) {
            action.run();
            return;
        }
        Object token = CordonHooks.enterPermit();
        try {
            action.run();
        } finally {
            CordonHooks.exitPermit(token);
        }
    }

    /**
     * A process gate whose {@code start} runs inside a permit, and whose processes' methods do too:
     * GraalPy calls {@code destroy}, {@code waitFor} and the stream getters later on guest threads
     * (a subprocess timeout kills the child from Python), and the gate's process does host I/O
     * there (e.g. the native tier writes {@code cgroup.kill} to end the whole tree).
     */
    public static ProcessHandler processHandler(ProcessHandler gate) {
        Objects.requireNonNull(gate, "gate");
        return command -> new PermittedProcess(call(() -> gate.start(command)));
    }

    private static final class PermittedProcess extends Process {
        private final Process p;

        PermittedProcess(Process p) {
            this.p = p;
        }

        @Override
        public java.io.OutputStream getOutputStream() {
            return p.getOutputStream();
        }

        @Override
        public java.io.InputStream getInputStream() {
            return p.getInputStream();
        }

        @Override
        public java.io.InputStream getErrorStream() {
            return p.getErrorStream();
        }

        @Override
        public int waitFor() throws InterruptedException {
            return call(p::waitFor);
        }

        @Override
        public boolean waitFor(long timeout, java.util.concurrent.TimeUnit unit) throws InterruptedException {
            return call(() -> p.waitFor(timeout, unit));
        }

        @Override
        public int exitValue() {
            return call(p::exitValue);
        }

        @Override
        public void destroy() {
            run(p::destroy);
        }

        @Override
        public Process destroyForcibly() {
            run(p::destroyForcibly);
            return this;
        }

        @Override
        public boolean isAlive() {
            return call(p::isAlive);
        }

        @Override
        public long pid() {
            return p.pid();
        }

        @Override
        public ProcessHandle toHandle() {
            return p.toHandle();
        }

        @Override
        public boolean supportsNormalTermination() {
            return p.supportsNormalTermination();
        }
    }

    /**
     * A filesystem gate whose every operation runs inside a permit. Wrap the gate itself (the
     * object that decides), so only what it allows is done under the permit.
     */
    public static FileSystem fileSystem(FileSystem gate) {
        return new PermittedFileSystem(Objects.requireNonNull(gate, "gate"));
    }

    private static final class PermittedFileSystem implements FileSystem {
        private final FileSystem d;

        PermittedFileSystem(FileSystem delegate) {
            this.d = delegate;
        }

        @Override
        public Path parsePath(URI uri) {
            return d.parsePath(uri);
        }

        @Override
        public Path parsePath(String path) {
            return d.parsePath(path);
        }

        @Override
        public void checkAccess(Path path, Set<? extends AccessMode> modes, LinkOption... linkOptions) throws IOException {
            run(() -> d.checkAccess(path, modes, linkOptions));
        }

        @Override
        public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
            run(() -> d.createDirectory(dir, attrs));
        }

        @Override
        public void delete(Path path) throws IOException {
            run(() -> d.delete(path));
        }

        @Override
        public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
                throws IOException {
            return call(() -> d.newByteChannel(path, options, attrs));
        }

        @Override
        public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
                throws IOException {
            return call(() -> d.newDirectoryStream(dir, filter));
        }

        @Override
        public Path toAbsolutePath(Path path) {
            return d.toAbsolutePath(path);
        }

        @Override
        public Path toRealPath(Path path, LinkOption... linkOptions) throws IOException {
            return call(() -> d.toRealPath(path, linkOptions));
        }

        @Override
        public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
            return call(() -> d.readAttributes(path, attributes, options));
        }

        @Override
        public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
            run(() -> d.setAttribute(path, attribute, value, options));
        }

        @Override
        public void copy(Path source, Path target, CopyOption... options) throws IOException {
            run(() -> d.copy(source, target, options));
        }

        @Override
        public void move(Path source, Path target, CopyOption... options) throws IOException {
            run(() -> d.move(source, target, options));
        }

        @Override
        public void createLink(Path link, Path existing) throws IOException {
            run(() -> d.createLink(link, existing));
        }

        @Override
        public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
            run(() -> d.createSymbolicLink(link, target, attrs));
        }

        @Override
        public Path readSymbolicLink(Path link) throws IOException {
            return call(() -> d.readSymbolicLink(link));
        }

        @Override
        public void setCurrentWorkingDirectory(Path currentWorkingDirectory) {
            call(() -> {
                d.setCurrentWorkingDirectory(currentWorkingDirectory);
                return null;
            });
        }

        @Override
        public String getSeparator() {
            return d.getSeparator();
        }

        @Override
        public String getPathSeparator() {
            return d.getPathSeparator();
        }

        @Override
        public String getMimeType(Path path) {
            return call(() -> d.getMimeType(path));
        }

        @Override
        public Charset getEncoding(Path path) {
            return call(() -> d.getEncoding(path));
        }

        @Override
        public Path getTempDirectory() {
            return d.getTempDirectory();
        }

        @Override
        public boolean isSameFile(Path path1, Path path2, LinkOption... options) throws IOException {
            return call(() -> d.isSameFile(path1, path2, options));
        }

        @Override
        public long getFileStoreTotalSpace(Path path) throws IOException {
            return call(() -> d.getFileStoreTotalSpace(path));
        }

        @Override
        public long getFileStoreUnallocatedSpace(Path path) throws IOException {
            return call(() -> d.getFileStoreUnallocatedSpace(path));
        }

        @Override
        public long getFileStoreUsableSpace(Path path) throws IOException {
            return call(() -> d.getFileStoreUsableSpace(path));
        }

        @Override
        public long getFileStoreBlockSize(Path path) throws IOException {
            return call(() -> d.getFileStoreBlockSize(path));
        }

        @Override
        public boolean isFileStoreReadOnly(Path path) throws IOException {
            return call(() -> d.isFileStoreReadOnly(path));
        }
    }
}
