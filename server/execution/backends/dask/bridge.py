#!/usr/bin/env python3
"""Control Room <-> Dask bridge.

One long-lived process per run (or per scheduler) holding a `distributed.Client`. Node drives it with
JSON lines on stdin and reads JSON lines (events) from stdout. Logs go to stderr.

Commands (stdin, one JSON object per line, field `op`):
  {"op":"submit","taskId":T,"key":K?,"pool":P,"argv":[...],"env":{},"cwd":D,"timeout":S|null,
   "attempt":N,"pidFile":F|null,"stdout":F|null,"stderr":F|null}
  {"op":"cancel","taskIds":[T,...],"grace":S}          (or "taskId":T)
  {"op":"workers"}                                     -> {"event":"workers",...}
  {"op":"ping","id":X}                                 -> {"event":"pong","id":X}
  {"op":"shutdown"}                                    -> kills running tasks, {"event":"closed"}, exit 0
EOF on stdin = shutdown.

Events (stdout, field `event`):
  hello    {protocol, pid, python, distributed}                 before connecting
  ready    {scheduler:{address,id,dashboard,dashboardPort}, workers:[...], plugin:bool}
  fatal    {message}                                            then exit 2
  worker   {action:"added"|"removed", worker:{name,address,host,pid,pools,resources,nthreads,jobId,...},
            tasks:[taskIds it was processing]}
  workers  {workers:[...]}
  task     {taskId, key, attempt, state, ts, ...}
           state: queued (submitted; `noWorker`=true when no connected worker has the pool) |
                  no-worker (scheduler: no worker can run it) | processing (assigned to a worker) |
                  running (process started: worker, address, host, pid, jobId) |
                  rescheduled (its worker vanished while it ran or waited; Dask runs it again) |
                  finished (process exited: exitCode, signal, timedOut, durationMs, worker, ...) |
                  cancelled | lost (KilledWorker: workers died running it too often) |
                  error (the Dask task itself failed: message)
  cancel   {taskIds, killed:{taskId:pid}}                        answer to a cancel command
  error    {message, op?, taskId?}                               a command that could not be done
  pong     {id}

Worker side: the task function runs the task runtime's argv as a subprocess in its own session
(process group), registers its pid with a per-worker reaper process (which kills the task's process
tree when the worker process dies, even by SIGKILL) and with the worker object (so that `cancel`,
executed on the worker by `client.run`, kills the tree: Future.cancel() cannot stop a running task).
"""
import asyncio
import json
import os
import socket
import sys
import threading
import time
import traceback
import uuid

PROTOCOL = 1

# ------------------------------------------------------------------------------------------------
# Process-tree killing. Kept as source text: it is exec'd here (and shipped to workers with the task
# function) and it is also the body of the per-worker reaper process.
KILL_SRC = r'''
import os as _os, signal as _signal, time as _time

def _cr_proc_table():
    """pid -> (ppid, pgid, sid, state) for every process in /proc"""
    table = {}
    for d in _os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/' + d + '/stat', 'rb') as f:
                s = f.read().decode('utf-8', 'replace')
        except OSError:
            continue
        r = s.rfind(')')
        f = s[r + 2:].split()
        try:
            table[int(d)] = (int(f[1]), int(f[2]), int(f[3]), f[0])
        except (IndexError, ValueError):
            continue
    return table

def _cr_members(root, known, table):
    """the root, its descendants, and every process of its session / process group, plus `known`"""
    kids = {}
    for pid, (pp, _pg, _sid, _st) in table.items():
        kids.setdefault(pp, []).append(pid)
    out = set(known)
    stack = [root]
    while stack:
        p = stack.pop()
        if p in out and p != root:
            continue
        out.add(p)
        stack.extend(kids.get(p, []))
    for pid, (_pp, pg, sid, _st) in table.items():
        if sid == root or pg == root:
            out.add(pid)
            stack = [pid]
            while stack:
                p = stack.pop()
                for k in kids.get(p, []):
                    if k not in out:
                        out.add(k)
                        stack.append(k)
    return out

def _cr_alive(pids, table):
    return [p for p in pids if p in table and table[p][3] != 'Z']

def _cr_kill_tree(root, grace=2.0):
    """SIGTERM the task's whole process tree (groups + pids), then SIGKILL what is left after `grace`.
    Returns the pids still alive (not zombies) at the end: [] when everything is gone."""
    mine = {_os.getpid(), _os.getppid(), 1}
    try:
        my_pg = _os.getpgid(0)
    except OSError:
        my_pg = -1
    known = set()

    def hit(sig):
        table = _cr_proc_table()
        members = _cr_members(root, known, table) - mine
        known.update(p for p in members if p in table)
        groups = {root}
        for p in members:
            if p in table:
                groups.add(table[p][1])
        groups.discard(my_pg)
        groups.discard(0)
        groups.discard(1)
        for g in groups:
            try:
                _os.killpg(g, sig)
            except OSError:
                pass
        for p in members:
            try:
                _os.kill(p, sig)
            except OSError:
                pass
        return _cr_alive(members, table)

    table = _cr_proc_table()
    members = _cr_members(root, known, table) - mine
    known.update(p for p in members if p in table)
    if not _cr_alive(members, table):
        return []
    alive = hit(_signal.SIGTERM) if grace > 0 else [root]
    deadline = _time.time() + max(0.0, grace)
    while alive and _time.time() < deadline:
        _time.sleep(0.05)
        table = _cr_proc_table()
        alive = _cr_alive(_cr_members(root, known, table) - mine, table)
    for _ in range(40):
        if not alive:
            break
        hit(_signal.SIGKILL)
        _time.sleep(0.01)
        table = _cr_proc_table()
        alive = _cr_alive(_cr_members(root, known, table) - mine, table)
    return alive
'''

