package dev.cordon.net;

/**
 * Guest-side Python: every way issue 3 lists to open a connection, each as a function
 * {@code f(host, port) -> str} that returns {@code "ok <server reply>"} or the exception as
 * {@code "Type: message"}. {@code run(targets)} tries every path against every target and returns
 * the results as JSON, so one (slow, interpreted) evaluation covers the whole matrix.
 */
final class PyPaths {

    private PyPaths() { }

    static final String HARNESS = """
            import socket, _socket, _thread, json, threading, select, selectors, ssl, asyncio, errno
            import urllib.request, urllib.error, http.client, concurrent.futures

            def fmt(e):
                return type(e).__name__ + ': ' + str(e)

            def fam(h):
                return socket.AF_INET6 if ':' in h else socket.AF_INET

            def hostport(h, p):
                return ('[%s]' % h if ':' in h else h) + ':%d' % p

            def raw(s):
                s.settimeout(5)
                s.sendall(b'RAW\\n')
                d = s.recv(200)
                s.close()
                return 'ok ' + d.decode().strip()

            def via_socket(h, p):
                s = socket.socket(fam(h), socket.SOCK_STREAM)
                s.settimeout(5)
                try:
                    s.connect((h, p))
                    return raw(s)
                finally:
                    s.close()

            def via_connect_ex(h, p):
                s = socket.socket(fam(h), socket.SOCK_STREAM)
                s.settimeout(5)
                try:
                    r = s.connect_ex((h, p))
                    if r != 0:
                        return 'errno %d %s' % (r, errno.errorcode.get(r, '?'))
                    return raw(s)
                finally:
                    s.close()

            def via_create_connection(h, p):
                return raw(socket.create_connection((h, p), timeout=5))

            def via__socket(h, p):
                s = _socket.socket(fam(h), _socket.SOCK_STREAM)
                try:
                    s.connect((h, p))
                    s.send(b'RAW\\n')
                    return 'ok ' + s.recv(200).decode().strip()
                finally:
                    s.close()

            def all_subclasses():
                seen, todo = [], [object]
                while todo:
                    c = todo.pop()
                    for s in type.__subclasses__(c):
                        if s not in seen:
                            seen.append(s)
                            todo.append(s)
                return seen

            def via_subclasses(h, p):
                base = next(c for c in all_subclasses() if c.__name__ == 'socket' and c.__module__ == '_socket')
                s = base(fam(h), 1)
                try:
                    base.connect(s, (h, p))
                    base.send(s, b'RAW\\n')
                    return 'ok ' + base.recv(s, 200).decode().strip()
                finally:
                    base.close(s)

            def via_mro(h, p):
                s = socket.socket(fam(h))
                try:
                    type(s).__mro__[-2].connect(s, (h, p))
                    return raw(s)
                finally:
                    s.close()

            def via_urllib(h, p):
                with urllib.request.urlopen('http://%s/' % hostport(h, p), timeout=5) as r:
                    return 'ok ' + r.read().decode()

            def via_http_client(h, p):
                c = http.client.HTTPConnection(h, p, timeout=5)
                try:
                    c.request('GET', '/')
                    return 'ok ' + c.getresponse().read().decode()
                finally:
                    c.close()

            def via_ssl(h, p):
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(socket.socket(fam(h)), server_hostname='x.test', do_handshake_on_connect=False)
                try:
                    s.connect((h, p))
                    return 'ok connected'  # the plain server speaks no TLS: the connect is what counts
                finally:
                    s.close()

            def via_asyncio(h, p):
                async def main():
                    r, w = await asyncio.wait_for(asyncio.open_connection(h, p), 5)
                    w.write(b'RAW\\n')
                    d = await r.readline()
                    w.close()
                    return 'ok ' + d.decode().strip()
                return asyncio.run(main())

            def via_asyncio_sock(h, p):
                async def main():
                    loop = asyncio.get_running_loop()
                    s = socket.socket(fam(h))
                    s.setblocking(False)
                    try:
                        await loop.sock_connect(s, (h, p))
                        await loop.sock_sendall(s, b'RAW\\n')
                        return 'ok ' + (await loop.sock_recv(s, 200)).decode().strip()
                    finally:
                        s.close()
                return asyncio.run(main())

            def via_select(h, p):
                s = socket.socket(fam(h))
                s.setblocking(False)
                try:
                    r = s.connect_ex((h, p))
                    if r not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                        return 'errno %d %s' % (r, errno.errorcode.get(r, '?'))
                    _, w, _ = select.select([], [s], [], 5)
                    if not w:
                        return 'timeout'
                    s.setblocking(True)
                    return raw(s)
                finally:
                    s.close()

            def via_selectors(h, p):
                sel = selectors.DefaultSelector()
                s = socket.socket(fam(h))
                s.setblocking(False)
                try:
                    r = s.connect_ex((h, p))
                    if r not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                        return 'errno %d %s' % (r, errno.errorcode.get(r, '?'))
                    sel.register(s, selectors.EVENT_WRITE)
                    if not sel.select(5):
                        return 'timeout'
                    sel.unregister(s)
                    s.setblocking(True)
                    return raw(s)
                finally:
                    s.close()
                    sel.close()

            def via_thread(h, p):
                out = []
                def run():
                    try:
                        out.append(via_socket(h, p))
                    except BaseException as e:
                        out.append(fmt(e))
                t = threading.Thread(target=run)
                t.start()
                t.join(10)
                return out[0] if out else 'no result'

            def via_start_new_thread(h, p):
                out = []
                done = _thread.allocate_lock()
                done.acquire()
                def run():
                    try:
                        out.append(via__socket(h, p))
                    except BaseException as e:
                        out.append(fmt(e))
                    finally:
                        done.release()
                _thread.start_new_thread(run, ())
                done.acquire(timeout=10)
                return out[0] if out else 'no result'

            def via_executor(h, p):
                with concurrent.futures.ThreadPoolExecutor(2) as ex:
                    return ex.submit(via_create_connection, h, p).result(10)

            PATHS = {k[4:]: v for k, v in dict(globals()).items() if k.startswith('via_')}

            def attempt(f, *args):
                try:
                    return f(*args)
                except BaseException as e:
                    return fmt(e)

            def run(targets):
                return json.dumps({'%s %s %d' % (name, h, p): attempt(f, h, p)
                                   for (h, p) in targets for name, f in PATHS.items()})
            """;
}
