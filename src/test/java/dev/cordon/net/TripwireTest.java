package dev.cordon.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cordon.agent.GatePermit;
import dev.cordon.decision.Decision;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Policy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.proxy.ProxyExecutable;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.IOAccess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The tripwire: a file or process access on a guest thread that did not come through a gate is
 * blocked and audited, so a backend path that bypasses the filesystem or process gate is no escape.
 * Provoked three ways: a polyglot FileSystem that is not Cordon's gate (stands in for a GraalPy path
 * that reaches the host directly), GraalPy's default process handler, and a host object that opens
 * a file when the guest calls it. Effects are checked outside: canary content absent from every
 * output, files and markers absent on disk.
 */
class TripwireTest {

    static final String SECRET = "canary-7f3a9c";
    static Path dir;
    static Path canary;
    final List<Decision.Deny> denials = new CopyOnWriteArrayList<>();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /**
     * Host services the guest can call (as proxies: host access stays NONE, as in the pool); the
     * embedder forgot to give the first two a permit.
     */
    static void bindOpener(Context c) {
        var b = c.getBindings("python");
        b.putMember("host_read", (ProxyExecutable) args -> io(() -> Files.readString(Path.of(args[0].asString()))));
        b.putMember("host_write_channel", (ProxyExecutable) args -> io(() -> {
            try (var ch = java.nio.channels.FileChannel.open(Path.of(args[0].asString()),
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap("written".getBytes()));
            }
            return "written";
        }));
        b.putMember("host_read_permitted", (ProxyExecutable) args ->
                io(() -> GatePermit.call(() -> Files.readString(Path.of(args[0].asString())))));
    }

    interface Io {
        Object run() throws IOException;
    }

