package dev.cordon.graalpy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.EnvironmentAccess;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotAccess;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;
import org.graalvm.polyglot.io.FileSystem;
import org.graalvm.polyglot.io.IOAccess;

/**
 * A GraalPy context built and warmed up before its session exists, with late-bound gates.
 *
 * <p>Options, each for a reason: the emulated POSIX backend ({@code python.PosixModuleBackend=java})
 * so every file operation goes through our {@link FileSystem} (the native backend bypasses it); no
 * host class lookup, no host access, no polyglot access, no native access (so no ctypes); no host
 * environment; stdin empty; threads allowed (asyncio needs them) and tracked by {@link GuestThreads};
 * process creation on, decided by the bound process gate.
 */
final class PooledContext {

    /**
     * Runs once per context: imports what nearly every call needs and installs the call hooks.
     * Per call only {@code end} runs (one guest entry per call; {@code begin} runs once, when the
     * context is bound): it flushes what the call left buffered, repairs the standard streams for
     * the next call, and, when nothing may persist between calls, clears the globals and returns
     * to the workspace dir right away, so the next call needs no hook before it.
     */
    private static final Source BOOTSTRAP = Source.create("python", """
            # Everything lives in the function's closure, not in __main__: calls share __main__, and
            # guest code may rebind any global name (even __builtins__), so the hooks capture every
            # function and object they use when the context is built.
            def __cordon_hooks():
                import sys, os, io, weakref, builtins
                _open = io.open
                _files = weakref.WeakSet()
                _list, _getattr, _setattr, _BaseException, _TypeError = list, getattr, setattr, BaseException, TypeError
                _chdir = os.chdir
                _main = sys.modules['__main__'].__dict__
                def open(*args, **kwargs):
                    f = _open(*args, **kwargs)
                    try:
                        _files.add(f)
                    except _TypeError:
                        pass
                    return f
                open.__doc__ = _open.__doc__
                builtins.open = open
                io.open = open
                _out, _err = sys.stdout, sys.stderr
                _keep = frozenset(('__name__', '__doc__', '__builtins__', '__loader__', '__spec__', '__package__'))
                def begin(cwd):
                    _chdir(cwd)
                def end(fresh, cwd):
                    # GraalPy has no reference counting: a file opened and written without close()
                    # would stay in its buffer until some GC. Flush what the call left open.
                    if _files:
                        for f in _list(_files):
                            try:
                                if not f.closed:
                                    f.flush()
                            except _BaseException:
                                pass
                    for name, orig, fd in (('stdout', _out, 1), ('stderr', _err, 2)):
                        cur = _getattr(sys, name, None)
                        try:
                            cur.flush()
                            if not cur.closed:
                                continue
                        except _BaseException:
                            pass
                        # Closed, deleted or broken by the call: the next call gets a working stream.
                        s = orig if not orig.closed else io.TextIOWrapper(io.FileIO(fd, 'w', closefd=False), line_buffering=True)
                        _setattr(sys, name, s)
                        _setattr(sys, '__' + name + '__', s)
                    if fresh:
                        for k in [k for k in _main if k not in _keep]:
                            del _main[k]
                    if cwd is not None:
                        _chdir(cwd)
                return begin, end
            __cordon_result = __cordon_hooks()
            del __cordon_hooks
            __cordon_result
            """);

    /**
     * What nearly every call imports, loaded ahead of time in contexts the pool warms in the
     * background. Not for a context built while a caller waits (pool empty, or one-shot
     * {@code cordon exec}): there {@code json} alone costs ~0.5-3 s of interpreter time (its
     * regexes compile in pure Python) that a script may never need.
     */
    private static final Source PREWARM = Source.create("python", """
            def __cordon_prewarm():
                import json, re, math, traceback, threading
            __cordon_prewarm()
            del __cordon_prewarm
            """);

    /** Stack of the runner thread: deep but bounded guest recursion must hit RecursionError, not kill the host. */
    static final long RUNNER_STACK = 16L * 1024 * 1024;