REAPER_SRC = KILL_SRC + r'''
import sys as _sys
for _s in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
    try:
        _signal.signal(_s, _signal.SIG_IGN)
    except Exception:
        pass
_roots = set()
for _line in _sys.stdin:
    _op, _, _pid = _line.strip().partition(' ')
    try:
        _pid = int(_pid)
    except ValueError:
        continue
    if _op == '+':
        _roots.add(_pid)
    elif _op == '-':
        _roots.discard(_pid)
# stdin closed: the worker process is gone (or shutting down). Kill every task it still ran.
for _r in list(_roots):
    try:
        _cr_kill_tree(_r, 0.5)
    except Exception:
        pass
'''

exec(KILL_SRC, globals())


# ------------------------------------------------------------------------------------------------
# Worker side (pickled by value with the task: no module needs to exist on the worker host)

def _cr_state(w):
    st = w.__dict__.get('_controlroom_state')
    if st is None:
        st = w.__dict__.setdefault('_controlroom_state', {
            'lock': threading.Lock(), 'procs': {}, 'tombstones': set(), 'reaper': None,
        })
    return st


def _cr_reaper(st, python):
    import subprocess
    r = st['reaper']
    if r is not None and r.poll() is None:
        return r
    r = subprocess.Popen([python, '-S', '-c', REAPER_SRC], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
    st['reaper'] = r
    return r


def _cr_reaper_send(st, line):
    r = st.get('reaper')
    if r is None:
        return
    try:
        r.stdin.write((line + '\n').encode())
        r.stdin.flush()
    except Exception:
        pass


# The worker helper: one long-lived node process per worker (runtime/worker-helper.mjs) that runs
# module tasks (hep.* partitions) in-process. A module task started as `node runner.mjs --spec S`
# would cost a node start and an import of the HEP runtime per partition; through the helper it
# costs one JSON line. Commands and tasks that are not modules still run as their own process.

def _cr_helper_argv(spec):
    """[node, worker-helper.mjs] when this task is a module task run by the task runtime, else None"""
    argv = spec.get('argv') or []
    if os.environ.get('CONTROLROOM_DASK_HELPER') == '0' or len(argv) != 4 or argv[2] != '--spec':
        return None
    if os.path.basename(argv[1]) != 'runner.mjs':
        return None
    helper = os.path.join(os.path.dirname(argv[1]), 'worker-helper.mjs')
    try:
        with open(argv[3]) as f:
            task = json.load(f)
    except (OSError, ValueError):
        return None
    if not task.get('module') or not os.path.exists(helper):
        return None
    return [argv[0], helper]


def _cr_helper(st, argv):
    """the worker's helper process, started on first use (and again if it died)"""
    import subprocess
    h = st.get('helper')
    if h is not None and h['proc'].poll() is None:
        return h
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)
    h = {'proc': proc, 'waiters': {}, 'lock': threading.Lock()}

    def read():
        for raw in proc.stdout:
            try:
                m = json.loads(raw)
            except ValueError:
                continue
            with h['lock']:
                wt = h['waiters'].get(m.get('id'))
            if wt is None:
                continue
            if m.get('event') == 'started':
                wt['pid'] = m.get('pid')
                wt['started'].set()
            else:
                wt['answer'] = m
                wt['started'].set()
                wt['done'].set()
        # the helper is gone: every task still waiting on it ends
        with h['lock']:
            for wt in h['waiters'].values():
                wt.setdefault('answer', {'event': 'failed', 'message': 'the worker helper process exited'})
                wt['started'].set()
                wt['done'].set()

    threading.Thread(target=read, daemon=True).start()
    st['helper'] = h
    _cr_reaper_send(st, '+ %d' % proc.pid)
    return h


