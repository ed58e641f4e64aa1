package dev.cordon.fs;

import dev.cordon.fs.Stat.FileKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A guest's open file in the workspace or {@code /tmp}: the JDK's {@link FileChannel} on the fd the
 * gate opened, with every size change counted in the session's {@link Quota}.
 *
 * <p>It is a {@link FileChannel} (not just a {@code SeekableByteChannel}) because GraalPy's
 * emulated {@code fcntl.flock}/{@code lockf} work only on {@code FileChannel}s.
 *
 * <p>A write that would pass {@code max_size_mb} writes what still fits (like a full disk: a
 * short write), and the next one fails with {@code ENOSPC}; bytes already written stay.
 */
final class QuotaChannel extends FileChannel {

    /** Builds the guest's error (and reports the denial) when a write does not fit at all. */
    interface Overflow {
        IOException exceeded(String guestPath, long want);
    }

    private final FileChannel ch;
    private final Quota quota;
    private final FileKey key;
    private final boolean append;
    private final String guestPath;
    private final Overflow overflow;
    private final Runnable onClose;

    QuotaChannel(FileChannel ch, Quota quota, FileKey key, boolean append, String guestPath, Overflow overflow,
            Runnable onClose) {
        this.ch = ch;
        this.quota = quota;
        this.key = key;
        this.append = append;
        this.guestPath = guestPath;
        this.overflow = overflow;
        this.onClose = onClose;
    }

    /** Registers the channel as open on its file (for deleted-while-open accounting). */
    QuotaChannel register() {
        synchronized (quota.lock(key)) {
            quota.opened(key, this);
        }
        return this;
    }

    long sizeUnchecked() throws IOException {
        return ch.size();
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return ch.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        return ch.read(dsts, offset, length);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return ch.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        synchronized (quota.lock(key)) {
            return writeLocked(src, append ? ch.size() : ch.position(), false);
        }
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        synchronized (quota.lock(key)) {
            return writeLocked(src, position, true);
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            ByteBuffer b = srcs[i];
            int want = b.remaining();
            if (want == 0) {
                continue;
            }
            int n;
            try {
                n = write(b);
            } catch (IOException e) {
                if (total > 0) {
                    return total; // a short write first; the next call reports the error
                }
                throw e;
            }
            total += n;
            if (n < want) {
                break;
            }
        }
        return total;
    }

    /** Caller holds the file's stripe lock, so {@code ch.size()} is not moved by another writer. */
    private int writeLocked(ByteBuffer src, long pos, boolean positional) throws IOException {
        int n = src.remaining();
        quota.changed();
        if (n == 0) {
            return positional ? ch.write(src, pos) : ch.write(src);
        }
        long cur = ch.size();
        long growth = pos + n - cur;
        if (growth <= 0) {
            return positional ? ch.write(src, pos) : ch.write(src);
        }
        long granted = quota.reserveUpTo(growth);
        int allowed = granted == growth ? n : (int) Math.max(0, Math.min(n, cur + granted - pos));
        if (allowed <= 0) {
            quota.release(granted);
            throw overflow.exceeded(guestPath, growth);
        }
        int limit = src.limit();
        if (allowed < n) {
            src.limit(src.position() + allowed);
        }
        int w = 0;
        try {
            w = positional ? ch.write(src, pos) : ch.write(src);
        } finally {
            src.limit(limit);
            long actual = Math.max(0, pos + w - cur);
            if (granted > actual) {
                quota.release(granted - actual);
            }
        }
        return w;
    }

    @Override
    public long position() throws IOException {
        return ch.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        ch.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return ch.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        quota.changed();
        synchronized (quota.lock(key)) {
            long cur = ch.size();
            ch.truncate(size);
            if (size < cur) {
                quota.release(cur - size);
            }
        }
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        ch.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        // When the target is another gate channel the JDK falls back to read + target.write, so
        // the target's quota applies.
        return ch.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(count, 64 * 1024));
        long done = 0;
        while (done < count) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), count - done));
            int r = src.read(buf);
            if (r <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                int w;
                try {
                    w = write(buf, position + done);
                } catch (IOException e) {
                    if (done > 0) {
                        return done;
                    }
                    throw e;
                }
                done += w;
                if (w == 0) {
                    return done;
                }
            }
        }
        return done;
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        if (mode != MapMode.READ_ONLY) {
            quota.changed();
            synchronized (quota.lock(key)) {
                long growth = position + size - ch.size();
                if (growth > 0 && !quota.reserve(growth)) {
                    throw overflow.exceeded(guestPath, growth);
                }
                try {
                    return ch.map(mode, position, size);
                } catch (IOException | RuntimeException e) {
                    if (growth > 0) {
                        quota.release(growth);
                    }
                    throw e;
                }
            }
        }
        return ch.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return ch.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return ch.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        synchronized (quota.lock(key)) {
            long size = 0;
            try {
                size = ch.size();
            } catch (IOException e) {
                // keep size 0: the count errs high, never low, and rescan() corrects it
            }
            quota.closed(key, this, size);
            ch.close();
        }
        if (onClose != null) {
            onClose.run();
        }
    }
}
