package dev.cordon.net;

import dev.cordon.agent.GuestErrors;
import dev.cordon.agent.boot.CordonHooks;
import dev.cordon.decision.Decision;
import dev.cordon.decision.DenialSink;
import dev.cordon.decision.NetworkDecisions;
import dev.cordon.policy.LoggingPolicy;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.NetworkChannel;
import java.nio.channels.SocketChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.graalvm.polyglot.Context;

/**
 * The network gate of one session: decides every connect, datagram, bind, listen and name lookup
 * that guest code makes, on any of its threads, against the session's policy; records allowed
 * connections in the egress log; reports each denial to the session's {@link DenialSink}.
 *
 * <p>The decisions come from {@link NetworkDecisions}; this class holds the session state they need
 * (DNS pins, the session's own listeners) and applies them at the JDK-level hooks of
 * {@code dev.cordon.agent.CordonAgent}, which guest code cannot get around: every Python path
 * ({@code socket}, {@code _socket}, {@code ssl}, {@code urllib}, {@code asyncio}, guest threads ...)
 * ends in the same JDK channels. The same hooks stop file and process access that did not come
 * through a gate (the tripwire; see {@link dev.cordon.agent.GatePermit}).
 *
 * <p>Wiring: create one per session; {@link #attach} the session's context when a pooled context
 * is bound to it, {@link #detach} it when released, {@link #close} at session end. A context must
 * be built on {@code SharedEngine}'s engine. Before building contexts with
 * {@code allowHostSocketAccess(true)}, check {@link #available()}: when it is false the hooks are
 * not in place and host sockets must stay off (fail closed).
 */
public final class NetworkGate implements AutoCloseable {

    /** Bound on DNS pins per session: a guest resolving names in a loop must not grow the host heap. */
    static final int MAX_PINS = 65_536;

    private static volatile NetworkGate unattached;

    private volatile NetworkPolicy net;
    private volatile boolean egressOn;
    private volatile boolean bodiesOn;
    private final DenialSink sink;
    private final Resolver resolver;
    private final EgressLog egress;

