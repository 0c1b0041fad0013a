#!/usr/bin/env python3
"""Newline-delimited JSON over a unix socket, for the benchmarks.

Both QEMU's QMP socket and vessel's control socket (`--api-socket`, what
`vessel ctl` speaks) are one JSON object per line. bench/state.sh and
bench/overcommit.sh run this file as a command:

    jsonsock.py [--timeout S] OP SOCKET [ARGS...]

--timeout bounds the connection (the socket may not exist yet: retried until
then) and, for the ops that wait for something, the wait (default 30 s).
Figures go to stdout, as shell assignments where a script evals them; a
failure is one line on stderr and exit status 1.

QMP (QEMU):
  qmp-status                      prints query-status's status
  qmp-wait-running                polls query-status until "running", prints
                                  the time it saw it (seconds since the epoch)
  qmp-migrate URI DOWNTIME_MS [CAPABILITY...]
                                  migrates (max-bandwidth 100 GiB/s, the named
                                  migration capabilities on) and waits for
                                  completion: m_total m_down m_rounds m_bytes
                                  m_wall
  qmp-balloon BYTES LIMIT         balloon to a guest size of BYTES, polls
                                  query-balloon until there (at most LIMIT s):
                                  b_secs b_actual b_before
  qmp-cont, qmp-quit
vessel's control socket:
  vessel-stats                    `stats`, summed up: s_rss s_pss s_vms ...
  vessel-json                     `stats` as it came, indented
  vessel-balloon BYTES LIMIT [POLL_S]
                                  `balloon` BYTES, polls `stats` until
                                  actual_bytes >= BYTES: b_secs b_actual
  vessel-quit

Or import it (sys.path.insert(0, 'bench/lib')) and use JsonSock, QMP, Vessel.
"""
import json
import socket
import sys
import time


class JsonSockError(Exception):
    """The other side answered with an error."""


class JsonSock:
    """A unix-socket connection exchanging one JSON object per line."""

    def __init__(self, path, timeout=30.0, retry=0.002):
        deadline = time.time() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                break
            except OSError:
                s.close()
                if time.time() > deadline:
                    raise
                time.sleep(retry)
        self.s = s
        self.f = s.makefile('rw')

    def read(self):
        """The next message (EOFError when the other side closed)."""
        line = self.f.readline()
        if not line:
            raise EOFError('connection closed')
        return json.loads(line)

    def send(self, msg):
        self.f.write(json.dumps(msg) + '\n')
        self.f.flush()

    def request(self, msg, is_reply):
        """Sends msg; returns the first message is_reply accepts (skipping
        the others, such as events)."""
        self.send(msg)
        while True:
            r = self.read()
            if is_reply(r):
                return r


class QMP(JsonSock):
    """QEMU's QMP: reads the greeting and enters command mode."""

    def __init__(self, path, timeout=30.0, retry=0.002):
        super().__init__(path, timeout, retry)
        self.read()  # greeting
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        r = self.request({'execute': name, 'arguments': args}, lambda m: 'event' not in m)
        if 'error' in r:
            raise JsonSockError('qemu: %s: %s' % (name, r['error'].get('desc')))
        return r['return']


class Vessel(JsonSock):
    """vessel's control socket: {"cmd": NAME, ...} -> {"ok": ..., ...}."""

    def call(self, cmd, **args):
        args['cmd'] = cmd
        r = self.request(args, lambda m: 'ok' in m)
        if not r['ok']:
            raise JsonSockError('vessel: %s: %s' % (cmd, r.get('error')))
        return r


def vessel_figures(r):
    """The figures of a vessel `stats` answer that bench/overcommit.sh uses."""
    vms = r.get('vms', [])
    host, store = r.get('host'), r.get('page_store')
    if host is None:
        raise JsonSockError('vessel stats: no "host" figures: %s' % json.dumps(r)[:300])
    out = {'rss': host['rss_bytes'], 'pss': host['pss_bytes'], 'vms': len(vms),
           'running': sum(1 for v in vms if v.get('running', True))}
    if store is not None:
        out.update(stored=store['pages_stored'], saved=store['pages_saved'], saved_bytes=store['bytes_saved'],
                   refs=store.get('references', ''), limit=store.get('reference_limit', ''))
    sh = [v['sharing'] for v in vms if 'sharing' in v]
    if sh:
        out.update(shared_now=sum(s['shared_now'] for s in sh), zero=sum(s['zero_pages_released'] for s in sh),
                   scanned=sum(s['pages_scanned'] for s in sh), passes=min(s['passes'] for s in sh),
                   broken=sum(s.get('huge_regions_broken', 0) for s in sh))
    # Memory given back, counted as ESX does: pages shared away plus zero
    # pages released (vessel's `saved`; older vessels lack it and only
    # count the zero pages released ever).
    saved = r.get('saved')
    if saved is not None:
        out.update(saved_total=saved['pages'], zero_now=saved['zero_pages'])
    elif store is not None:
        out.update(saved_total=store['pages_saved'] + out.get('zero', 0), zero_now=out.get('zero', 0))
    b = [v['balloon'] for v in vms if 'balloon' in v]
    if b:
        out.update(actual=b[0]['actual_bytes'], target=b[0]['target_bytes'], reported=b[0]['reported_bytes'])
    return out