    final Context context;
    /**
     * The thread that runs this context's calls. It is created and enters the context when the
     * context is built, usually in the pool's background refill: a thread's first entry into a
     * context sets up its Python thread state, which would otherwise fall on the session's first call.
     */
    final CallRunner runner;
    final SwitchableFileSystem fileSystem;
    final SwitchableProcessHandler processHandler;
    final RedirectStream stdout = new RedirectStream();
    final RedirectStream stderr = new RedirectStream();
    final RedirectInput stdin = new RedirectInput();
    final ContextShape shape;
    private final Value begin;
    private final Value end;

    private PooledContext(ContextShape shape, boolean prewarm) {
        this.shape = shape;
        // Until the context is bound to a session it may only read the runtime's own files
        // (allowLanguageHomeAccess is deprecated in 25.0.3 and leaves them writable).
        FileSystem warmup = FileSystem.newReadOnlyFileSystem(
                FileSystem.allowInternalResourceAccess(FileSystem.newDenyIOFileSystem()));
        this.fileSystem = new SwitchableFileSystem(warmup);
        this.processHandler = new SwitchableProcessHandler(cmd -> {
            throw new IOException("process creation is not available before the session is bound");
        });
        Context.Builder b = Context.newBuilder("python")
                .engine(SharedEngine.get().engine())
                // The gates do host I/O on guest threads: GatePermit tells the agent's tripwire that these
                // opens and process starts came through a gate (anything else on a guest thread is blocked).
                .allowIO(IOAccess.newBuilder().fileSystem(dev.cordon.agent.GatePermit.fileSystem(fileSystem))
                        .allowHostSocketAccess(shape.socketAccess()).build())
                .allowHostAccess(HostAccess.NONE)
                .allowHostClassLookup(name -> false)
                .allowHostClassLoading(false)
                .allowPolyglotAccess(PolyglotAccess.NONE)
                .allowNativeAccess(false)
                .allowCreateThread(true)
                .allowCreateProcess(true)
                .processHandler(dev.cordon.agent.GatePermit.processHandler(processHandler))
                .allowEnvironmentAccess(EnvironmentAccess.NONE)
                .allowValueSharing(false)
                .allowInnerContextOptions(false)
                .out(stdout)
                .err(stderr)
                .in(stdin)
                .option("python.PosixModuleBackend", "java")
                .option("python.DontWriteBytecodeFlag", "true");
        shape.environment().forEach(b::environment);
        if (!shape.pythonPath().isEmpty()) {
            b.option("python.PythonPath",
                    shape.pythonPath().stream().map(Path::toString).collect(Collectors.joining(":")));
        }
        this.context = b.build();
        this.runner = new CallRunner("cordon-context", RUNNER_STACK);
        Value hooks;
        try {
            hooks = runner.submit(() -> {
                context.eval(Source.create("python", dev.cordon.net.GuestPrelude.SOURCE));
                Value h = context.eval(BOOTSTRAP);
                context.eval("python", "del __cordon_result");
                if (prewarm) {
                    context.eval(PREWARM);
                }
                return h;
            }).get();
        } catch (java.util.concurrent.ExecutionException e) {
            close();
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while warming a context", e);
        }
        this.begin = hooks.getArrayElement(0);
        this.end = hooks.getArrayElement(1);
    }

    /** @param prewarm also import the common modules (for contexts built ahead of need) */
    static PooledContext create(ContextShape shape, boolean prewarm) {
        return new PooledContext(shape, prewarm);
    }

    /** Once, when the context is bound to a session: start in the workspace dir. */
    void beginSession(String cwd) {
        begin.execute(cwd);
        fileSystem.takeCwdChanged();
    }

    /**
     * After every call (also after a limit stopped it): flush, repair the streams and, when
     * {@code fresh}, clear the globals; when {@code fresh} and the call changed its cwd (the
     * filesystem saw a chdir), go back to {@code home} for the next call.
     */
    void endCall(boolean fresh, String home) {
        boolean moved = fileSystem.takeCwdChanged();
        end.execute(fresh, fresh && moved ? home : null);
        if (fresh && moved) {
            fileSystem.takeCwdChanged(); // our own chdir back home
        }
    }

    void close() {
        runner.shutdown();
        try {
            context.close(true);
        } catch (RuntimeException e) {
            // A context that is already closing or wedged: nothing more we can do for it here.
        }
    }
}
