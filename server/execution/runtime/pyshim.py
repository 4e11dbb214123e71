"""Control Room Python op shim (run by the worker environment's Python).

    python pyshim.py call pkg.mod:function '<json {"args": [...], "kwargs": {...}}>'
    python pyshim.py script path/to/script.py [args...]

`call` imports the module (the task's cwd and CONTROLROOM_PYTHONPATH entries are on sys.path),
calls the function and writes its JSON-serialisable return value to $CONTROLROOM_OUTPUTS as
{"return": value}. Both modes write the peak RSS / CPU time (getrusage) to $CONTROLROOM_METRICS.
"""
import importlib
import json
import os
import resource
import runpy
import sys
import time


def _write_metrics(t0):
    path = os.environ.get("CONTROLROOM_METRICS")
    if not path:
        return
    ru = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = {
        "peakRssBytes": max(ru.ru_maxrss, ch.ru_maxrss) * 1024,
        "pythonCpuUserMs": round((ru.ru_utime + ch.ru_utime) * 1000, 3),
        "pythonCpuSystemMs": round((ru.ru_stime + ch.ru_stime) * 1000, 3),
        "pythonWallMs": round((time.time() - t0) * 1000, 3),
        "python": sys.version.split()[0],
    }
    try:
        with open(path, "w") as f:
            json.dump(data, f)
    except OSError:
        pass


def main():
    t0 = time.time()
    sys.path.insert(0, os.getcwd())
    for p in filter(None, os.environ.get("CONTROLROOM_PYTHONPATH", "").split(os.pathsep)):
        sys.path.insert(0, p)
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        if mode == "call":
            target = sys.argv[2]
            payload = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
            mod_name, _, fn_name = target.partition(":")
            if not fn_name:
                raise SystemExit(f"python op: expected 'module:function', got {target!r}")
            fn = getattr(importlib.import_module(mod_name), fn_name)
            value = fn(*payload.get("args", []), **payload.get("kwargs", {}))
            out = os.environ.get("CONTROLROOM_OUTPUTS")
            if out and value is not None:
                try:
                    text = json.dumps({"return": value})
                except (TypeError, ValueError):
                    text = json.dumps({"return": repr(value)})
                with open(out, "w") as f:
                    f.write(text)
        elif mode == "script":
            script = sys.argv[2]
            sys.argv = [script] + sys.argv[3:]
            sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
            runpy.run_path(script, run_name="__main__")
        else:
            raise SystemExit("usage: pyshim.py call module:function [json] | script path [args...]")
    finally:
        _write_metrics(t0)


if __name__ == "__main__":
    main()