def _cr_helper_send(h, obj):
    try:
        h['proc'].stdin.write((json.dumps(obj) + '\n').encode())
        h['proc'].stdin.flush()
        return True
    except Exception:
        return False


def _cr_run_in_helper(spec, st, argv, base, env, started):
    import signal as _signal
    tid = spec['taskId']
    h = _cr_helper(st, argv)
    wt = {'started': threading.Event(), 'done': threading.Event(), 'pid': None}
    with h['lock']:
        h['waiters'][tid] = wt
    entry = {'helper': h, 'tid': tid, 'cancelled': False, 'killer': None, 'proc': None}
    with st['lock']:
        st['procs'][tid] = entry
        cancelled_early = tid in st['tombstones']
    try:
        if not _cr_helper_send(h, {'op': 'run', 'id': tid, 'spec': spec['argv'][3], 'env': env,
                                   'taskKey': env.get('CONTROLROOM_TASK_KEY')}):
            return dict(base, exitCode=None, signal=None, timedOut=False, cancelled=False, started=False,
                        error='the worker helper process is not running', durationMs=0)
        if cancelled_early:
            _cr_cancel_entry(entry, 0)
        wt['started'].wait()
        if wt['pid'] is not None:
            try:
                w = spec['_worker']
                w.log_event(spec['topic'], dict(base, workerName=base['worker'], state='running', pid=wt['pid'],
                                                key=spec.get('key'), ts=time.time()))
            except Exception:
                pass
        wt['done'].wait()
        a = wt.get('answer') or {}
        if a.get('event') != 'done':
            return dict(base, exitCode=None, signal=None, timedOut=False, cancelled=entry['cancelled'],
                        started=wt['pid'] is not None, error=a.get('message'),
                        durationMs=int((time.time() - started) * 1000))
        r = a['result']
        sig = r.get('signal')
        return dict(base, pid=wt['pid'], exitCode=r.get('exitCode'),
                    signal=getattr(_signal, sig, None) if isinstance(sig, str) else sig,
                    timedOut=bool(r.get('timedOut')), cancelled=bool(r.get('cancelled')) or entry['cancelled'],
                    started=True, durationMs=int((time.time() - started) * 1000), stderrTail=None, leftovers=0,
                    inHelper=True)
    finally:
        with h['lock']:
            h['waiters'].pop(tid, None)
        with st['lock']:
            st['procs'].pop(tid, None)


def _cr_job_ids():
    env = os.environ
    out = {}
    if env.get('SLURM_JOB_ID'):
        out['slurm'] = env['SLURM_JOB_ID']
    for k in ('_CONDOR_JOB_AD', 'CONDOR_JOB_ID'):
        if env.get(k):
            out['htcondor'] = env[k]
    if env.get('CONTROLROOM_WORKER_JOB_ID'):
        out['job'] = env['CONTROLROOM_WORKER_JOB_ID']
    return out


def _cr_worker_info(dask_worker=None):
    w = dask_worker
    ids = _cr_job_ids()
    return {
        'pid': os.getpid(), 'host': socket.gethostname(), 'hostCpus': os.cpu_count(),
        'jobId': ids.get('slurm') or ids.get('htcondor') or ids.get('job'),
        'jobIds': ids,
        'python': sys.executable,
    }


