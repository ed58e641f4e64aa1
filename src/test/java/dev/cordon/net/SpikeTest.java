package dev.cordon.net;

import dev.cordon.policy.*;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;
import org.graalvm.polyglot.Context;
import org.junit.jupiter.api.Test;

class SpikeTest {
    @Test
    void spike() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Loopback.Tcp ok = new Loopback.Tcp("127.0.0.1")) {
            NetworkPolicy net = new NetworkPolicy(NetworkPolicy.Mode.RESTRICTED, List.of(new NetworkPolicy.AllowEntry("api.test", null, List.of(ok.port()))), false);
            NetworkGate g = new NetworkGate(Policy.DEFAULT.withNetwork(net), d -> System.out.println(d.blockedLine()),
                    name -> { new Throwable("RESOLVE " + name).printStackTrace(System.out); return List.of(java.net.InetAddress.ofLiteral("127.0.0.1")); }, EgressLog.NONE);
            try (Context c = Guests.context(out)) {
                g.attach(c);
                System.out.println(c.eval("python", """
                    import socket, http.client
                    c = http.client.HTTPConnection('api.test', %d, timeout=10)
                    c.request('GET', '/')
                    r = c.getresponse().read()
                    str(r)
                    """.formatted(ok.port())));
            }
        }
        System.out.println(out);
    }
}
