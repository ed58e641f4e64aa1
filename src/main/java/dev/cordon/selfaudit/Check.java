package dev.cordon.selfaudit;

/**
 * One escape attempt's verdict.
 *
 * @param id       e.g. {@code fs.read-outside}, {@code net.connect}, {@code proc.shell}
 * @param tier     where the guest code ran: {@code graalpy}, {@code native} (the native engine) or
 *                 {@code subprocess} (a sandboxed {@code python3} started by guest code)
 * @param status   {@link Status#HELD}, {@link Status#NOT_HELD} or {@link Status#SKIPPED}
 * @param observed what the host saw from outside (canary bytes, files, listener counts, timings),
 *                 and for a skip, why
 * @param guest    what the guest code saw, per attempt (e.g. {@code PermissionError x5}); informative
 *                 only: the verdict never rests on it
 */
public record Check(String id, String tier, Status status, String observed, String guest) {

    public enum Status {
        HELD("HELD"), NOT_HELD("NOT HELD"), SKIPPED("SKIPPED");

        private final String text;

        Status(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    static Check held(String id, String tier, String observed, String guest) {
        return new Check(id, tier, Status.HELD, observed, guest);
    }

    static Check notHeld(String id, String tier, String observed, String guest) {
        return new Check(id, tier, Status.NOT_HELD, observed, guest);
    }

    static Check skipped(String id, String tier, String why) {
        return new Check(id, tier, Status.SKIPPED, why, "");
    }

    static Check of(boolean held, String id, String tier, String observed, String guest) {
        return held ? held(id, tier, observed, guest) : notHeld(id, tier, observed, guest);
    }
}