def _cr_run_task(spec):
    import subprocess
    import tempfile
    from distributed import get_worker
    w = get_worker()
    st = _cr_state(w)
    tid = spec['taskId']
    started = time.time()
    base = {
        'taskId': tid, 'worker': str(w.name), 'address': w.address, 'host': socket.gethostname(),
        'jobId': _cr_worker_info().get('jobId'),
    }
    with st['lock']:
        if tid in st['tombstones']:
            return dict(base, cancelled=True, started=False, exitCode=None, signal=None, timedOut=False,
                        durationMs=0)
        reaper = _cr_reaper(st, spec.get('reaperPython') or sys.executable)
    env = dict(os.environ)
    env.update(spec.get('env') or {})
    env['CONTROLROOM_DASK_WORKER'] = str(w.name)
    env['CONTROLROOM_DASK_WORKER_ADDRESS'] = w.address
    env['CONTROLROOM_DASK_KEY'] = spec.get('key', '')
    for k in ('DASK_DISTRIBUTED__WORKER__DAEMON',):
        env.pop(k, None)
    helper = _cr_helper_argv(spec)
    if helper is not None:
        return _cr_run_in_helper(dict(spec, _worker=w), st, helper, base, env, started)
    out_f = open(spec['stdout'], 'ab') if spec.get('stdout') else subprocess.DEVNULL
    err_f = open(spec['stderr'], 'ab') if spec.get('stderr') else tempfile.TemporaryFile()
    try:
        try:
            proc = subprocess.Popen(spec['argv'], cwd=spec.get('cwd') or None, env=env,
                                    stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f,
                                    start_new_session=True, close_fds=True)
        except OSError as e:
            return dict(base, exitCode=127, signal=None, timedOut=False, cancelled=False, started=False,
                        error='cannot start %r: %s' % (spec['argv'][:1], e), durationMs=0)
        entry = {'proc': proc, 'cancelled': False, 'killer': None}
        with st['lock']:
            st['procs'][tid] = entry
            cancelled_early = tid in st['tombstones']
        _cr_reaper_send(st, '+ %d' % proc.pid)
        if spec.get('pidFile'):
            try:
                with open(spec['pidFile'], 'w') as f:
                    json.dump({'pid': proc.pid, 'pgid': proc.pid, 'host': base['host'], 'worker': base['worker'],
                               'workerPid': os.getpid(), 'key': spec.get('key')}, f)
            except OSError:
                pass
        try:
            # (the scheduler overwrites a `worker` field of worker events with the address)
            w.log_event(spec['topic'], dict(base, workerName=base['worker'], state='running', pid=proc.pid,
                                            key=spec.get('key'), ts=time.time()))
        except Exception:
            pass
        if cancelled_early:
            _cr_cancel_entry(entry, float(spec.get('grace', 2.0)))
        timed_out = False
        timeout = spec.get('timeout')
        try:
            rc = proc.wait(timeout=timeout if timeout else None)
        except subprocess.TimeoutExpired:
            timed_out = True
            _cr_kill_tree(proc.pid, float(spec.get('grace', 2.0)))
            rc = proc.wait()
        if entry['cancelled'] and entry['killer'] is not None:
            entry['killer'].join(30)
        # the task's process has exited: nothing it started may outlive it
        leftovers = _cr_kill_tree(proc.pid, 0) if not entry['cancelled'] else []
        _cr_reaper_send(st, '- %d' % proc.pid)
        with st['lock']:
            st['procs'].pop(tid, None)
        if spec.get('pidFile'):
            try:
                os.unlink(spec['pidFile'])
            except OSError:
                pass
        tail = None
        if not spec.get('stderr'):
            try:
                err_f.seek(0, 2)
                n = err_f.tell()
                err_f.seek(max(0, n - 4000))
                tail = err_f.read().decode('utf-8', 'replace')
            except Exception:
                tail = None
        return dict(base, pid=proc.pid, exitCode=rc if rc >= 0 else None, signal=-rc if rc < 0 else None,
                    timedOut=timed_out, cancelled=entry['cancelled'], started=True,
                    durationMs=int((time.time() - started) * 1000), stderrTail=tail,
                    leftovers=len(leftovers))
    finally:
        for f in (out_f, err_f):
            if f is not subprocess.DEVNULL:
                try:
                    f.close()
                except Exception:
                    pass


def _cr_cancel_entry(entry, grace):
    if entry.get('helper') is not None:
        # a module task in the worker helper: the helper stops it (abort signal, then its process group)
        h = entry['helper']
        entry['cancelled'] = True
        _cr_helper_send(h, {'op': 'cancel', 'id': entry['tid']})
        return h['proc'].pid
    if entry['cancelled']:
        return entry['proc'].pid
    entry['cancelled'] = True
    t = threading.Thread(target=_cr_kill_tree, args=(entry['proc'].pid, grace), daemon=True)
    entry['killer'] = t
    t.start()
    return entry['proc'].pid


def _cr_cancel_on_worker(task_ids, grace, dask_worker=None):
    """Runs inside the worker process (client.run): kill the process tree of each running task and
    leave a tombstone so that a task that has not started yet never starts."""
    st = _cr_state(dask_worker)
    killed = {}
    with st['lock']:
        for tid in task_ids:
            st['tombstones'].add(tid)
            e = st['procs'].get(tid)
            if e is not None:
                killed[tid] = _cr_cancel_entry(e, grace)
    return killed


def _cr_pools(resources):
    return sorted(k[len('pool.'):] for k in (resources or {}) if k.startswith('pool.'))


# ------------------------------------------------------------------------------------------------
# Scheduler plugin: forwards task transitions of our keys (processing / no-worker / rescheduled) and
# removes itself when our client goes away.

