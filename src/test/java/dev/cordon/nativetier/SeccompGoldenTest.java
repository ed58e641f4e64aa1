package dev.cordon.nativetier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The profile's rules and the compiled BPF program, against golden files. */
class SeccompGoldenTest {

    @Test
    void rulesMatchGolden() throws Exception {
        for (boolean egress : new boolean[] {false, true}) {
            SeccompProfile p = SeccompProfile.load(SeccompProfile.SANDBOX, egress);
            String text = p.rules().stream().map(Object::toString).collect(Collectors.joining("\n", "", "\n"));
            Golden.check("seccomp-" + (egress ? "egress" : "no-egress") + ".rules", text);
        }
    }

    @Test
    void bpfMatchesGolden() throws Exception {
        // The BPF bytes depend on libseccomp's code generator: the golden files were made with the
        // version in their header (Debian 12's libseccomp2 2.5.4, what the README installs).
        String version = Seccomp.version();
        for (boolean egress : new boolean[] {false, true}) {
            byte[] bpf = Seccomp.compile(SeccompProfile.load(SeccompProfile.SANDBOX, egress));
            String text = "# libseccomp " + version + " " + System.getProperty("os.arch") + ", "
                    + bpf.length / 8 + " instructions\n" + Seccomp.disassemble(bpf);
            Golden.check("seccomp-" + (egress ? "egress" : "no-egress") + ".bpf.txt", text);
        }
    }

    @Test
    void egressOnlyAddsInetFamilies() {
        var without = SeccompProfile.load(SeccompProfile.SANDBOX, false).rules();
        var with = SeccompProfile.load(SeccompProfile.SANDBOX, true).rules();
        // The no-egress variant refuses AF_INET (2) and AF_INET6 (10); the egress one does not.
        for (long family : new long[] {2, 10}) {
            assertTrue(refuses(without, family), "no-egress must refuse family " + family);
            assertTrue(!refuses(with, family), "egress must allow family " + family);
        }
        for (long family : new long[] {0, 3, 16, 17, 38, 40, 45}) {
            assertTrue(refuses(without, family) && refuses(with, family), "family " + family + " is always refused");
        }
        assertTrue(!refuses(without, 1) && !refuses(with, 1), "AF_UNIX is always allowed");
        assertEquals(without.stream().filter(r -> !r.syscall().equals("socket")).toList(),
                with.stream().filter(r -> !r.syscall().equals("socket")).toList());
    }

    /** Whether some socket() rule on a0 alone matches {@code family}. */
    private static boolean refuses(java.util.List<SeccompProfile.Rule> rules, long family) {
        return rules.stream().filter(r -> r.syscall().equals("socket") && r.args().size() == 1
                && r.args().get(0).index() == 0).anyMatch(r -> (family & r.args().get(0).mask()) == r.args().get(0).value());
    }

    @Test
    void badProfilesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> SeccompProfile.parse("x", "errno EPERM ptrace\n", false));
        assertThrows(IllegalArgumentException.class,
                () -> SeccompProfile.parse("x", "default allow\nerrno EWHAT ptrace\n", false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Seccomp.compile(SeccompProfile.parse("x", "default allow\nerrno EPERM no_such_call\n", false)));
        assertTrue(e.getMessage().contains("no_such_call"), e.getMessage());
    }
}