def quit_quietly(call):
    try:
        call('quit')
    except EOFError:  # it may close the socket before it answers
        pass


def run(op, path, args, timeout):
    start = time.time()
    if op == 'qmp-status':
        print(QMP(path, timeout).cmd('query-status')['status'])
    elif op == 'qmp-wait-running':
        q = QMP(path, timeout)
        while q.cmd('query-status')['status'] != 'running':
            if time.time() - start > timeout:
                sys.exit('not running after %g s' % timeout)
            time.sleep(0.001)
        print('%.6f' % time.time())
    elif op == 'qmp-migrate':
        uri, downtime = args[0], int(args[1])
        q = QMP(path, timeout)
        # QEMU's default bandwidth cap (32 MiB/s) would measure the cap.
        q.cmd('migrate-set-parameters', **{'max-bandwidth': 100 << 30, 'downtime-limit': downtime})
        if args[2:]:
            q.cmd('migrate-set-capabilities',
                  capabilities=[{'capability': c, 'state': True} for c in args[2:]])
        t0 = time.time()
        q.cmd('migrate', uri=uri)
        while True:
            m = q.cmd('query-migrate')
            st = m.get('status')
            if st == 'completed':
                break
            if st in ('failed', 'cancelled'):
                sys.exit('migration %s: %s' % (st, m.get('error-desc', '')))
            if time.time() - t0 > timeout:
                sys.exit('migration not completed after %g s (status %s)' % (timeout, st))
            time.sleep(0.002)
        ram = m.get('ram', {})
        print('m_total=%s m_down=%s m_rounds=%s m_bytes=%s m_wall=%.1f' % (
            m.get('total-time'), m.get('downtime'), ram.get('dirty-sync-count'),
            ram.get('transferred'), (time.time() - t0) * 1000))
    elif op == 'qmp-balloon':
        want, limit = int(args[0]), float(args[1])
        q = QMP(path, timeout)
        before = q.cmd('query-balloon')['actual']
        t0 = time.time()
        q.cmd('balloon', value=want)
        while True:
            actual = q.cmd('query-balloon')['actual']
            if actual <= want:
                break
            if time.time() - t0 > limit:
                sys.exit('balloon: actual %d after %g s (target %d)' % (actual, limit, want))
            time.sleep(0.002)
        print('b_secs=%.4f b_actual=%d b_before=%d' % (time.time() - t0, actual, before))
    elif op == 'qmp-cont':
        QMP(path, timeout).cmd('cont')
    elif op == 'qmp-quit':
        quit_quietly(QMP(path, timeout).cmd)
    elif op == 'vessel-stats':
        f = vessel_figures(Vessel(path, timeout).call('stats'))
        print(' '.join('s_%s=%s' % kv for kv in f.items()))
    elif op == 'vessel-json':
        print(json.dumps(Vessel(path, timeout).call('stats'), indent=1))
    elif op == 'vessel-balloon':
        want, limit = int(args[0]), float(args[1])
        poll = float(args[2]) if len(args) > 2 else 0.01
        v = Vessel(path, timeout)
        t0 = time.time()
        v.call('balloon', bytes=want)
        while True:
            f = vessel_figures(v.call('stats'))
            if f.get('actual', 0) >= want:
                break
            if time.time() - t0 > limit:
                sys.exit('balloon: actual_bytes %s after %g s (target %d)' % (f.get('actual'), limit, want))
            time.sleep(poll)
        print('b_secs=%.4f b_actual=%d' % (time.time() - t0, f['actual']))
    elif op == 'vessel-quit':
        quit_quietly(Vessel(path, timeout).call)
    else:
        sys.exit('jsonsock: unknown op %s' % op)


def main(argv):
    timeout = 30.0
    if len(argv) >= 2 and argv[0] == '--timeout':
        timeout = float(argv[1])
        argv = argv[2:]
    if len(argv) < 2:
        sys.exit('usage: jsonsock.py [--timeout S] OP SOCKET [ARGS...] (ops: see the top of %s)' % __file__)
    try:
        run(argv[0], argv[1], argv[2:], timeout)
    except (JsonSockError, EOFError, OSError) as e:
        sys.exit('%s: %s' % (argv[0], e))


if __name__ == '__main__':
    main(sys.argv[1:])
