package dev.cordon.agent.boot;

import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dispatcher that Cordon's advice, inlined into JDK classes ({@code sun.nio.ch.*},
 * {@code java.net.InetAddress}, {@code java.io.File*Stream}, {@code java.lang.ProcessImpl} ...),
 * calls. It is injected into the bootstrap class loader by {@code CordonAgent} because code in
 * {@code java.base} can only link against bootstrap classes; for the same reason its signatures use
 * JDK types only. It must never be loaded by the application class loader first (the agent checks).
 *
 * <p>Cost model: every hook first asks {@link #guest()}. For a thread that never entered one of
 * Cordon's contexts this is one {@code ConcurrentHashMap.get} on the current {@code Thread} (or an
 * {@code isEmpty} when no guest thread exists at all): the embedding application's own I/O pays
 * nanoseconds. Only threads marked by the guest-thread instrument go on to the {@link Handler}.
 *
 * <p>Byte counting for the egress log uses a second map, {@link #TRACKED}, keyed by channel
 * identity: a read or write on any channel costs an {@code isEmpty} (no tracked connection in the
 * JVM) or one map miss.
 */
public final class CordonHooks {

    /** Transport or socket kinds, as passed by the advice. */
    public static final int TCP = 1;
    public static final int UDP = 2;
    /** A listening TCP socket ({@code ServerSocketChannel.bind}, {@code SocketImpl.listen}). */
    public static final int TCP_LISTEN = 3;

    /** File operation flags, as passed by the advice. */
    public static final int READ = 1;
    public static final int WRITE = 2;
    public static final int LIST = 4;
    public static final int MUTATE = 8;
    /** Added to the others: the path is relative to a directory descriptor, not to the working directory. */
    public static final int AT_DIR = 16;

    private static volatile Handler handler;

    /** Threads that are initialized in at least one of Cordon's contexts, with their state. */
    private static final ConcurrentHashMap<Thread, ThreadState> GUESTS = new ConcurrentHashMap<>();

    /** Guest-owned channels whose bytes or lifetime the handler follows: channel -> handler's record. */
    private static final ConcurrentHashMap<Object, Object> TRACKED = new ConcurrentHashMap<>();

    private CordonHooks() { }

    /** Per-thread state of a guest thread. Only the owning thread touches {@code permit} and {@code pendingGai}. */
    public static final class ThreadState {
        /** Contexts the thread is initialized in; written under the map's lock. */
        int contexts;
        /** Depth of trusted host code (gates, Cordon's own hooks) running on this guest thread. */
        int permit;
        /** Cordon's message for the next {@code socket.gaierror} GraalPy raises on this thread. */
        String pendingGai;
        /** The handler's record of this thread's last name lookup (which name a connect came from). */
        Object lastLookup;

        ThreadState() { }
    }

    /**
     * What the application side plugs in. Every method runs on the guest thread that triggered it,
     * inside a permit (so nothing it does trips the hooks again).
     */
    public abstract static class Handler {
        protected Handler() { }

        /** Forward lookup: the addresses to return, or throw {@link UnknownHostException}. Null: let the JDK answer. */
        public abstract InetAddress[] resolve(String host) throws UnknownHostException;

        /** Reverse lookup: the name to return (never a DNS query), or null to let the JDK answer. */
        public abstract String reverse(InetAddress address);

        /** The JDK is about to query its name service for {@code host} by a path Cordon did not decide. */
        public abstract void nameService(String host) throws UnknownHostException;

        /** Before a TCP or UDP connect. */
        public abstract void connect(Object channel, SocketAddress remote, int transport) throws IOException;

        /** After a successful connect; returns a record to track the channel by, or null. */
        public abstract Object connected(Object channel, int transport);

        /** Before a UDP datagram is sent to {@code target}. */
        public abstract void sendTo(Object channel, SocketAddress target) throws IOException;

        /** Before a bind ({@code kind}: TCP, UDP or TCP_LISTEN). {@code local} may be null (ephemeral). */
        public abstract void bind(Object channel, SocketAddress local, int kind) throws IOException;

        /** After a successful bind of a listening or datagram socket; returns a record to track it by, or null. */
        public abstract Object bound(Object channel, int kind);

        /** After {@code accept} returned {@code client} on a tracked listener; may refuse it. */
        public abstract void accepted(Object listenerRecord, Object client) throws IOException;

        /** A tracked channel was closed (on any thread). */
        public abstract void closed(Object record);

        /** Bytes moved on a tracked channel; {@code buf[start, start+n)} holds them when {@code buf} is not null. */
        public abstract void transferred(Object record, ByteBuffer buf, int start, long n, boolean write);

        /** Before a file operation by a path. */
        public abstract void file(Object path, int flags) throws IOException;

        /** Before a process start. */
        public abstract void exec(String[] command, String dir) throws IOException;

        /** A thread was initialized in / disposed from one of Cordon's contexts (listener thread, not necessarily {@code t}). */
        public void threadsChanged() { }
    }

    // ---------------------------------------------------------------- wiring (application side)

    /** Installs the handler; the hooks do nothing for any thread until one is installed. */
    public static void install(Handler h) {
        handler = h;
    }

    public static boolean installed() {
        return handler != null;
    }

    /** Marks {@code t} as initialized in one more of Cordon's contexts. */
    public static void mark(Thread t) {
        GUESTS.compute(t, (k, s) -> {
            ThreadState st = s == null ? new ThreadState() : s;
            st.contexts++;
            return st;
        });
    }

    /** {@code t} left one of Cordon's contexts for good. */
    public static void unmark(Thread t) {
        GUESTS.computeIfPresent(t, (k, s) -> --s.contexts <= 0 ? null : s);
    }

    /** Whether {@code t} is initialized in one of Cordon's contexts (tests and diagnostics). */
    public static boolean marked(Thread t) {
        return GUESTS.containsKey(t);
    }

    /**
     * Enters trusted host code on the current thread: hooks let it through until {@link #exitPermit}.
     * Returns a token (null on threads that are no guest threads: nothing to permit there).
     */
    public static Object enterPermit() {
        if (GUESTS.isEmpty()) {
            return null;
        }
        ThreadState s = GUESTS.get(Thread.currentThread());
        if (s != null) {
            s.permit++;
        }
        return s;
    }

    public static void exitPermit(Object token) {
        if (token instanceof ThreadState s && s.permit > 0) {
            s.permit--;
        }
    }

    /** Starts tracking a channel with the handler's record. */
    public static void track(Object channel, Object record) {
        TRACKED.put(channel, record);
    }

    /** The handler's record for a tracked channel, or null. */
    public static Object tracked(Object channel) {
        return TRACKED.isEmpty() ? null : TRACKED.get(channel);
    }

    public static Object untrack(Object channel) {
        return TRACKED.remove(channel);
    }

    public static int trackedCount() {
        return TRACKED.size();
    }

    /** Consumes the message Cordon left for GraalPy's next {@code gaierror} on this thread. */
    public static String takePendingGai() {
        if (GUESTS.isEmpty()) {
            return null;
        }
        ThreadState s = GUESTS.get(Thread.currentThread());
        if (s == null) {
            return null;
        }
        String m = s.pendingGai;
        s.pendingGai = null;
        return m;
    }

    /** Remembers the current guest thread's last lookup (opaque to the dispatcher). */
    public static void lastLookup(Object lookup) {
        ThreadState s = GUESTS.get(Thread.currentThread());
        if (s != null) {
            s.lastLookup = lookup;
        }
    }

    public static Object lastLookup() {
        ThreadState s = GUESTS.isEmpty() ? null : GUESTS.get(Thread.currentThread());
        return s == null ? null : s.lastLookup;
    }

    public static void pendingGai(String message) {
        ThreadState s = GUESTS.get(Thread.currentThread());
        if (s != null) {
            s.pendingGai = message;
        }
    }

    // ---------------------------------------------------------------- called by the advice

    /** The state of the current thread if it is a guest thread outside any permit, else null. */
    public static ThreadState guest() {
        if (GUESTS.isEmpty()) {
            return null;
        }
        ThreadState s = GUESTS.get(Thread.currentThread());
        return s == null || s.permit > 0 || handler == null ? null : s;
    }

    public static InetAddress[] resolve(String host) throws UnknownHostException {
        ThreadState s = guest();
        if (s == null) {
            return null;
        }
        s.permit++;
        try {
            return handler.resolve(host);
        } catch (RuntimeException e) {
            throw failed(new UnknownHostException(host), e);
        } finally {
            s.permit--;
        }
    }

    public static String reverse(InetAddress address) {
        ThreadState s = guest();
        if (s == null) {
            return null;
        }
        s.permit++;
        try {
            return handler.reverse(address);
        } catch (RuntimeException e) {
            return address.getHostAddress(); // never a PTR query, even when the gate fails
        } finally {
            s.permit--;
        }
    }

    public static void nameService(String host) throws UnknownHostException {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            handler.nameService(host);
        } catch (RuntimeException e) {
            throw failed(new UnknownHostException(host), e);
        } finally {
            s.permit--;
        }
    }

    public static void connect(Object channel, SocketAddress remote, int transport) throws IOException {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            handler.connect(channel, remote, transport);
        } catch (RuntimeException e) {
            throw failed(new java.io.IOException("Cordon's gate failed; the operation is refused"), e);
        } finally {
            s.permit--;
        }
    }

    public static void connected(Object channel, int transport) {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            Object record = handler.connected(channel, transport);
            if (record != null) {
                TRACKED.put(channel, record);
            }
        } catch (RuntimeException e) {
            // bookkeeping only (egress record, own ports): never break the connection over it
        } finally {
            s.permit--;
        }
    }

    public static void sendTo(Object channel, SocketAddress target) throws IOException {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            handler.sendTo(channel, target);
        } catch (RuntimeException e) {
            throw failed(new java.io.IOException("Cordon's gate failed; the operation is refused"), e);
        } finally {
            s.permit--;
        }
    }

    public static void bind(Object channel, SocketAddress local, int kind) throws IOException {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            handler.bind(channel, local, kind);
        } catch (RuntimeException e) {
            throw failed(new java.io.IOException("Cordon's gate failed; the operation is refused"), e);
        } finally {
            s.permit--;
        }
    }

    public static void bound(Object channel, int kind) {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            Object record = handler.bound(channel, kind);
            if (record != null) {
                TRACKED.put(channel, record);
            }
        } catch (RuntimeException e) {
            // bookkeeping only
        } finally {
            s.permit--;
        }
    }

    /**
     * After {@code accept}: a listener Cordon tracks may refuse the connection. Runs on any thread
     * (a listener is tracked only when a guest made it); the refused channel is closed here.
     */
    public static void accepted(Object listener, Object client) throws IOException {
        if (client == null || TRACKED.isEmpty()) {
            return;
        }
        Object record = TRACKED.get(listener);
        Handler h = handler;
        if (record == null || h == null) {
            return;
        }
        ThreadState s = GUESTS.isEmpty() ? null : GUESTS.get(Thread.currentThread());
        if (s != null) {
            s.permit++;
        }
        try {
            h.accepted(record, client);
        } catch (RuntimeException e) {
            throw failed(new java.io.IOException("Cordon's gate failed; the connection is refused"), e);
        } finally {
            if (s != null) {
                s.permit--;
            }
        }
    }

    public static void closed(Object channel) {
        if (TRACKED.isEmpty()) {
            return;
        }
        Object record = TRACKED.remove(channel);
        Handler h = handler;
        if (record != null && h != null) {
            ThreadState s = GUESTS.isEmpty() ? null : GUESTS.get(Thread.currentThread());
            if (s != null) {
                s.permit++;
            }
            try {
                h.closed(record);
            } catch (RuntimeException e) {
                // the channel is closed either way; only its egress record is lost
            } finally {
                if (s != null) {
                    s.permit--;
                }
            }
        }
    }

    /** Read side: called after a read of {@code n} bytes that end at {@code buf.position()}. */
    public static void read(Object channel, ByteBuffer buf, long n) {
        if (n <= 0 || TRACKED.isEmpty()) {
            return;
        }
        Object record = TRACKED.get(channel);
        if (record != null) {
            try {
                handler.transferred(record, buf, buf == null ? 0 : buf.position() - (int) n, n, false);
            } catch (RuntimeException e) {
                // counting only
            }
        }
    }

    /** Write side: called after a write of {@code n} bytes that started at {@code start}. */
    public static void wrote(Object channel, ByteBuffer buf, int start, long n) {
        if (n <= 0 || TRACKED.isEmpty()) {
            return;
        }
        Object record = TRACKED.get(channel);
        if (record != null) {
            try {
                handler.transferred(record, buf, start, n, true);
            } catch (RuntimeException e) {
                // counting only
            }
        }
    }

    /** A file open with NIO options: read-only unless an option writes, creates or deletes. */
    public static void fileOpen(Object path, java.util.Set<?> options) throws IOException {
        fileOpen(-1, path, options);
    }

    /** As {@link #fileOpen(Object, java.util.Set)}, relative to directory descriptor {@code dfd} when it is not -1. */
    public static void fileOpen(int dfd, Object path, java.util.Set<?> options) throws IOException {
        if (guest() == null) {
            return;
        }
        int flags = READ;
        if (options != null) {
            for (Object o : options) {
                if (o == java.nio.file.StandardOpenOption.WRITE || o == java.nio.file.StandardOpenOption.APPEND
                        || o == java.nio.file.StandardOpenOption.CREATE || o == java.nio.file.StandardOpenOption.CREATE_NEW
                        || o == java.nio.file.StandardOpenOption.TRUNCATE_EXISTING
                        || o == java.nio.file.StandardOpenOption.DELETE_ON_CLOSE) {
                    flags = WRITE;
                }
            }
        }
        if (dfd != -1 && !(path instanceof java.nio.file.Path p && p.isAbsolute())) {
            flags |= AT_DIR;
        }
        file(path, flags);
    }

    /**
     * A bug in the handler must not become an uncatchable internal error in GraalPy, nor an allowed
     * operation: the operation is refused with a checked exception (fail closed).
     */
    private static <E extends IOException> E failed(E refusal, RuntimeException cause) {
        refusal.initCause(cause);
        return refusal;
    }

    public static void file(Object path, int flags) throws IOException {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            handler.file(path, flags);
        } catch (RuntimeException e) {
            throw failed(new java.io.IOException("Cordon's gate failed; the operation is refused"), e);
        } finally {
            s.permit--;
        }
    }

    public static void exec(String[] command, String dir) throws IOException {
        ThreadState s = guest();
        if (s == null) {
            return;
        }
        s.permit++;
        try {
            handler.exec(command, dir);
        } catch (RuntimeException e) {
            throw failed(new java.io.IOException("Cordon's gate failed; the operation is refused"), e);
        } finally {
            s.permit--;
        }
    }
}