    /** Address (normalised) -> names it resolved from in this session. */
    private final ConcurrentHashMap<InetAddress, Set<String>> pins = new ConcurrentHashMap<>();
    /** Exact local addresses of the session's own TCP and UDP listeners. */
    private final Set<InetSocketAddress> ownTcp = ConcurrentHashMap.newKeySet();
    private final Set<InetSocketAddress> ownUdp = ConcurrentHashMap.newKeySet();
    /** Local ports of the session's connections to its own listeners (a socketpair listener accepts only those). */
    private final Set<Integer> ownClientPorts = ConcurrentHashMap.newKeySet();
    private final Set<Tracked> tracked = ConcurrentHashMap.newKeySet();
    private final Set<Context> contexts = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * @param policy   the session's policy: {@code network} decides, {@code logging.egress} and
     *                 {@code logging.log_bodies} select what the egress log gets
     * @param sink     the session's audit; every enforced denial goes there
     * @param resolver how allowed names become addresses ({@link Resolver#SYSTEM} in production)
     * @param egress   where allowed connections are recorded ({@link EgressLog#jsonl}); may be
     *                 {@link EgressLog#NONE} only when the policy records no egress. One per session:
     *                 {@link #close()} closes it when it is {@link AutoCloseable}
     * @throws IllegalArgumentException when the policy asks for egress records and there is nowhere to put them
     */
    public NetworkGate(Policy policy, DenialSink sink, Resolver resolver, EgressLog egress) {
        this(policy.network(), policy.logging(), sink, resolver, egress);
    }

    NetworkGate(NetworkPolicy network, LoggingPolicy logging, DenialSink sink, Resolver resolver, EgressLog egress) {
        this.sink = java.util.Objects.requireNonNull(sink, "sink");
        this.resolver = java.util.Objects.requireNonNull(resolver, "resolver");
        this.egress = java.util.Objects.requireNonNull(egress, "egress");
        apply(network, logging);
    }

    /**
     * Whether the hooks are in place (installing the agent by self-attach if needed). When false,
     * contexts must be built with {@code allowHostSocketAccess(false)}: nothing could decide their
     * connections. {@link #unavailableReason()} says why.
     */
    public static boolean available() {
        return GuestRegistry.activate();
    }

    /** Why {@link #available()} is false, or null. */
    public static String unavailableReason() {
        return GuestRegistry.activate() ? null : GuestRegistry.unavailable();
    }

    /** Takes a reloaded policy into effect for the next operation. */
    public void update(Policy policy) {
        apply(policy.network(), policy.logging());
    }

    private void apply(NetworkPolicy network, LoggingPolicy logging) {
        NetworkPolicy n = NetworkDecisions.canonical(network);
        boolean wantEgress = (logging.egress() || n.mode() == NetworkPolicy.Mode.PERMISSIVE) && n.mode() != NetworkPolicy.Mode.DENY;
        if (wantEgress && egress == EgressLog.NONE && this != unattached) {
            throw new IllegalArgumentException("the policy records egress (logging.egress or policy: permissive) "
                    + "but the network gate was given no egress log");
        }
        this.net = n;
        this.egressOn = wantEgress;
        this.bodiesOn = wantEgress && logging.logBodies();
    }

    /**
     * Binds {@code context} to this session: from now on its threads' network operations are
     * decided here. A context of Cordon's engine that is attached to no gate is denied everything.
     *
     * @throws IllegalStateException when the hooks are unavailable, or the context belongs to another gate
     */
    public void attach(Context context) {
        if (!available()) {
            throw new IllegalStateException("Cordon's network gate is unavailable (" + GuestRegistry.unavailable()
                    + "); build contexts with allowHostSocketAccess(false)");
        }
        if (closed) {
            throw new IllegalStateException("this network gate is closed");
        }
        if (!GuestRegistry.engine().equals(context.getEngine())) {
            throw new IllegalArgumentException("the context was not built on Cordon's shared engine; its threads would not be seen");
        }
        NetworkGate other = GuestRegistry.GATES.putIfAbsent(context, this);
        if (other != null && other != this) {
            throw new IllegalStateException("the context is attached to another session's network gate");
        }
        contexts.add(context);
    }

    /** Unbinds {@code context}: its threads are denied everything until it is attached again. */
    public void detach(Context context) {
        GuestRegistry.GATES.remove(context, this);
        contexts.remove(context);
    }

    /**
     * Ends the session's network state: detaches every context, records connections still open in
     * the egress log (marked open), forgets pins and listeners.
     */
    @Override
    public void close() {
        closed = true;
        for (Context c : List.copyOf(contexts)) {
            detach(c);
        }
        if (GuestRegistry.active()) {
            // Nothing is tracked unless the hooks ran; touching CordonHooks earlier would load it
            // through the application class loader.
            for (Tracked t : List.copyOf(tracked)) {
                CordonHooks.untrack(t.channel());
                forget(t, false);
            }
        }
        pins.clear();
        if (egress instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                // the log's own close never fails the session's end
            }
        }
    }

    /** Diagnostics for tests: names pinned to {@code address}. */
    Set<String> pinned(InetAddress address) {
        Set<String> s = pins.get(NetworkDecisions.normalise(address));
        return s == null ? Set.of() : Set.copyOf(s);
    }

    int trackedCount() {
        return tracked.size();
    }

    // ------------------------------------------------------------------ names

    InetAddress[] resolve(String host) throws UnknownHostException {
        CordonHooks.pendingGai(null);
        if (host == null || host.isEmpty()) {
            return null; // the JDK answers loopback without any lookup
        }
        InetAddress literal = NetworkDecisions.parseLiteral(host);
        if (literal != null) {
            // Not a lookup; the connect decides (IP literals need a cidr entry).
            if (CordonHooks.lastLookup() instanceof Lookup last && last.name() != null && !last.followed
                    && last.addresses().contains(literal)) {
                // GraalPy turns the address text of a getaddrinfo result back into an address through
                // getaddrinfo once more before connecting: that literal still came from the name.
                last.followed = true;
            } else {
                CordonHooks.lastLookup(new Lookup(null, List.of(literal)));
            }
            return new InetAddress[] {literal};
        }
        String name = NetworkDecisions.normaliseName(host);
        Decision d = NetworkDecisions.resolve(net, name, host);
        if (d instanceof Decision.Deny deny) {
            sink.blocked(deny);
            CordonHooks.pendingGai(deny.message());
            throw new UnknownHostException(deny.message());
        }
        List<InetAddress> answer;
        try {
            answer = resolver.resolve(name);
        } catch (RuntimeException e) {
            throw new UnknownHostException(name + ": " + e.getMessage());
        }
        if (answer == null || answer.isEmpty()) {
            throw new UnknownHostException(name);
        }
        InetAddress[] out = new InetAddress[answer.size()];
        List<InetAddress> plain = new ArrayList<>(out.length);
        for (int i = 0; i < out.length; i++) {
            InetAddress a = NetworkDecisions.normalise(answer.get(i));
            pin(a, name);
            plain.add(a);
            out[i] = InetAddress.getByAddress(name, a.getAddress());
        }
        CordonHooks.lastLookup(new Lookup(name, plain));
        return out;
    }

    /** A thread's last lookup: {@code name} null for an IP literal. */
    static final class Lookup {
        private final String name;
        private final List<InetAddress> addresses;
        /** A literal lookup of one of its addresses already followed it (GraalPy's connect path). */
        boolean followed;

        Lookup(String name, List<InetAddress> addresses) {
            this.name = name;
            this.addresses = addresses;
        }

        String name() {
            return name;
        }

        List<InetAddress> addresses() {
            return addresses;
        }
    }

    /**
     * The name to show for a connection to {@code a}: Python hands GraalPy the address as text, so
     * the name is gone by the time of the connect. The lookup this thread made last is almost
     * always the one the connect came from ({@code create_connection}, {@code urllib}); otherwise
     * the first name pinned to the address in this session.
     */
    private static String shownName(InetAddress a, Set<String> pinned) {
        if (CordonHooks.lastLookup() instanceof Lookup l && l.addresses().contains(a)) {
            return l.name();
        }
        return pinned.isEmpty() ? null : pinned.iterator().next();
    }

    private void pin(InetAddress a, String name) {
        Set<String> names = pins.get(a);
        if (names == null) {
            if (pins.size() >= MAX_PINS) {
                return;
            }
            names = pins.computeIfAbsent(a, k -> ConcurrentHashMap.newKeySet());
        }
        names.add(name);
    }

    String reverse(InetAddress address) {
        Set<String> names = pins.get(NetworkDecisions.normalise(address));
        // Never a PTR query: it would let guest code signal any address to a DNS server it controls.
        return names == null || names.isEmpty() ? address.getHostAddress() : names.iterator().next();
    }

    void unexpectedNameService(String host) throws UnknownHostException {
        Decision.Deny d = new Decision.Deny(Decision.Category.NETWORK, "resolve", host, "network.restricted",
                "a name lookup reached the JDK's resolver by a path Cordon does not decide, so it was refused",
                "resolve names through Python's socket module; if ordinary Python code triggered this, report it to Cordon");
        sink.blocked(d);
        throw new UnknownHostException(d.message());
    }

    // ------------------------------------------------------------------ connections

    void connect(Object channel, SocketAddress remote, int transport) throws IOException {
        String op = "connect";
        if (!(remote instanceof InetSocketAddress isa)) {
            if (remote != null) {
                // AF_UNIX through a host API: could reach any local daemon. GraalPy has no AF_UNIX.
                throw denied(new Decision.Deny(Decision.Category.NETWORK, op, remote.toString(), "network.policy",
                        "guest code may not use Unix domain sockets", "none: Unix domain sockets are never allowed"));
            }
            return;
        }
        if (isa.isUnresolved()) {
            return; // the JDK refuses it without any lookup (UnresolvedAddressException)
        }
        InetAddress a = NetworkDecisions.normalise(isa.getAddress());
        int port = isa.getPort();
        boolean udp = transport == CordonHooks.UDP;
        if (a.isLoopbackAddress() && (udp ? ownUdp : ownTcp).contains(new InetSocketAddress(a, port))) {
            if (!udp) {
                Conn c = new Conn(this, channel, "tcp", null, a, port, NetworkDecisions.OWN_LISTENER, true, false);
                c.ownPort = localPort(channel);
                if (c.ownPort > 0) {
                    ownClientPorts.add(c.ownPort);
                }
                track(c);
            }
            return;
        }
        Set<String> names = pins.getOrDefault(a, Set.of());
        String shown = shownName(a, names);
        Decision d = NetworkDecisions.connect(net, op, a, port, names, shown);
        if (d instanceof Decision.Deny deny) {
            throw denied(deny);
        }
        if (egressOn) {
            Object existing = CordonHooks.tracked(channel);
            if (existing instanceof Conn c) {
                c.destination(a, port);
            } else if (existing == null) {
                track(new Conn(this, channel, udp ? "udp" : "tcp", shown, a, port, d.rule(), false, bodiesOn));
            }
        }
    }

    void connected(Object channel) {
        if (CordonHooks.tracked(channel) instanceof Conn c) {
            c.established = true;
            if (c.own && c.ownPort <= 0) {
                c.ownPort = localPort(channel);
                if (c.ownPort > 0) {
                    ownClientPorts.add(c.ownPort);
                }
            }
        }
    }

    void sendTo(Object channel, SocketAddress target) throws IOException {
        if (!(target instanceof InetSocketAddress isa) || isa.isUnresolved()) {
            connect(channel, target, CordonHooks.UDP);
            return;
        }
        InetAddress a = NetworkDecisions.normalise(isa.getAddress());
        int port = isa.getPort();
        if (a.isLoopbackAddress() && ownUdp.contains(new InetSocketAddress(a, port))) {
            return;
        }
        Set<String> names = pins.getOrDefault(a, Set.of());
        String shown = shownName(a, names);
        Decision d = NetworkDecisions.connect(net, "sendto", a, port, names, shown);
        if (d instanceof Decision.Deny deny) {
            throw denied(deny);
        }
        if (egressOn) {
            Object existing = CordonHooks.tracked(channel);
            if (existing instanceof Conn c) {
                c.destination(a, port);
            } else if (existing == null) {
                Conn c = new Conn(this, channel, "udp", shown, a, port, d.rule(), false, bodiesOn);
                c.established = true;
                track(c);
            }
        }
    }

    void bind(Object channel, SocketAddress local, int kind) throws IOException {
        if (local != null && !(local instanceof InetSocketAddress)) {
            throw denied(new Decision.Deny(Decision.Category.NETWORK, "bind", local.toString(), "network.policy",
                    "guest code may not use Unix domain sockets", "none: Unix domain sockets are never allowed"));
        }
        if (kind == CordonHooks.TCP) {
            return; // a client-side bind (GraalPy binds before every connect) opens nothing
        }
        InetSocketAddress isa = (InetSocketAddress) local;
        InetAddress a = isa == null || isa.getAddress() == null || isa.getAddress().isAnyLocalAddress() ? null
                : NetworkDecisions.normalise(isa.getAddress());
        int port = isa == null ? 0 : isa.getPort();
        boolean udp = kind == CordonHooks.UDP;
        Decision d = udp ? NetworkDecisions.bindDatagram(net, a, port) : NetworkDecisions.listen(net, a, port);
        if (d instanceof Decision.Deny deny) {
            throw denied(deny);
        }
        if (udp && port == 0) {
            return;
        }
        track(new Listener(this, channel, udp, NetworkDecisions.SOCKETPAIR.equals(d.rule())));
    }

    void bound(Object channel) {
        if (CordonHooks.tracked(channel) instanceof Listener l && l.local == null
                && channel instanceof NetworkChannel nc) {
            try {
                if (nc.getLocalAddress() instanceof InetSocketAddress isa) {
                    l.local = new InetSocketAddress(NetworkDecisions.normalise(isa.getAddress()), isa.getPort());
                    (l.udp ? ownUdp : ownTcp).add(l.local);
                }
            } catch (IOException e) {
                // closed meanwhile: nothing to remember
            }
        }
    }

    /** On a socketpair-only listener, only the session's own connections may be accepted. */
    void accepted(Listener l, Object client) throws IOException {
        if (!l.selfOnly || !(client instanceof SocketChannel sc)) {
            return;
        }
        SocketAddress peer = sc.getRemoteAddress();
        if (peer instanceof InetSocketAddress p && p.getAddress().isLoopbackAddress()
                && ownClientPorts.contains(p.getPort())) {
            return;
        }
        try {
            sc.close();
        } catch (IOException e) {
            // refusing it is what matters
        }
        throw denied(new Decision.Deny(Decision.Category.NETWORK, "accept", String.valueOf(peer), "network.allow_listen",
                "this listener was allowed only for the session's own connections (socketpair emulation), and this "
                        + "connection came from elsewhere",
                "execution.sandbox.network.allow_listen: true (listening is then allowed on 127.0.0.1 and ::1 only)"));
    }

    void closed(Tracked t) {
        forget(t, true);
    }

    private void forget(Tracked t, boolean closedByGuest) {
        if (!tracked.remove(t)) {
            return;
        }
        if (t instanceof Listener l && l.local != null) {
            (l.udp ? ownUdp : ownTcp).remove(l.local);
        } else if (t instanceof Conn c) {
            if (c.own) {
                if (c.ownPort > 0) {
                    ownClientPorts.remove(c.ownPort);
                }
            } else if (c.established) {
                egress.record(c.entry(closedByGuest));
            }
        }
    }

    private void track(Tracked t) {
        if (closed) {
            return;
        }
        tracked.add(t);
        CordonHooks.track(t.channel(), t);
    }

    private static int localPort(Object channel) {
        if (channel instanceof NetworkChannel nc) {
            try {
                if (nc.getLocalAddress() instanceof InetSocketAddress isa) {
                    return isa.getPort();
                }
            } catch (IOException e) {
                return 0;
            }
        }
        return 0;
    }

    private IOException denied(Decision.Deny d) {
        sink.blocked(d);
        return GuestErrors.exception(GuestErrors.EACCES, d.message());
    }

    void tripwire(Decision.Deny d) {
        sink.blocked(d);
    }

    static NetworkGate unattached() {
        NetworkGate u = unattached;
        if (u == null) {
            synchronized (NetworkGate.class) {
                u = unattached;
                if (u == null) {
                    u = new NetworkGate(NetworkPolicy.DENY_ALL, LoggingPolicy.DEFAULT,
                            d -> GuestRegistry.unattachedSink.blocked(d), name -> List.of(), EgressLog.NONE);
                    unattached = u;
                }
            }
        }
        return u;
    }

    // ------------------------------------------------------------------ tracked channels

    /** A channel the gate follows until it closes. */
    sealed interface Tracked permits Conn, Listener {
        NetworkGate gate();

        Object channel();
    }

    /** One of the session's listening (or fixed-port datagram) sockets. */
    static final class Listener implements Tracked {
        private final NetworkGate gate;
        private final Object channel;
        final boolean udp;
        final boolean selfOnly;
        volatile InetSocketAddress local;

        Listener(NetworkGate gate, Object channel, boolean udp, boolean selfOnly) {
            this.gate = gate;
            this.channel = channel;
            this.udp = udp;
            this.selfOnly = selfOnly;
        }

        @Override
        public NetworkGate gate() {
            return gate;
        }

        @Override
        public Object channel() {
            return channel;
        }
    }

    /** An allowed connection: egress record, or a connection to one of the session's own listeners. */
    static final class Conn implements Tracked {
        private final NetworkGate gate;
        private final Object channel;
        final String transport;
        final String name;
        final InetAddress address;
        final int port;
        final String rule;
        final boolean own;
        final Instant start = Instant.now();
        final long startNanos = System.nanoTime();
        volatile int ownPort;
        /** The connect returned (TCP), or a datagram went out (UDP): worth an egress entry. */
        volatile boolean established;
        private long bytesOut;
        private long bytesIn;
        private final byte[][] body; // [0] out, [1] in; null when bodies are off
        private final int[] bodyLen = new int[2];
        private boolean tls;
        private boolean firstWrite = true;
        private String sni;
        private List<String> destinations;

        Conn(NetworkGate gate, Object channel, String transport, String name, InetAddress address, int port,
                String rule, boolean own, boolean bodies) {
            this.gate = gate;
            this.channel = channel;
            this.transport = transport;
            this.name = name;
            this.address = address;
            this.port = port;
            this.rule = rule;
            this.own = own;
            this.body = bodies ? new byte[2][] : null;
        }

        @Override
        public NetworkGate gate() {
            return gate;
        }

        @Override
        public Object channel() {
            return channel;
        }

        synchronized void destination(InetAddress a, int p) {
            if (destinations == null) {
                destinations = new ArrayList<>();
                destinations.add(NetworkDecisions.target(address, port, null));
            }
            String t = NetworkDecisions.target(a, p, null);
            if (destinations.size() < 64 && !destinations.contains(t)) {
                destinations.add(t);
            }
        }

        synchronized void transferred(ByteBuffer buf, int start, long n, boolean write) {
            if (write) {
                bytesOut += n;
            } else {
                bytesIn += n;
            }
            if (buf == null || own) {
                return;
            }
            if (write && firstWrite) {
                firstWrite = false;
                if (n >= 6 && buf.get(start) == 0x16 && buf.get(start + 1) == 0x03) {
                    tls = true;
                    sni = TlsHello.serverName(buf, start, (int) n);
                }
            }
            if (body == null || tls) {
                return;
            }
            int dir = write ? 0 : 1;
            int room = EgressLog.BODY_LIMIT - bodyLen[dir];
            if (room <= 0) {
                return;
            }
            int take = (int) Math.min(room, n);
            if (body[dir] == null) {
                body[dir] = new byte[Math.min(EgressLog.BODY_LIMIT, Math.max(take, 1024))];
            }
            if (body[dir].length < bodyLen[dir] + take) {
                body[dir] = java.util.Arrays.copyOf(body[dir],
                        Math.min(EgressLog.BODY_LIMIT, Math.max(body[dir].length * 2, bodyLen[dir] + take)));
            }
            ByteBuffer view = buf.duplicate();
            view.limit(start + take).position(start);
            view.get(body[dir], bodyLen[dir], take);
            bodyLen[dir] += take;
        }

        synchronized EgressLog.Entry entry(boolean closedByGuest) {
            byte[] out = body == null || tls ? null : java.util.Arrays.copyOf(body[0] == null ? new byte[0] : body[0], bodyLen[0]);
            byte[] in = body == null || tls ? null : java.util.Arrays.copyOf(body[1] == null ? new byte[0] : body[1], bodyLen[1]);
            return new EgressLog.Entry(start, (System.nanoTime() - startNanos) / 1_000_000, transport, name,
                    address.getHostAddress(), port, rule, bytesOut, bytesIn,
                    destinations == null ? List.of() : List.copyOf(destinations), tls, sni, out, in, closedByGuest);
        }
    }
}