def _make_plugin_class():
    from distributed.diagnostics.plugin import SchedulerPlugin

    class ControlRoomPlugin(SchedulerPlugin):
        def __init__(self, name, topic, prefix, client_id):
            self.name = name
            self.topic = topic
            self.prefix = prefix
            self.client_id = client_id
            self.scheduler = None
            self.buf = []
            self.flush_scheduled = False

        async def start(self, scheduler):
            self.scheduler = scheduler

        def transition(self, key, start, finish, *args, **kwargs):
            if not isinstance(key, str) or not key.startswith(self.prefix) or self.scheduler is None:
                return
            s = self.scheduler
            msg = None
            if finish == 'processing':
                ts = s.tasks.get(key)
                ws = ts.processing_on if ts is not None else None
                msg = {'key': key, 'state': 'processing', 'address': ws.address if ws else None,
                       'worker': str(ws.name) if ws else None}
            elif finish == 'no-worker':
                msg = {'key': key, 'state': 'no-worker'}
            elif start == 'processing' and finish in ('released', 'waiting'):
                msg = {'key': key, 'state': 'rescheduled'}
            if msg is not None:
                # batched: one event message per 20 ms instead of one per transition
                self.buf.append(msg)
                if not self.flush_scheduled:
                    self.flush_scheduled = True
                    try:
                        asyncio.get_running_loop().call_later(0.02, self.flush)
                    except RuntimeError:
                        self.flush()

        def flush(self):
            self.flush_scheduled = False
            buf, self.buf = self.buf, []
            if buf and self.scheduler is not None:
                try:
                    self.scheduler.log_event(self.topic, {'batch': buf})
                except Exception:
                    pass

        def remove_client(self, scheduler, client):
            if client == self.client_id:
                try:
                    scheduler.remove_plugin(name=self.name)
                except Exception:
                    pass

    return ControlRoomPlugin


# ------------------------------------------------------------------------------------------------
# The bridge (client side)

_out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(',', ':'), default=str)
    with _out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


