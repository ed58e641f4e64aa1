package dev.cordon.graalpy;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.Charset;
import java.nio.file.AccessMode;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.Map;
import java.util.Set;
import org.graalvm.polyglot.io.FileSystem;

/**
 * A {@link FileSystem} whose target is set when a pooled context is bound to its session. A
 * context is built (the costly part) before anyone knows which workspace it will serve; until
 * {@link #bind} it sees only what the warm-up needs (the language home, read-only).
 */
final class SwitchableFileSystem implements FileSystem {

    private volatile FileSystem target;
    /** Set by every change of the guest's cwd; lets a fresh call skip asking Python where it is. */
    private volatile boolean cwdChanged;

    SwitchableFileSystem(FileSystem initial) {
        this.target = initial;
    }

    void bind(FileSystem fs) {
        this.target = fs;
    }

    FileSystem target() {
        return target;
    }

    @Override
    public Path parsePath(URI uri) {
        return target.parsePath(uri);
    }

    @Override
    public Path parsePath(String path) {
        return target.parsePath(path);
    }

    @Override
    public void checkAccess(Path path, Set<? extends AccessMode> modes, LinkOption... linkOptions) throws IOException {
        target.checkAccess(path, modes, linkOptions);
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        target.createDirectory(dir, attrs);
    }

    @Override
    public void delete(Path path) throws IOException {
        target.delete(path);
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return target.newByteChannel(path, options, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        return target.newDirectoryStream(dir, filter);
    }

    @Override
    public Path toAbsolutePath(Path path) {
        return target.toAbsolutePath(path);
    }

    @Override
    public Path toRealPath(Path path, LinkOption... linkOptions) throws IOException {
        return target.toRealPath(path, linkOptions);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        return target.readAttributes(path, attributes, options);
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        target.setAttribute(path, attribute, value, options);
    }

    @Override
    public void copy(Path source, Path t, java.nio.file.CopyOption... options) throws IOException {
        target.copy(source, t, options);
    }

    @Override
    public void move(Path source, Path t, java.nio.file.CopyOption... options) throws IOException {
        target.move(source, t, options);
    }

    @Override
    public void createLink(Path link, Path existing) throws IOException {
        target.createLink(link, existing);
    }

    @Override
    public void createSymbolicLink(Path link, Path t, FileAttribute<?>... attrs) throws IOException {
        target.createSymbolicLink(link, t, attrs);
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        return target.readSymbolicLink(link);
    }

    @Override
    public void setCurrentWorkingDirectory(Path currentWorkingDirectory) {
        cwdChanged = true;
        target.setCurrentWorkingDirectory(currentWorkingDirectory);
    }

    /** Whether the guest changed its cwd since the last call of this method. */
    boolean takeCwdChanged() {
        boolean c = cwdChanged;
        if (c) {
            cwdChanged = false;
        }
        return c;
    }

    @Override
    public String getSeparator() {
        return target.getSeparator();
    }

    @Override
    public String getPathSeparator() {
        return target.getPathSeparator();
    }

    @Override
    public String getMimeType(Path path) {
        return target.getMimeType(path);
    }

    @Override
    public Charset getEncoding(Path path) {
        return target.getEncoding(path);
    }

    @Override
    public Path getTempDirectory() {
        return target.getTempDirectory();
    }

    @Override
    public boolean isSameFile(Path path1, Path path2, LinkOption... options) throws IOException {
        return target.isSameFile(path1, path2, options);
    }

    @Override
    public long getFileStoreTotalSpace(Path path) throws IOException {
        return target.getFileStoreTotalSpace(path);
    }

    @Override
    public long getFileStoreUnallocatedSpace(Path path) throws IOException {
        return target.getFileStoreUnallocatedSpace(path);
    }

    @Override
    public long getFileStoreUsableSpace(Path path) throws IOException {
        return target.getFileStoreUsableSpace(path);
    }

    @Override
    public long getFileStoreBlockSize(Path path) throws IOException {
        return target.getFileStoreBlockSize(path);
    }

    @Override
    public boolean isFileStoreReadOnly(Path path) throws IOException {
        return target.isFileStoreReadOnly(path);
    }
}
