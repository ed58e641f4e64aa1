package dev.cordon.net;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A test certificate authority and a loopback HTTPS server whose certificate it signed, made fresh
 * by each test run (BouncyCastle comes with GraalPy). Runs on host threads.
 */
final class TestTls {

    final X509Certificate ca;
    final KeyPair caKeys;
    final Path caPem;

    TestTls(Path dir) throws Exception {
        caKeys = keys();
        X500Name name = new X500Name("CN=Cordon Test CA");
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, notBefore(), notAfter(), name,
                caKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        ca = new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        caPem = dir.resolve("test-ca.pem");
        Files.writeString(caPem, pem(ca));
    }

    /** An HTTPS server on 127.0.0.1 with a certificate for {@code dnsName}; {@code handler} maps a path to a raw HTTP response. */
    Server server(String dnsName, Function<String, String> handler) throws Exception {
        KeyPair k = keys();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=Cordon Test CA"),
                BigInteger.valueOf(System.nanoTime()), notBefore(), notAfter(), new X500Name("CN=" + dnsName), k.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("leaf", k.getPrivate(), "x".toCharArray(), new X509Certificate[] {leaf, ca});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "x".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return new Server(ctx, handler);
    }

    static final class Server implements AutoCloseable {
        final SSLServerSocket socket;
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicInteger handshakes = new AtomicInteger();
        private final Function<String, String> handler;

        Server(SSLContext ctx, Function<String, String> handler) throws IOException {
            this.handler = handler;
            socket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.ofLiteral("127.0.0.1"));
            Thread.ofPlatform().daemon().name("tls-server").start(this::loop);
        }

        int port() {
            return socket.getLocalPort();
        }

        private void loop() {
            while (!socket.isClosed()) {
                try {
                    SSLSocket c = (SSLSocket) socket.accept();
                    accepted.incrementAndGet();
                    Thread.ofPlatform().daemon().start(() -> serve(c));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(SSLSocket c) {
            try (c) {
                c.setSoTimeout(10_000);
                c.startHandshake();
                handshakes.incrementAndGet();
                BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.ISO_8859_1));
                String request = in.readLine();
                String line;
                while ((line = in.readLine()) != null && !line.isEmpty()) {
                    // headers
                }
                String path = request == null ? "/" : request.split(" ")[1];
                OutputStream out = c.getOutputStream();
                out.write(handler.apply(path).getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                // the client gave up (e.g. it refused our certificate)
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static String ok(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body;
    }

    static String redirect(String location) {
        return "HTTP/1.1 302 Found\r\nLocation: " + location + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    private static Date notBefore() {
        return new Date(System.currentTimeMillis() - 3_600_000L);
    }

    private static Date notAfter() {
        return new Date(System.currentTimeMillis() + 86_400_000L);
    }

    static String pem(X509Certificate c) throws Exception {
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(c.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }
}