    static Object io(Io f) {
        try {
            return f.run();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @BeforeAll
    static void files() throws IOException {
        assertTrue(NetworkGate.available(), NetworkGate.unavailableReason());
        dir = Files.createTempDirectory("cordon-tripwire");
        canary = dir.resolve("canary.txt");
        Files.writeString(canary, SECRET);
    }

    @BeforeEach
    void clear() {
        denials.clear();
    }

    NetworkGate gate() {
        return new NetworkGate(Policy.DEFAULT, denials::add, Resolver.of(Map.of()), EgressLog.NONE);
    }

    /** A context whose file system is NOT Cordon's gate: what a backend bypass would look like. */
    Context ungated(boolean hostServices) {
        Context.Builder b = Context.newBuilder("python").engine(SharedEngine.get().engine())
                .allowIO(IOAccess.newBuilder().fileSystem(FileSystem.newDefaultFileSystem()).build())
                .allowCreateThread(true).allowCreateProcess(true)
                .option("python.PosixModuleBackend", "java");
        Context c = Guests.access(b, out).build();
        if (hostServices) {
            bindOpener(c);
        }
        return c;
    }

    static String pyStr(Path p) {
        return "'" + p.toString().replace("'", "\\'") + "'";
    }

    String all(Context c, String result) {
        return result + "\n" + out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void ungatedFileAccessOnGuestThreadsIsBlocked() throws Exception {
        NetworkGate g = gate();
        Path written = dir.resolve("written-by-guest.txt");
        try (Context c = ungated(false)) {
            g.attach(c);
            String r = c.eval("python", """
                    import threading, os
                    def attempt(f):
                        try:
                            return 'ok ' + str(f())
                        except BaseException as e:
                            return type(e).__name__ + ': ' + str(e)
                    def write():
                        with open(%2$s, 'w') as f:
                            f.write('x')
                    res = [attempt(lambda: open(%1$s).read()), attempt(write),
                           attempt(lambda: os.listdir(%3$s)), attempt(lambda: os.remove(%1$s))]
                    t = threading.Thread(target=lambda: res.append(attempt(lambda: open(%1$s).read())))
                    t.start(); t.join()
                    '\\n'.join(res)
                    """.formatted(pyStr(canary), pyStr(written), pyStr(dir))).asString();
            String everything = all(c, r);
            assertFalse(everything.contains(SECRET), everything);
            String[] lines = r.split("\n");
            assertEquals(5, lines.length, r);
            for (String l : lines) {
                assertTrue(l.startsWith("PermissionError: [Errno 13] Cordon blocked filesystem"), l);
                assertTrue(l.contains("policy rule tripwire.filesystem"), l);
            }
            assertFalse(Files.exists(written), "the guest wrote a file past the gate");
            assertTrue(Files.exists(canary), "the guest removed a file past the gate");
            assertTrue(denials.stream().anyMatch(d -> d.blockedLine().equals(
                    "[BLOCKED] filesystem=read path=" + canary + " policy=tripwire.filesystem")), denials.toString());
            assertTrue(denials.stream().anyMatch(d -> d.blockedLine().equals(
                    "[BLOCKED] filesystem=write path=" + written + " policy=tripwire.filesystem")), denials.toString());
            assertTrue(denials.stream().anyMatch(d -> d.blockedLine().equals(
                    "[BLOCKED] filesystem=list path=" + dir + " policy=tripwire.filesystem")), denials.toString());
            assertTrue(denials.stream().anyMatch(d -> d.blockedLine().equals(
                    "[BLOCKED] filesystem=modify path=" + canary + " policy=tripwire.filesystem")), denials.toString());
        } finally {
            g.close();
        }
    }

    @Test
    void classPathDirectoriesExposeOnlyClassFiles() throws Exception {
        Path classes = Path.of(TripwireTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(classes), classes.toString());
        Path secret = classes.resolve("cp-secret.txt");
        Files.writeString(secret, SECRET);
        Path clazz = classes.resolve(TripwireTest.class.getName().replace('.', '/') + ".class");
        NetworkGate g = gate();
        try (Context c = ungated(false)) {
            g.attach(c);
            String r = c.eval("python", """
                    def attempt(f):
                        try:
                            return 'ok ' + str(f())
                        except BaseException as e:
                            return type(e).__name__
                    attempt(lambda: open(%s).read()) + '|' + attempt(lambda: len(open(%s, 'rb').read()) > 0)
                    """.formatted(pyStr(secret), pyStr(clazz))).asString();
            assertEquals("PermissionError|ok True", r);
        } finally {
            g.close();
            Files.deleteIfExists(secret);
        }
    }

    @Test
    void processStartWithoutTheProcessGateIsBlocked() throws Exception {
        NetworkGate g = gate();
        Path marker = dir.resolve("marker-" + System.nanoTime());
        try (Context c = ungated(false)) {
            g.attach(c);
            String r = c.eval("python", """
                    import subprocess, os
                    res = []
                    for f in (lambda: subprocess.run(['/bin/sh', '-c', 'touch %1$s']).returncode,
                              lambda: os.system('touch %1$s'),
                              lambda: os.popen('touch %1$s').read()):
                        try:
                            res.append('ok ' + str(f()))
                        except BaseException as e:
                            res.append(type(e).__name__ + ': ' + str(e))
                    '\\n'.join(res)
                    """.formatted(marker)).asString();
            Thread.sleep(300);
            assertFalse(Files.exists(marker), "a process ran past the process gate: " + r);
            assertTrue(denials.stream().anyMatch(d -> d.blockedLine().equals(
                    "[BLOCKED] subprocess=/bin/sh policy=tripwire.subprocess")), r + "\n" + denials);
        } finally {
            g.close();
        }
    }

    @Test
    void aHostObjectWithoutAPermitIsBlockedAndWithOneWorks() throws Exception {
        NetworkGate g = gate();
        Path written = dir.resolve("host-object-wrote.txt");
        try (Context c = ungated(true)) {
            g.attach(c);
            String r = c.eval("python", """
                    import threading
                    def attempt(f):
                        try:
                            return 'ok ' + str(f())
                        except BaseException as e:
                            return type(e).__name__ + ': ' + str(e)
                    res = [attempt(lambda: host_read(%1$s)), attempt(lambda: host_write_channel(%2$s))]
                    t = threading.Thread(target=lambda: res.append(attempt(lambda: host_read(%1$s))))
                    t.start(); t.join()
                    res.append(attempt(lambda: host_read_permitted(%1$s)))
                    '\\n'.join(res)
                    """.formatted(pyStr(canary), pyStr(written))).asString();
            String[] lines = r.split("\n");
            assertEquals(4, lines.length, r);
            for (int i = 0; i < 3; i++) {
                assertFalse(lines[i].contains(SECRET), lines[i]);
                assertFalse(lines[i].startsWith("ok"), lines[i]);
            }
            assertFalse(Files.exists(written));
            assertEquals("ok " + SECRET, lines[3], "a permit lets trusted host code through");
            assertEquals(3, denials.stream().filter(d -> d.target().startsWith(dir.toString())).count(), denials.toString());
        } finally {
            g.close();
        }
    }

    @Test
    void gatedAccessLanguageHomeAndJdkReadsAreNotTripped() throws Exception {
        NetworkGate g = gate();
        try (Context c = Guests.context(out)) {
            g.attach(c);
            String r = c.eval("python", """
                    import ssl, os, random, json, decimal, asyncio, hashlib, tempfile, threading, zlib, lzma, datetime
                    ctx = ssl.create_default_context()          # JSSE reads the JDK's cacerts
                    n = len(ctx.get_ca_certs()) >= 0
                    res = [open(%s).read(), str(len(os.urandom(16))), str(random.random() < 1),
                           hashlib.sha256(b'x').hexdigest()[:8], str(n)]
                    out = []
                    t = threading.Thread(target=lambda: out.append(open(%s).read()))
                    t.start(); t.join()
                    res.append(out[0])
                    async def main():
                        await asyncio.sleep(0)
                        return 'async'
                    res.append(asyncio.run(main()))
                    '|'.join(res)
                    """.formatted(pyStr(canary), pyStr(canary))).asString();
            assertEquals(SECRET + "|16|True|2d711642|True|" + SECRET + "|async", r, out::toString);
            assertEquals(List.of(), denials, "legitimate access tripped the tripwire");
        } finally {
            g.close();
        }
    }

    @Test
    void hostThreadsAndOtherEnginesAreNotTouched() throws Exception {
        NetworkGate g = gate();
        try (Context c = ungated(false); Engine own = Engine.newBuilder("python")
                .option("engine.WarnInterpreterOnly", "false").build();
                Context foreign = Context.newBuilder("python").engine(own)
                        .allowIO(IOAccess.newBuilder().fileSystem(FileSystem.newDefaultFileSystem()).build())
                        .option("python.PosixModuleBackend", "java").build()) {
            g.attach(c);
            Thread guest = Thread.ofPlatform().start(() -> c.eval("python", "import time; time.sleep(1)"));
            Thread.sleep(200);
            // the embedding application's own thread, during a guest call
            assertEquals(SECRET, Files.readString(canary));
            Path hostWrite = dir.resolve("host-write.txt");
            Files.writeString(hostWrite, "host");
            assertTrue(Files.exists(hostWrite));
            guest.join();
            // a context of another engine (the application's own GraalPy), on the application's own
            // thread, is not Cordon's business
            String[] foreignRead = new String[1];
            Thread app = Thread.ofPlatform().start(
                    () -> foreignRead[0] = foreign.eval("python", "open(%s).read()".formatted(pyStr(canary))).asString());
            app.join();
            assertEquals(SECRET, foreignRead[0]);
            assertEquals(List.of(), denials);
        } finally {
            g.close();
        }
    }

    /** The pool warms contexts with this file system, unattached and before any permit wrapping. */
    @Test
    @SuppressWarnings("deprecation")
    void poolWarmUpWithTheLanguageHomeFileSystemTripsNothing() {
        List<Decision.Deny> unattached = new CopyOnWriteArrayList<>();
        var previous = GuestRegistry.unattachedSink;
        GuestRegistry.unattachedSink = unattached::add;
        FileSystem warmup = FileSystem.allowInternalResourceAccess(
                FileSystem.allowLanguageHomeAccess(FileSystem.newDenyIOFileSystem()));
        Context.Builder b = Context.newBuilder("python").engine(SharedEngine.get().engine())
                .allowIO(IOAccess.newBuilder().fileSystem(warmup).allowHostSocketAccess(true).build())
                .allowCreateThread(true).option("python.PosixModuleBackend", "java");
        try (Context c = Guests.access(b, out).build()) {
            c.eval("python", GuestPrelude.SOURCE);
            assertEquals("ok", c.eval("python", """
                    import sys, os, io, json, re, math, traceback, threading, weakref, builtins, asyncio, ssl, decimal
                    import email.mime.text, http.client, urllib.request, xml.dom.minidom, zipfile, csv
                    async def main():
                        return 'ok'
                    asyncio.run(main())""").asString(), out::toString);
            assertEquals(List.of(), unattached, "language home, JDK and resource reads during warm-up");
        } finally {
            GuestRegistry.unattachedSink = previous;
        }
    }

    @Test
    void anUnattachedCordonContextIsDeniedToo() throws Exception {
        List<Decision.Deny> unattached = new CopyOnWriteArrayList<>();
        var previous = GuestRegistry.unattachedSink;
        GuestRegistry.unattachedSink = unattached::add;
        try (Context c = ungated(false)) {
            String r = c.eval("python", """
                    try:
                        r = open(%s).read()
                    except BaseException as e:
                        r = type(e).__name__
                    r""".formatted(pyStr(canary))).asString();
            assertEquals("PermissionError", r);
            assertTrue(unattached.stream().anyMatch(d -> d.rule().equals("tripwire.filesystem")));
        } finally {
            GuestRegistry.unattachedSink = previous;
        }
    }
}
