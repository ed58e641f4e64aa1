package dev.cordon.net;

import java.io.ByteArrayOutputStream;
import org.graalvm.polyglot.Context;
import org.junit.jupiter.api.Test;

class SpikeTest {
    @Test
    void spike() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Context c = Guests.context(out)) {
            System.out.println(c.eval("python", """
                r = []
                for h in ['x.test', 'API.Test.', 'bücher.example', 'xn--bcher-kva.example']:
                    try:
                        r.append(h.encode('idna'))
                    except BaseException as e:
                        r.append(repr(e))
                r.append(b'xn--bcher-kva.example'.decode('idna'))
                import ssl
                ctx = ssl.create_default_context()
                r.append(ctx._encode_hostname('api.test'))
                str(r)
                """));
        }
        System.out.println(out);
    }
}
