# Cordon's egress bridge for one-shot sandboxed commands: listens on 127.0.0.1:PORT inside the
# sandbox (whose only interface is loopback) and relays each connection to the host proxy's unix
# socket, then runs the command and exits with its status. Started by the launcher as
#   python3 -I -S -B /run/cordon/lib/cordon_bridge.py PORT -- COMMAND ARGS...
# The proxy decides every destination; this only moves bytes. The native worker
# (cordon_worker.py) loads this file for the same relay.
import os
import socket
import sys
import threading

PROXY = '/run/cordon/io/proxy.sock'


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(conn):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(PROXY)
    except OSError:
        conn.close()
        up.close()
        return
    t = threading.Thread(target=pump, args=(up, conn), daemon=True, name='cordon-bridge')
    t.start()
    pump(conn, up)
    t.join()
    conn.close()
    up.close()


def accept(srv):
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True, name='cordon-bridge').start()


def listen(port):
    """The bridge's listener on 127.0.0.1:port, served by a daemon thread."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', port))
    srv.listen(64)
    threading.Thread(target=accept, args=(srv,), daemon=True, name='cordon-bridge').start()
    return srv


def main():
    port = int(sys.argv[1])
    argv = sys.argv[3:]
    srv = listen(port)
    pid = os.fork()
    if pid == 0:
        srv.close()
        try:
            os.execv(argv[0], argv)
        except OSError as e:
            os.write(2, ('cordon: cannot run %s: %s\n' % (argv[0], e.strerror)).encode())
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == '__main__':
    main()
