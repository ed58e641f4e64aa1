package dev.cordon.net;

import dev.cordon.decision.Decision;
import dev.cordon.policy.Cidr;
import dev.cordon.policy.NetworkPolicy;
import dev.cordon.policy.Policy;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.graalvm.polyglot.Context;
import org.junit.jupiter.api.Test;

class SpikeTest {
    @Test
    void spike() throws Exception {
        System.out.println("available " + NetworkGate.available() + " " + NetworkGate.unavailableReason());
        List<Decision.Deny> denied = new CopyOnWriteArrayList<>();
        try (Loopback.Tcp ok = new Loopback.Tcp("127.0.0.1"); Loopback.Tcp bad = new Loopback.Tcp("127.0.0.2")) {
            NetworkPolicy np = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(
                    new NetworkPolicy.AllowEntry(null, new Cidr(InetAddress.ofLiteral("127.0.0.1").getAddress(), 32, "127.0.0.1/32"), List.of(ok.port()))), false);
            NetworkGate g = new NetworkGate(Policy.DEFAULT.withNetwork(np), denied::add, Resolver.of(java.util.Map.of()), EgressLog.NONE);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Context c = Guests.context(out)) {
                g.attach(c);
                long t0 = System.nanoTime();
                c.eval("python", """
                    import socket
                    s = socket.create_connection(('127.0.0.1', %d)); s.sendall(b'RAW\\n'); print(s.recv(100)); s.close()
                    try:
                        socket.create_connection(('127.0.0.2', %d))
                    except Exception as e:
                        print(type(e).__name__, e)
                    try:
                        socket.getaddrinfo('example.com', 80)
                    except Exception as e:
                        print(type(e).__name__, e)
                    import asyncio
                    async def main():
                        r, w = await asyncio.open_connection('127.0.0.1', %d)
                        w.write(b'RAW\\n'); print(await r.readline()); w.close()
                    asyncio.run(main())
                    """.formatted(ok.port(), bad.port(), ok.port()));
                System.out.println("eval ms " + (System.nanoTime() - t0) / 1e6);
            }
            System.out.println(out);
            denied.forEach(d -> System.out.println(d.blockedLine()));
            System.out.println("ok=" + ok.accepted + " bad=" + bad.accepted);
        }
    }
}