class Bridge:
    def __init__(self, client, args):
        self.client = client
        self.args = args
        self.bid = uuid.uuid4().hex[:8]
        self.topic = 'controlroom-' + self.bid
        self.prefix = args.key_prefix or ('cr-' + self.bid + '-')
        self.tasks = {}    # taskId -> record
        self.keys = {}     # key -> taskId
        self.workers = {}  # address -> info
        self.plugin = False
        self.closing = False
        self.worker_python = args.worker_python

    # -- workers ------------------------------------------------------------------------------
    def _worker_from_identity(self, addr, w):
        res = w.get('resources') or {}
        return {
            'address': addr, 'name': str(w.get('name', addr)), 'host': w.get('host'),
            'nthreads': w.get('nthreads'), 'memoryLimit': w.get('memory_limit'),
            'resources': res, 'pools': _cr_pools(res), 'pool': (_cr_pools(res) or [None])[0],
            'pid': None, 'jobId': None, 'jobIds': {},
        }

    async def refresh_workers(self, announce=True):
        info = await self.client.scheduler.identity()
        current = info.get('workers', {})
        added = [a for a in current if a not in self.workers]
        removed = [a for a in list(self.workers) if a not in current]
        for a in added:
            self.workers[a] = self._worker_from_identity(a, current[a])
        if added:
            try:
                extra = await self.client.run(_cr_worker_info, workers=added, on_error='return')
                for a, v in (extra or {}).items():
                    if isinstance(v, dict) and a in self.workers:
                        self.workers[a].update(v)
            except Exception as e:  # a worker that died in between
                print('worker info failed: %r' % (e,), file=sys.stderr)
        if announce:
            for a in added:
                if a in self.workers:
                    emit({'event': 'worker', 'action': 'added', 'worker': self.workers[a], 'ts': time.time()})
            for a in removed:
                self._worker_removed(a, None)
        return info

    def _worker_removed(self, addr, processing_keys):
        w = self.workers.pop(addr, None)
        if w is None:
            return
        tids = set()
        for k in processing_keys or ():
            t = self.keys.get(k)
            if t:
                tids.add(t)
        for tid, rec in self.tasks.items():
            if rec.get('address') == addr and rec['state'] in ('running', 'processing'):
                tids.add(tid)
        emit({'event': 'worker', 'action': 'removed', 'worker': w, 'tasks': sorted(tids), 'ts': time.time()})
        for tid in sorted(tids):
            rec = self.tasks.get(tid)
            if rec is None or rec['state'] in ('finished', 'cancelled', 'lost', 'error'):
                continue
            was_running = rec['state'] == 'running'
            rec['state'] = 'rescheduled'
            rec['address'] = None
            emit({'event': 'task', 'taskId': tid, 'key': rec['key'], 'attempt': rec['attempt'],
                  'state': 'rescheduled', 'wasRunning': was_running, 'lostWorker': w['name'],
                  'lostAddress': addr,
                  'reason': 'worker %s (%s) left while the task was %s; Dask reschedules it' % (
                      w['name'], addr, 'running' if was_running else 'assigned to it'),
                  'ts': time.time()})

    def on_all_event(self, event):
        _ts, msg = event
        if not isinstance(msg, dict):
            return
        action = msg.get('action')
        if action == 'add-worker':
            asyncio.ensure_future(self._safe(self.refresh_workers()))
        elif action == 'remove-worker':
            addr = msg.get('worker')
            if addr in self.workers:
                self._worker_removed(addr, msg.get('processing-tasks'))

    async def _safe(self, coro):
        try:
            await coro
        except Exception as e:
            if not self.closing:
                print('bridge: %r' % (e,), file=sys.stderr)

    async def poll_workers(self):
        while not self.closing:
            await asyncio.sleep(self.args.poll)
            await self._safe(self.refresh_workers())

    def pool_has_worker(self, pool):
        return any(pool in w['pools'] for w in self.workers.values())

    # -- task events ---------------------------------------------------------------------------
    def on_topic_event(self, event):
        _ts, msg = event
        if not isinstance(msg, dict):
            return
        if 'batch' in msg:
            for m in msg['batch']:
                self.on_topic_event((_ts, m))
            return
        key = msg.get('key')
        tid = msg.get('taskId') or self.keys.get(key)
        rec = self.tasks.get(tid)
        if rec is None or (key and key != rec['key']):
            return
        state = msg.get('state')
        if rec['state'] in ('finished', 'cancelled', 'lost', 'error'):
            return
        out = {'event': 'task', 'taskId': tid, 'key': rec['key'], 'attempt': rec['attempt'], 'ts': time.time()}
        if state == 'running':
            prev = rec.get('address')
            if rec['state'] == 'running' and prev and prev != msg.get('address'):
                # the running event of a new worker came before we saw the old one leave
                emit(dict(out, state='rescheduled', wasRunning=True, lostAddress=prev,
                          lostWorker=rec.get('worker'),
                          reason='worker %s left while the task was running; Dask reschedules it' % rec.get('worker')))
            rec.update(state='running', address=msg.get('address'), worker=msg.get('workerName'))
            rec['runs'] = rec.get('runs', 0) + 1
            emit(dict(out, state='running', worker=msg.get('workerName'), address=msg.get('address'),
                      host=msg.get('host'), pid=msg.get('pid'), jobId=msg.get('jobId'), run=rec['runs']))
        elif state == 'processing':
            if rec['state'] == 'running':
                return
            rec.update(state='processing', address=msg.get('address'), worker=msg.get('worker'))
            emit(dict(out, state='processing', worker=msg.get('worker'), address=msg.get('address')))
        elif state == 'no-worker':
            rec['state'] = 'no-worker'
            emit(dict(out, state='no-worker', pool=rec['pool'],
                      reason='no connected Dask worker has the resource pool.%s' % rec['pool']))
        elif state == 'rescheduled':
            if rec['state'] in ('running', 'processing') and rec.get('address') not in self.workers:
                was_running = rec['state'] == 'running'
                rec['state'] = 'rescheduled'
                emit(dict(out, state='rescheduled', wasRunning=was_running, lostAddress=rec.get('address'),
                          lostWorker=rec.get('worker'),
                          reason='worker %s left while the task was %s; Dask reschedules it' % (
                              rec.get('worker'), 'running' if was_running else 'assigned to it')))
                rec['address'] = None

    # -- commands ------------------------------------------------------------------------------
    async def submit(self, m):
        tid = str(m['taskId'])
        old = self.tasks.get(tid)
        if old is not None and old['state'] not in ('finished', 'cancelled', 'lost', 'error'):
            emit({'event': 'error', 'op': 'submit', 'taskId': tid, 'message': 'task %s is already submitted' % tid})
            return
        pool = str(m.get('pool') or 'default')
        attempt = int(m.get('attempt') or 0)
        key = str(m.get('key') or '')
        if not key:
            key = '%s%s-%d-%s' % (self.prefix, tid, attempt, uuid.uuid4().hex[:6])
        elif not key.startswith(self.prefix):
            key = self.prefix + key
        if key in self.keys:
            emit({'event': 'error', 'op': 'submit', 'taskId': tid, 'message': 'key %s is already in use' % key})
            return
        spec = {
            'taskId': tid, 'key': key, 'topic': self.topic, 'argv': [str(a) for a in m['argv']],
            'env': {str(k): str(v) for k, v in (m.get('env') or {}).items()}, 'cwd': m.get('cwd'),
            'timeout': m.get('timeout'), 'pidFile': m.get('pidFile'), 'stdout': m.get('stdout'),
            'stderr': m.get('stderr'), 'grace': m.get('grace', 2.0), 'reaperPython': self.worker_python,
        }
        rec = {'key': key, 'pool': pool, 'attempt': attempt, 'state': 'queued', 'address': None,
               'worker': None, 'cancel': False, 'submitted': time.time()}
        self.tasks[tid] = rec
        if old is not None:
            self.keys.pop(old['key'], None)
        self.keys[key] = tid
        fut = self.client.submit(_cr_run_task, spec, key=key, resources={'pool.' + pool: 1}, pure=False,
                                 retries=0)
        rec['future'] = fut
        no_worker = not self.pool_has_worker(pool)
        emit({'event': 'task', 'taskId': tid, 'key': key, 'attempt': attempt, 'state': 'queued', 'pool': pool,
              'noWorker': no_worker, 'ts': time.time()})
        asyncio.ensure_future(self.watch(tid, rec, fut))

    async def watch(self, tid, rec, fut):
        base = {'event': 'task', 'taskId': tid, 'key': rec['key'], 'attempt': rec['attempt']}
        try:
            res = await fut
        except BaseException as e:  # noqa: BLE001 (CancelledError is a BaseException)
            if self.tasks.get(tid) is not rec:
                return
            name = type(e).__name__
            if fut.status == 'cancelled' or name == 'CancelledError':
                rec['state'] = 'cancelled'
                emit(dict(base, state='cancelled', started=rec.get('runs', 0) > 0, ts=time.time()))
            elif name == 'KilledWorker':
                rec['state'] = 'lost'
                emit(dict(base, state='lost', worker=rec.get('worker'),
                          reason='the workers running this task died %s time(s) (Dask KilledWorker: %s)' % (
                              rec.get('runs', 1), e), ts=time.time()))
            else:
                rec['state'] = 'error'
                emit(dict(base, state='error', message='%s: %s' % (name, e),
                          traceback=''.join(traceback.format_exception(type(e), e, e.__traceback__))[-4000:],
                          ts=time.time()))
        else:
            if self.tasks.get(tid) is not rec:
                return
            res = dict(res or {})
            state = 'cancelled' if (res.get('cancelled') or rec['cancel']) else 'finished'
            rec['state'] = state
            emit(dict(base, **{k: v for k, v in res.items() if k not in ('taskId',)}, state=state, ts=time.time()))
        finally:
            rec.pop('future', None)
            try:
                fut.release()
            except Exception:
                pass

    async def cancel(self, m):
        ids = [str(t) for t in (m.get('taskIds') or ([m['taskId']] if 'taskId' in m else []))]
        grace = float(m.get('grace', 2.0))
        recs = {t: self.tasks[t] for t in ids if t in self.tasks and self.tasks[t]['state'] not in (
            'finished', 'cancelled', 'lost', 'error')}
        for r in recs.values():
            r['cancel'] = True
        killed = {}
        if recs:
            pools = {r['pool'] for r in recs.values()}
            targets = [a for a, w in self.workers.items() if set(w['pools']) & pools]
            if targets:
                try:
                    res = await self.client.run(_cr_cancel_on_worker, list(recs), grace, workers=targets,
                                                on_error='return')
                    for _addr, v in (res or {}).items():
                        if isinstance(v, dict):
                            killed.update(v)
                except Exception as e:
                    emit({'event': 'error', 'op': 'cancel', 'message': 'kill on workers failed: %r' % (e,)})
            # tasks whose process is not running: drop them from the scheduler now. Running ones
            # return by themselves once their process tree is dead (their result says cancelled).
            not_running = [r['future'] for t, r in recs.items() if t not in killed and r.get('future') is not None]
            if not_running:
                await self.client.cancel(not_running)
            for t in killed:
                asyncio.ensure_future(self._cancel_deadline(t, recs[t], grace + 10))
        emit({'event': 'cancel', 'taskIds': ids, 'killed': killed, 'ts': time.time()})

    async def _cancel_deadline(self, tid, rec, after):
        await asyncio.sleep(after)
        if rec['state'] not in ('finished', 'cancelled', 'lost', 'error') and rec.get('future') is not None:
            emit({'event': 'error', 'op': 'cancel', 'taskId': tid,
                  'message': 'task did not return %ss after its process tree was killed; dropping it' % after})
            await self.client.cancel([rec['future']])

    async def shutdown(self):
        self.closing = True
        active = [t for t, r in self.tasks.items() if r['state'] not in ('finished', 'cancelled', 'lost', 'error')]
        if active:
            try:
                await asyncio.wait_for(self.cancel({'taskIds': active, 'grace': 1.0}), 15)
                deadline = time.time() + 5
                while time.time() < deadline and any(
                        self.tasks[t]['state'] not in ('finished', 'cancelled', 'lost', 'error') for t in active):
                    await asyncio.sleep(0.05)
            except Exception as e:
                print('shutdown cancel: %r' % (e,), file=sys.stderr)

    async def handle(self, m):
        op = m.get('op')
        if op == 'submit':
            await self.submit(m)
        elif op == 'cancel':
            await self.cancel(m)
        elif op == 'workers':
            await self._safe(self.refresh_workers())
            emit({'event': 'workers', 'workers': list(self.workers.values()), 'id': m.get('id')})
        elif op == 'ping':
            emit({'event': 'pong', 'id': m.get('id'), 'ts': time.time()})
        else:
            emit({'event': 'error', 'op': op, 'message': 'unknown op %r' % (op,)})


