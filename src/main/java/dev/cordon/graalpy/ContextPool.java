package dev.cordon.graalpy;

import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Pre-warmed contexts of one {@link ContextShape}. Acquiring a warm context costs a queue poll
 * instead of a context build plus Python start-up (~0.1-0.25 s on a shared engine, ~2 s for the
 * first). One background thread refills the pool, one context at a time, and waits while as many
 * calls run as there are cores (up to {@link #MAX_DEFER_MS}; an empty pool only means the next
 * session builds its context itself), so warming never takes both cores of a small machine away
 * from calls in flight. It runs at normal priority on purpose: at nice 19 a build starved by busy
 * sessions dragged on for the whole measurement and made every call of `cordon serve` 2.6x slower
 * (27 ms vs 10 ms median; it holds engine-wide state while it builds), and Java's own thread
 * priorities do nothing on Linux.
 */
public final class ContextPool implements AutoCloseable {

    private final ContextShape shape;
    private final int target;
    private final BlockingDeque<PooledContext> ready = new LinkedBlockingDeque<>();
    private final AtomicInteger building = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread refiller;
    private final Object signal = new Object();
    /** Longest a refill waits for a free core before building anyway. */
    static final long MAX_DEFER_MS = 30_000;
    /**
     * How long after an acquire the refill holds off: a session is usually opened to run code at
     * once, and a context build next to its first call (CPU, allocation, GC) slows that call.
     */
    static final long AFTER_ACQUIRE_MS = 500;
    private volatile long lastAcquire;

    /**
     * @param shape what every context of this pool has
     * @param size  how many warm contexts to keep ready (0: build on demand)
     */
    public ContextPool(ContextShape shape, int size) {
        if (size < 0) {
            throw new IllegalArgumentException("pool size must be >= 0");
        }
        this.shape = shape;
        this.target = size;
        if (size > 0) {
            refiller = Thread.ofPlatform().name("cordon-pool-refill").daemon(true)
                    .unstarted(this::refillLoop);
            refiller.start();
        } else {
            refiller = null;
        }
    }

    public ContextShape shape() {
        return shape;
    }

    public int size() {
        return target;
    }

    /** How many warm contexts are ready now. */
    public int ready() {
        return ready.size();
    }

    /** A warm context if one is ready, else one built now on the caller's thread. */
    PooledContext acquire() {
        if (closed.get()) {
            throw new IllegalStateException("the context pool is closed");
        }
        PooledContext c = ready.pollFirst();
        lastAcquire = System.nanoTime();
        synchronized (signal) {
            signal.notifyAll();
        }
        return c != null ? c : PooledContext.create(shape, false);
    }

    /** Blocks until the pool holds its target number of warm contexts (for start-up and benchmarks). */
    public void awaitWarm(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (ready.size() < target && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
    }

    private void refillLoop() {
        int cores = Runtime.getRuntime().availableProcessors();
        while (!closed.get()) {
            try {
                if (ready.size() + building.get() < target) {
                    long deferUntil = System.nanoTime() + MAX_DEFER_MS * 1_000_000L;
                    while ((Watchdog.get().running() >= cores
                            || System.nanoTime() - lastAcquire < AFTER_ACQUIRE_MS * 1_000_000L)
                            && System.nanoTime() < deferUntil && !closed.get()) {
                        Thread.sleep(50);
                    }
                    building.incrementAndGet();
                    try {
                        PooledContext c = PooledContext.create(shape, true);
                        if (closed.get()) {
                            c.close();
                        } else {
                            ready.addLast(c);
                        }
                    } finally {
                        building.decrementAndGet();
                    }
                } else {
                    synchronized (signal) {
                        signal.wait(1000);
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | LinkageError e) {
                if (closed.get()) {
                    return; // closing interrupted the build: nothing went wrong
                }
                System.err.println("cordon: warming a context failed: " + e);
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            if (refiller != null) {
                refiller.interrupt();
            }
            PooledContext c;
            while ((c = ready.pollFirst()) != null) {
                c.close();
            }
        }
    }
}
