package dev.cordon.nativetier;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A parsed seccomp profile ({@code native-fallback/seccomp/*.profile}): the rules for one
 * variant (egress allowed or not), before compilation. Pure; the syntax is described in the
 * profile file itself.
 */
record SeccompProfile(String name, List<Rule> rules) {

    /** The profile every sandbox uses. */
    static final String SANDBOX = "sandbox.profile";
    /** Stacked by the Python worker when it may start no program. */
    static final String NOEXEC = "noexec.profile";

    /** errno names the profiles may use; the values are the same on x86_64 and aarch64. */
    static final Map<String, Integer> ERRNO = Map.of("EPERM", 1, "EACCES", 13, "ENOSYS", 38, "EAFNOSUPPORT", 97);

    /** One rule: fail {@code syscall} with {@code errno} when all comparisons hold. */
    record Rule(int errno, String syscall, List<ArgCmp> args) {
        Rule {
            args = List.copyOf(args);
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("errno ").append(errno).append(' ').append(syscall);
            for (ArgCmp a : args) {
                b.append(' ').append(a);
            }
            return b.toString();
        }
    }

    /** {@code (arg[index] & mask) == value}. */
    record ArgCmp(int index, long mask, long value) {
        @Override
        public String toString() {
            return "a" + index + "&0x" + Long.toHexString(mask) + "==0x" + Long.toHexString(value);
        }
    }

    SeccompProfile {
        rules = List.copyOf(rules);
    }

    /** Loads a profile shipped in the jar and keeps the rules of one variant. */
    static SeccompProfile load(String file, boolean egress) {
        String res = "/native-fallback/seccomp/" + file;
        try (InputStream in = SeccompProfile.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new IllegalStateException("seccomp profile " + res + " is not on the class path");
            }
            return parse(file, new String(in.readAllBytes(), StandardCharsets.UTF_8), egress);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static SeccompProfile parse(String name, String text, boolean egress) {
        List<Rule> rules = new ArrayList<>();
        boolean sawDefault = false;
        int lineNo = 0;
        for (String raw : text.split("\n")) {
            lineNo++;
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] t = line.split("\\s+");
            int i = 0;
            if (t[0].equals("[egress]") || t[0].equals("[no-egress]")) {
                boolean wanted = t[0].equals("[egress]");
                i++;
                if (wanted != egress) {
                    continue;
                }
            }
            if (t[i].equals("default")) {
                if (t.length != i + 2 || !t[i + 1].equals("allow")) {
                    throw bad(name, lineNo, "only 'default allow' is supported");
                }
                sawDefault = true;
                continue;
            }
            if (!t[i].equals("errno") || t.length < i + 3) {
                throw bad(name, lineNo, "expected 'errno NAME SYSCALL [aN&MASK==VALUE ...]'");
            }
            Integer errno = ERRNO.get(t[i + 1]);
            if (errno == null) {
                throw bad(name, lineNo, "unknown errno " + t[i + 1] + " (known: " + ERRNO.keySet() + ")");
            }
            String syscall = t[i + 2];
            List<ArgCmp> args = new ArrayList<>();
            for (int k = i + 3; k < t.length; k++) {
                args.add(arg(name, lineNo, t[k]));
            }
            rules.add(new Rule(errno, syscall, args));
        }
        if (!sawDefault) {
            throw bad(name, 0, "missing 'default allow'");
        }
        return new SeccompProfile(name + (egress ? " [egress]" : " [no-egress]"), rules);
    }

    private static ArgCmp arg(String name, int line, String s) {
        int eq = s.indexOf("==");
        if (!s.startsWith("a") || eq < 0) {
            throw bad(name, line, "bad comparison " + s);
        }
        String lhs = s.substring(1, eq);
        long mask = -1L;
        int amp = lhs.indexOf('&');
        if (amp >= 0) {
            mask = number(name, line, lhs.substring(amp + 1));
            lhs = lhs.substring(0, amp);
        }
        int index = Integer.parseInt(lhs);
        if (index < 0 || index > 5) {
            throw bad(name, line, "argument index out of range in " + s);
        }
        return new ArgCmp(index, mask, number(name, line, s.substring(eq + 2)));
    }

    private static long number(String name, int line, String s) {
        try {
            return s.startsWith("0x") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw bad(name, line, "bad number " + s);
        }
    }

    private static IllegalArgumentException bad(String name, int line, String what) {
        return new IllegalArgumentException("seccomp profile " + name + ":" + line + ": " + what);
    }
}