async def amain(args):
    import distributed
    from distributed import Client
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    security = None
    if args.tls_key:
        # users mode: the run's mutual TLS (the scheduler accepts no one without its certificate)
        from distributed.security import Security
        security = Security(tls_ca_file=args.tls_ca_file, tls_client_cert=args.tls_cert,
                            tls_client_key=args.tls_key, require_encryption=True)
    try:
        if args.scheduler_file:
            deadline = time.time() + args.timeout
            while not os.path.exists(args.scheduler_file) and time.time() < deadline:
                await asyncio.sleep(0.05)
            client = await Client(scheduler_file=args.scheduler_file, asynchronous=True, timeout=args.timeout,
                                  name='controlroom-bridge', set_as_default=False, security=security)
        else:
            client = await Client(args.address, asynchronous=True, timeout=args.timeout,
                                  name='controlroom-bridge', set_as_default=False, security=security)
    except Exception as e:
        emit({'event': 'fatal', 'message': 'cannot connect to the Dask scheduler %s: %s: %s' % (
            args.address or args.scheduler_file, type(e).__name__, e)})
        return 2
    b = Bridge(client, args)
    client.subscribe_topic(b.topic, b.on_topic_event)
    client.subscribe_topic('all', b.on_all_event)
    if not args.no_plugin:
        try:
            cls = _make_plugin_class()
            await client.register_scheduler_plugin(cls('controlroom-' + b.bid, b.topic, b.prefix, client.id),
                                                   name='controlroom-' + b.bid)
            b.plugin = True
        except Exception as e:
            print('scheduler plugin not registered (%r): no processing/no-worker events' % (e,), file=sys.stderr)
    info = await b.refresh_workers(announce=False)
    dash_port = (info.get('services') or {}).get('dashboard')
    host = client.scheduler.address.split('://', 1)[-1].rsplit(':', 1)[0]
    dash = ('http://%s:%s' % (host, dash_port)) if dash_port else None
    emit({'event': 'ready', 'protocol': PROTOCOL, 'bridgeId': b.bid, 'plugin': b.plugin,
          'scheduler': {'address': client.scheduler.address, 'id': info.get('id'), 'dashboard': dash,
                        'dashboardPort': dash_port},
          'workers': list(b.workers.values()), 'distributed': distributed.__version__})
    poller = asyncio.ensure_future(b.poll_workers())
    code = 0
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            try:
                m = json.loads(line)
            except ValueError as e:
                emit({'event': 'error', 'message': 'bad JSON line: %s' % e})
                continue
            if m.get('op') == 'shutdown':
                break
            try:
                await b.handle(m)
            except Exception as e:
                emit({'event': 'error', 'op': m.get('op'), 'taskId': m.get('taskId'),
                      'message': '%s: %s' % (type(e).__name__, e)})
    finally:
        await b.shutdown()
        poller.cancel()
        try:
            await asyncio.wait_for(client.close(), 10)
        except Exception:
            pass
        emit({'event': 'closed'})
    return code


