package dev.cordon.graalpy;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The session's runner: one platform thread with a large stack that runs the session's calls, so the
 * caller can give up on guest code that ignores interruption (see {@link GuestSession}).
 *
 * <p>Leaner than a single-thread executor on the path every call takes: the job queue is a
 * {@link LinkedTransferQueue}, whose {@code take} spins briefly before parking, and {@link #await}
 * spins up to {@link #SPIN_NANOS} for the result before it parks. A short call (a warm snippet runs
 * in a few µs) then usually completes without the caller being put to sleep and woken again, which
 * is the larger part of a cross-thread handoff. The spin is bounded, so a long call costs at most
 * that much extra CPU.
 */
final class CallRunner {

    /** How long a caller spins for a result before it parks (the cost of one park/unpark pair, roughly). */
    static final long SPIN_NANOS = 20_000;

    private static final Runnable STOP = () -> { };

    private final LinkedTransferQueue<Runnable> jobs = new LinkedTransferQueue<>();
    private final Thread thread;
    private volatile boolean stopped;

    CallRunner(String name, long stackSize) {
        thread = new Thread(null, this::loop, name, stackSize);
        thread.setDaemon(true);
        thread.start();
    }

    Thread thread() {
        return thread;
    }

    private void loop() {
        while (true) {
            Runnable job;
            try {
                job = jobs.take();
            } catch (InterruptedException e) {
                if (stopped) {
                    return;
                }
                continue;
            }
            if (job == STOP) {
                return;
            }
            job.run();
            Thread.interrupted(); // an interrupt aimed at the finished call must not hit the next one
            if (stopped && jobs.isEmpty()) {
                return;
            }
        }
    }

    <T> Future<T> submit(Callable<T> body) {
        if (stopped) {
            throw new IllegalStateException("the session's runner was stopped");
        }
        FutureTask<T> task = new FutureTask<>(body);
        jobs.put(task);
        return task;
    }

    /**
     * Waits for {@code f} up to {@code timeoutMillis}: spins first (bounded), then parks.
     *
     * @throws TimeoutException if it is not done by then
     */
    static <T> T await(Future<T> f, long timeoutMillis) throws InterruptedException, ExecutionException, TimeoutException {
        if (!f.isDone()) {
            long end = System.nanoTime() + SPIN_NANOS;
            do {
                Thread.onSpinWait();
            } while (!f.isDone() && System.nanoTime() < end);
        }
        return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Finishes the queued jobs, then the thread ends. */
    void shutdown() {
        stopped = true;
        jobs.put(STOP);
    }

    /** Gives up on the thread: interrupts it; it ends when (if ever) its current job returns. */
    void abandon() {
        stopped = true;
        jobs.clear();
        jobs.put(STOP);
        thread.interrupt();
    }
}
