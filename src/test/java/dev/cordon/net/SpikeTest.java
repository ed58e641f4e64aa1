package dev.cordon.net;

import dev.cordon.decision.Decision;
import dev.cordon.graalpy.SharedEngine;
import dev.cordon.policy.Policy;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.IOAccess;
import org.junit.jupiter.api.Test;

class SpikeTest {
    @Test
    void spike() throws Exception {
        System.out.println("available " + NetworkGate.available() + " " + NetworkGate.unavailableReason());
        List<Decision.Deny> denied = new CopyOnWriteArrayList<>();
        GuestRegistry.unattachedSink = d -> System.out.println("UNATTACHED " + d.blockedLine());
        NetworkGate g = new NetworkGate(Policy.DEFAULT, denied::add, Resolver.of(java.util.Map.of()), EgressLog.NONE);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // Unwrapped default FS: every stdlib read on the guest thread goes through the tripwire.
        Context.Builder b = Context.newBuilder("python").engine(SharedEngine.get().engine())
                .allowIO(IOAccess.newBuilder().fileSystem(FileSystem.newDefaultFileSystem()).allowHostSocketAccess(true).build())
                .allowCreateThread(true).allowCreateProcess(true).option("python.PosixModuleBackend", "java").out(out).err(out);
        try (Context c = b.build()) {
            c.eval("python", "1");
            g.attach(c);
            c.eval("python", """
                def t(label, f):
                    try:
                        print(label, 'ok', f())
                    except BaseException as e:
                        print(label, type(e).__name__, str(e)[:150])
                import ssl, os, random, hashlib, tempfile, datetime, json, subprocess, threading, uuid, locale, platform, socket
                t('sslctx', lambda: ssl.create_default_context() is not None)
                t('urandom', lambda: len(os.urandom(8)))
                t('random', lambda: random.random() < 1)
                t('uuid', lambda: str(uuid.uuid4())[:4])
                t('hostname', lambda: socket.gethostname())
                t('uname', lambda: platform.uname().node)
                t('tz', lambda: datetime.datetime.now().astimezone().tzname())
                t('tmp', lambda: tempfile.gettempdir())
                t('open etc', lambda: open('/etc/hostname').read()[:5])
                t('write tmp', lambda: open('/tmp/cordon-tripwire-x', 'w').write('x'))
                t('subprocess', lambda: subprocess.run(['/bin/true']).returncode)
                t('thread open', lambda: (lambda r: (threading.Thread(target=lambda: r.append(open('/etc/hostname').read()[:3])).start(), r))([]))
                import zoneinfo
                t('zoneinfo', lambda: zoneinfo.ZoneInfo('Europe/Paris').key)
                """);
        }
        System.out.println(out);
        denied.forEach(d -> System.out.println("DENIED " + d.blockedLine()));
    }
}
