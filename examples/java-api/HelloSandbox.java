import dev.cordon.ExecResult;
import dev.cordon.Sandbox;
import dev.cordon.Session;
import dev.cordon.policy.Policy;
import dev.cordon.policy.PolicyLoader;

/**
 * The Java API in one file: a sandbox on a small policy (the default one, plus state that persists
 * across calls), one session, two calls that share state, and a denial. Run it (after `bin/cordon --version` has built the jar) with:
 *
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -javaagent:target/cordon.jar \
 *       -cp "target/cordon.jar:target/lib/*" examples/java-api/HelloSandbox.java
 */
public class HelloSandbox {
    public static void main(String[] args) throws Exception {
        Policy policy = PolicyLoader.parse("""
                execution:
                  sandbox:
                    filesystem:
                      persist_across_calls: true
                """, "inline policy");
        try (Sandbox sandbox = Sandbox.builder().policy(policy).poolSize(0).build();
             Session session = sandbox.openSession("demo")) {
            session.upload("numbers.txt", "3\n4\n5\n".getBytes());
            ExecResult first = session.exec("nums = [int(x) for x in open('/workspace/uploads/numbers.txt')]");
            ExecResult second = session.exec("print(sum(n * n for n in nums))");
            System.out.println("status=" + second.status().json() + " stdout=" + second.stdout().strip());
            ExecResult denied = session.exec("open('/etc/passwd').read()");
            System.out.println("denied: " + denied.error().type() + ": " + denied.error().message());
            System.out.println("blocked: " + denied.blocked().get(0).policy());
        }
    }
}