def main():
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--address')
    g.add_argument('--scheduler-file')
    p.add_argument('--timeout', type=float, default=30.0)
    p.add_argument('--poll', type=float, default=2.0, help='seconds between worker list refreshes')
    p.add_argument('--no-plugin', action='store_true', help='do not register the scheduler plugin')
    p.add_argument('--worker-python', default=None, help='interpreter for the per-worker reaper')
    p.add_argument('--key-prefix', default=None, help='prefix of every Dask key this bridge submits')
    p.add_argument('--tls-ca-file', default=None, help='mutual TLS: the CA certificate')
    p.add_argument('--tls-cert', default=None, help='mutual TLS: this client\'s certificate')
    p.add_argument('--tls-key', default=None, help='mutual TLS: this client\'s key')
    args = p.parse_args()
    try:
        import distributed
        dv = distributed.__version__
    except Exception as e:
        emit({'event': 'fatal', 'message': '%s cannot import distributed: %s' % (sys.executable, e)})
        sys.exit(2)
    emit({'event': 'hello', 'protocol': PROTOCOL, 'pid': os.getpid(), 'python': sys.executable,
          'pythonVersion': sys.version.split()[0], 'distributed': dv})
    sys.exit(asyncio.run(amain(args)) or 0)


if __name__ == '__main__':
    main()
