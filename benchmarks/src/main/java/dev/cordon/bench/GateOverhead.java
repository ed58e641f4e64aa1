package dev.cordon.bench;

import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Cidr;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.graalvm.polyglot.Source;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What a gate adds to one guest operation: {@value #OPS} file open+read+close, or {@value #OPS}
 * loopback connects, in one call, so the per-call overhead is spread thin. Cordon's side goes through
 * the workspace filesystem gate (openat2 beneath the workspace, quota, audit) and the network gate;
 * the baseline is a bare context with plain host file and socket access running the same loop.
 * Per operation: divide by {@value #OPS}.
 *
 * <p>The Cordon connect benchmark needs the network gate (dev.cordon.net); {@link BenchMain} leaves
 * it out of builds without it.
 */
@State(Scope.Thread)
public class GateOverhead extends BenchBase {

    static final int OPS = 100;

    Sandbox sandbox;
    Session session;
    BareGraalPy bare;
    Path hostDir;
    Source bareRead;
    String cordonRead;
    ServerSocket server;
    Thread acceptor;
    Source bareConnect;
    String cordonConnect;
    Session netSession;
    Sandbox netSandbox;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        byte[] content = new byte[200];
        java.util.Arrays.fill(content, (byte) 'x');
        sandbox = Sandbox.builder().policy(Policy.DEFAULT).poolSize(0).build();
        session = sandbox.openSession("gate");
        String guest = session.upload("data.txt", content);
        cordonRead = loop(Workloads.fileRead(guest));
        CallLatency.check(session.exec(cordonRead));
        hostDir = Files.createTempDirectory("cordon-bench-");
        Path host = hostDir.resolve("data.txt");
        Files.write(host, content);
        bare = new BareGraalPy(true);
        bareRead = Source.create("python", loop(Workloads.fileRead(host.toString())));
        bare.context.eval(bareRead);

        server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofPlatform().daemon(true).start(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    // accepted and closed: the guest only measures connect
                } catch (IOException e) {
                    return;
                }
            }
        });
        bareConnect = Source.create("python", loop(Workloads.loopbackConnect(server.getLocalPort())));
        bare.context.eval(bareConnect);
        cordonConnect = loop(Workloads.loopbackConnect(server.getLocalPort()));
    }

    /** A session whose policy allows loopback connects to the benchmark's listener (needs the network gate). */
    @Setup(Level.Trial)
    public void setUpNetwork() {
        Policy p = Policy.DEFAULT.withNetwork(new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED,
                List.of(new NetworkPolicy.AllowEntry(null, Cidr.parse("127.0.0.1/32"), List.of(server.getLocalPort()))),
                false));
        netSandbox = Sandbox.builder().policy(p).poolSize(0).build();
        netSession = netSandbox.openSession("net");
    }

    static String loop(String body) {
        StringBuilder b = new StringBuilder("for _ in range(" + OPS + "):\n");
        for (String line : body.split("\n")) {
            b.append("    ").append(line).append('\n');
        }
        return b.toString();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        session.close();
        sandbox.close();
        netSession.close();
        netSandbox.close();
        bare.close();
        server.close();
        Files.deleteIfExists(hostDir.resolve("data.txt"));
        Files.deleteIfExists(hostDir);
    }

    @Benchmark
    public Object cordonFileRead() {
        return session.exec(cordonRead);
    }

    @Benchmark
    public Object bareFileRead() {
        return bare.context.eval(bareRead);
    }

    @Benchmark
    public Object bareConnect() {
        return bare.context.eval(bareConnect);
    }

    @Benchmark
    public Object cordonConnect() {
        ExecResult r = netSession.exec(cordonConnect);
        if (!r.ok()) {
            throw new IllegalStateException("loopback connect through the network gate failed: " + r.error());
        }
        return r;
    }
}
