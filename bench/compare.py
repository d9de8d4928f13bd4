#!/usr/bin/env python3
"""Rill against TensorFlow, PyTorch, burn and candle, side by side, in one interleaved run.

Run through `bench/compare` (which prepares the peers); see bench/README.md. Standard library
only, so that the smoke mode runs in CI without the peers' virtual environment.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
VENV_PY = os.path.join(BENCH, ".venv", "bin", "python")
DATA = os.path.join(ROOT, "data", "fashion-mnist")
THREADS = 2

FRAMEWORKS = {
    # The smoke test points this at the worker it built, so CI need not build a release too.
    "rill": [os.environ.get("RILL_BENCH_WORKER", os.path.join(ROOT, "target", "release", "rill-bench-worker"))],
    # The same worker with its kernels capped at AVX2 (RILL_ISA): on an AVX-512 machine, the path
    # of every AVX2-only CPU, in the same interleaved run as the rest.
    "rill-avx2": ["/usr/bin/env", "RILL_ISA=avx2",
                  os.environ.get("RILL_BENCH_WORKER", os.path.join(ROOT, "target", "release", "rill-bench-worker"))],
    # A worker built from an earlier commit (RILL_BENCH_WORKER_BEFORE): a change's before and
    # after in the same interleaved run.
    "rill-before": [os.environ.get("RILL_BENCH_WORKER_BEFORE", "/nonexistent/rill-bench-worker-before")],
    "burn": [os.path.join(BENCH, "peers", "target", "release", "burn_worker")],
    "candle": [os.path.join(BENCH, "peers", "target", "release", "candle_worker")],
    "pytorch": [VENV_PY, os.path.join(BENCH, "workers", "torch_worker.py")],
    "tensorflow": [VENV_PY, os.path.join(BENCH, "workers", "tensorflow_worker.py")],
    # The same Keras code on Rill's Python package (`import rill as tf`), installed in the venv.
    "rill-python": [VENV_PY, os.path.join(BENCH, "workers", "tensorflow_worker.py"), "--keras", "rill"],
}

TRAIN_EXAMPLES = 60_000
BATCH = {"mlp": 32, "cnn": 64}
WORKLOADS = ("mlp", "cnn", "predict", "latency", "tta")
# Time to accuracy trains rill::zoo's residual network by its recipe; only these workers have it.
TTA_FRAMEWORKS = ("rill", "rill-avx2", "pytorch")


def dense(batch, fan_in, fan_out, first):
    """Multiply-adds ×2 of a dense layer (or a convolution as im2col) for one training step."""
    fwd = 2 * batch * fan_in * fan_out
    return fwd, fwd * (1 if first else 2)


def training_flops(workload, examples):
    """FLOPs of forward + backward for `examples` training examples (matrix products only).

    The first layer needs no gradient for its input, so its backward is one product, not two.
    """
    if workload == "mlp":
        layers = [(784, 128, True), (128, 10, False)]
        rows = [1, 1]
    else:
        # "same" padding: conv1 has 28×28 outputs of 3×3×1 patches, conv2 14×14 of 3×3×32.
        layers = [(9, 32, True), (288, 64, False), (3136, 128, False), (128, 10, False)]
        rows = [28 * 28, 14 * 14, 1, 1]
    total = 0
    for (fan_in, fan_out, first), r in zip(layers, rows):
        fwd, bwd = dense(examples * r, fan_in, fan_out, first)
        total += fwd + bwd
    return total


def predict_flops(n):
    return 2 * n * (784 * 128 + 128 * 10)


def run_worker(framework, args, env):
    """Runs one worker in a fresh process; returns its JSON line, with the process's peak
    resident memory (from wait4) added as `peak_mb`."""
    cmd = FRAMEWORKS[framework] + args
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            os.chdir(ROOT)
            os.dup2(write_fd, 1)
            os.dup2(err.fileno(), 2)
            os.close(read_fd)
            try:
                os.execve(cmd[0], cmd, env)
            finally:
                os._exit(127)  # the child must never return into the parent's code
        os.close(write_fd)
        chunks = []
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(read_fd)
        _, status, usage = os.wait4(pid, 0)
        out = b"".join(chunks).decode()
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            tail = err.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"{framework} {' '.join(args)} failed:\n{tail}")
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"{framework} {' '.join(args)} printed no result")
    result = json.loads(lines[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024.0  # Linux reports kilobytes
    return result


def worker_env():
    env = dict(os.environ)
    for var in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BENCH_THREADS"):
        env[var] = str(THREADS)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONPATH"] = os.path.join(BENCH, "workers")
    return env


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = round(int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1)) / 2**20, 1)
    except (OSError, AttributeError):
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "vector_extensions": vector_extensions(),
        "cores": os.cpu_count(),
        "memory_gib": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "rustc": rustc,
        "python": platform.python_version(),
    }


def vector_extensions():
    """What the CPU offers and what Rill's kernels were allowed to use (`--isa`, i.e. RILL_ISA)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(re.search(r"flags\s*:\s*(.*)", f.read()).group(1).split())
    except (OSError, AttributeError):
        flags = set()
    has = "avx512" if "avx512f" in flags else "avx2" if {"avx2", "fma"} <= flags else "baseline"
    cap = os.environ.get("RILL_ISA")
    return f"{has} (Rill capped at {cap})" if cap else has


def summarize(values):
    values = sorted(values)
    return {"min": values[0], "median": statistics.median(values), "runs": len(values)}


def plan(opts):
    """The (workload, worker arguments) list; each entry is run once per framework per round."""
    common = ["--data", DATA, "--seed", str(opts.seed)]
    if opts.smoke:
        return [
            ("mlp", ["--workload", "mlp", "--epochs", "1", "--steps", "20"] + common),
            ("cnn", ["--workload", "cnn", "--epochs", "1", "--steps", "5"] + common),
            ("predict", ["--workload", "predict", "--repeats", "3"] + common),
            ("latency", ["--workload", "latency", "--repeats", "50"] + common),
        ]
    every = [
        ("mlp", ["--workload", "mlp", "--epochs", str(opts.mlp_epochs)] + common),
        ("cnn", ["--workload", "cnn", "--epochs", "1", "--steps", str(opts.cnn_steps)] + common),
        ("predict", ["--workload", "predict", "--repeats", "50"] + common),
        ("latency", ["--workload", "latency", "--repeats", "2000"] + common),
        ("tta", ["--workload", "tta", "--target", str(opts.target)] + common),
    ]
    return [(w, args) for w, args in every if w in opts.workloads]


def epoch_seconds(result, workload):
    """Seconds for one full epoch: the run's median epoch, scaled up when steps were cut."""
    per_epoch = statistics.median(result["epoch_seconds"])
    full_steps = -(-TRAIN_EXAMPLES // BATCH[workload])
    return per_epoch * full_steps / result["steps_per_epoch"]


def collect(opts, frameworks, env):
    runs = {}
    for rnd in range(opts.rounds):
        for workload, args in plan(opts):
            for fw in frameworks:
                if workload == "tta" and fw not in TTA_FRAMEWORKS:
                    continue
                started = time.perf_counter()
                result = run_worker(fw, args, env)
                wall = time.perf_counter() - started
                if "seconds" in result:
                    # Keep the run's summary, not its thousands of call timings.
                    result["seconds"] = summarize(result["seconds"])
                runs.setdefault(workload, {}).setdefault(fw, []).append(result)
                print(f"round {rnd + 1}/{opts.rounds} {workload:8} {fw:10} {wall:6.1f} s wall", file=sys.stderr, flush=True)
    return runs


def tabulate(runs):
    rows = {}
    for workload, by_fw in runs.items():
        for fw, results in by_fw.items():
            row = {"version": results[0]["version"], "peak_mb": summarize([r["peak_mb"] for r in results])}
            if workload == "tta":
                # A run that never reached the target counts as infinitely slow.
                row["seconds_to_target"] = summarize(
                    [r["seconds_to_target"] if r["seconds_to_target"] is not None else float("inf") for r in results])
                row["epochs_to_target"] = summarize(
                    [len(r["epoch_seconds"]) if r["seconds_to_target"] is not None else float("inf") for r in results])
                row["best_test_accuracy"] = summarize([max(r["test_accuracy_per_epoch"]) for r in results])
                row["target"] = results[0]["target"]
            elif workload in ("mlp", "cnn"):
                row["epoch_seconds"] = summarize([epoch_seconds(r, workload) for r in results])
                row["test_accuracy"] = summarize([r["test_accuracy"] for r in results])
                row["steps_per_epoch_run"] = results[0]["steps_per_epoch"]
            else:
                row["seconds"] = summarize([r["seconds"]["median"] for r in results])
            rows.setdefault(workload, {})[fw] = row
    return rows


def gemm_runs(env, repeats, frameworks):
    """Each of Rill's and PyTorch's `gemm` workload: the machine's matrix-multiply peak as
    measured (2048³, best of `repeats`) and the tutorial MLP's products (`shapes`, medians)."""
    runs = {}
    for fw in ("rill", "rill-avx2", "pytorch"):
        if fw not in frameworks:
            continue
        cmd = ["--workload", "gemm", "--repeats", str(repeats)]
        try:
            run = run_worker(fw, cmd, env)
        except RuntimeError as e:
            print(f"peak GEMM on {fw}: {e}", file=sys.stderr)
            continue
        if "gflops" in run:
            runs[fw] = run
        else:
            print(f"peak GEMM on {fw}: no 'gflops' in {run}", file=sys.stderr)
    return runs


def profile_rill(opts, env):
    args = ["--workload", "cnn", "--epochs", "1", "--steps", str(opts.cnn_steps if not opts.smoke else 5),
            "--data", DATA, "--seed", str(opts.seed), "--profile",
            "--trace-file", os.path.join(opts.out, "rill-cnn.trace.json")]
    return run_worker("rill", args, env).get("profile", [])


def fmt_time(s):
    return f"{s * 1e3:.3f} ms" if s < 0.1 else f"{s:.2f} s"


def markdown(report):
    rows, m = report["results"], report["machine"]
    out = [f"Measured {report['date']} on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB, "
           f"{m.get('vector_extensions', 'vector extensions not recorded')}), "
           f"{m['os']}; {report['rounds']} interleaved rounds, {THREADS} threads for every framework. "
           f"Medians (min in brackets); the ratio is the framework's median over Rill's.", ""]
    peak = report.get("peak_gflops", {})
    if peak:
        out.append("Matrix-multiply peak measured on this machine: "
                   + ", ".join(f"{fw} {g:.0f} GFLOP/s" for fw, g in peak.items()) + ".")
        out.append("")
    peak_flops = max(peak.values()) * 1e9 if peak else None
    shapes = report.get("gemm_shapes", {})
    if shapes:
        fws = list(shapes)
        out.append("**The tutorial MLP's matrix products** (batch 32; median of many calls, "
                   "µs and GFLOP/s)")
        out.append("")
        out.append("| product | " + " | ".join(fws) + " |")
        out.append("|---|" + "---:|" * len(fws))
        for name in shapes[fws[0]]:
            cells = [f"{shapes[fw][name]['seconds'] * 1e6:.1f} µs ({shapes[fw][name]['gflops']:.0f})"
                     if name in shapes[fw] else "" for fw in fws]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")

    def ratio(workload, fw, key):
        if "rill" not in rows.get(workload, {}):
            return ""
        r = rows[workload]["rill"][key]["median"]
        return f"{rows[workload][fw][key]['median'] / r:.1f}×" if 0 < r < float("inf") else ""

    titles = {
        "mlp": "Tutorial MLP, one epoch (60,000 images, batch 32)",
        "cnn": "Tutorial CNN, one epoch (60,000 images, batch 64)",
    }
    for workload in ("mlp", "cnn"):
        if workload not in rows:
            continue
        flops = report["flops"][workload]
        title = f"**{titles[workload]}** — {flops / 1e9:.0f} GFLOP of matrix products per epoch"
        steps = next(iter(rows[workload].values()))["steps_per_epoch_run"]
        full = -(-TRAIN_EXAMPLES // BATCH[workload])
        if steps < full:
            title += f"; timed over {steps} steps, scaled to the epoch's {full}; accuracy after those {steps} steps"
        out += [title, "",
                "| framework | s/epoch | ratio | % of peak | test accuracy | peak memory |",
                "|---|---:|---:|---:|---:|---:|"]
        for fw, row in sorted(rows[workload].items(), key=lambda kv: kv[1]["epoch_seconds"]["median"]):
            e = row["epoch_seconds"]
            share = f"{100 * flops / e['median'] / peak_flops:.0f}%" if peak_flops else ""
            out.append(f"| {fw} | {e['median']:.2f} ({e['min']:.2f}) | {ratio(workload, fw, 'epoch_seconds')} "
                       f"| {share} | {row['test_accuracy']['median']:.4f} | {row['peak_mb']['median']:.0f} MB |")
        out.append("")
    for workload, title in (("predict", "Predict the 10,000 test images (MLP, one batch)"),
                            ("latency", "Single-image latency (MLP), median of many calls")):
        if workload not in rows:
            continue
        out += [f"**{title}**", "", "| framework | time | ratio |", "|---|---:|---:|"]
        for fw, row in sorted(rows[workload].items(), key=lambda kv: kv[1]["seconds"]["median"]):
            s = row["seconds"]
            out.append(f"| {fw} | {fmt_time(s['median'])} ({fmt_time(s['min'])}) | {ratio(workload, fw, 'seconds')} |")
        out.append("")
    if "tta" in rows:
        target = next(iter(rows["tta"].values()))["target"]
        out += [f"**Time to {100 * target:.0f}% test accuracy** — `rill::zoo::fashion_mnist_resnet` trained by "
                "`Recipe::fashion_mnist_fast`, the same network and recipe written in PyTorch; training time "
                "only (the test set is evaluated after each epoch, untimed, as DAWNBench counts)", "",
                "| framework | time to target | epochs | best test accuracy | ratio |", "|---|---:|---:|---:|---:|"]
        for fw, row in sorted(rows["tta"].items(), key=lambda kv: kv[1]["seconds_to_target"]["median"]):
            t, e = row["seconds_to_target"]["median"], row["epochs_to_target"]["median"]
            shown = f"{t:.0f} s" if t != float("inf") else "not reached"
            ratio_text = ratio("tta", fw, "seconds_to_target") if t != float("inf") else ""
            out.append(f"| {fw} | {shown} | {e if e != float('inf') else '–'} | "
                       f"{row['best_test_accuracy']['median']:.4f} | {ratio_text} |")
        out.append("")
    goals = goal_rows(rows)
    if goals:
        out += ["**Against the goals of issue 16**", "", "| goal | measured | met |", "|---|---|---|"]
        out += [f"| {g} | {m} | {'yes' if ok else 'no'} |" for g, m, ok in goals]
        out.append("")
    if report.get("profile"):
        total = sum(r["seconds"] for r in report["profile"]) or 1.0
        out += ["**Where Rill's CNN step spends its time** (`--profile`, top rows)", "",
                "| op | phase | calls | seconds | share |", "|---|---|---:|---:|---:|"]
        for r in report["profile"][:12]:
            out.append(f"| {r['op']} | {r['phase']} | {r['calls']} | {r['seconds']:.3f} | {100 * r['seconds'] / total:.1f}% |")
        out.append("")
    out.append("Versions: " + "; ".join(sorted({row["version"] for w in rows.values() for row in w.values()}))
               + f"; {m['rustc']}; Python {m['python']}.")
    return "\n".join(out) + "\n"


def goal_rows(rows):
    """(goal, what was measured, met?) for each goal the peers' figures allow judging."""
    goals = []

    # Rill's own variants (its AVX2 path, its Python package) are not its peers.
    def best_peer(workload, key, rill="rill"):
        peers = {fw: r[key]["median"] for fw, r in rows.get(workload, {}).items() if not fw.startswith("rill")}
        if not peers or rill not in rows.get(workload, {}):
            return None
        fw = min(peers, key=peers.get)
        return fw, peers[fw], rows[workload][rill][key]["median"]

    goals += speed_goals(best_peer, "rill", "")
    if any("rill-avx2" in by_fw for by_fw in rows.values()):
        goals += speed_goals(best_peer, "rill-avx2", " (Rill's AVX2 path; the peers on all the CPU has)")
    b = best_peer("mlp", "peak_mb")
    if b:
        fw, peer, rill = b
        goals.append(("peak memory of the MLP run under half the leanest peer's",
                      f"Rill {rill:.0f} MB, {fw} {peer:.0f} MB", rill < peer / 2))
    return goals


def speed_goals(best_peer, rill, suffix):
    """The speed goals of issue 16 for one of Rill's variants against the best peer."""
    goals = []

    for workload, factor, label in (("mlp", 3.0, "MLP epoch"), ("cnn", 2.0, "CNN epoch")):
        b = best_peer(workload, "epoch_seconds", rill)
        if b:
            fw, peer, mine = b
            goals.append((f"{label} {factor}× faster than the best peer{suffix}",
                          f"{peer / mine:.2f}× {fw} ({mine:.2f} s vs {peer:.2f} s)", peer / mine >= factor))
    for workload, label in (("predict", "predict 10,000"), ("latency", "single-image latency")):
        b = best_peer(workload, "seconds", rill)
        if b:
            fw, peer, mine = b
            goals.append((f"{label} ahead of every peer{suffix}",
                          f"Rill {fmt_time(mine)}, best peer {fw} {fmt_time(peer)}", mine < peer))
    b = best_peer("tta", "seconds_to_target", rill)
    if b:
        fw, peer, mine = b

        def shown(t):
            return f"{t:.0f} s" if t != float("inf") else "not reached"

        goals.append((f"time to the target accuracy ahead of PyTorch's, and within 3 minutes{suffix}",
                      f"Rill {shown(mine)}, {fw} {shown(peer)}", mine < peer and mine <= 180))
    return goals


def summary(report):
    """One table for the README's front page: each workload's median per framework, with the
    ratio to Rill's (above 1 means Rill is faster)."""
    rows, m = report["results"], report["machine"]
    order = ["rill", "rill-avx2", "rill-before", "rill-python", "tensorflow", "pytorch", "burn", "candle"]
    # An earlier commit's worker is a before-and-after check, not a peer: the book has it.
    present = {fw for by_fw in rows.values() for fw in by_fw} - {"rill-before"}
    fws = [fw for fw in order if fw in present] + sorted(present - set(order))
    titles = (("mlp", "epoch_seconds", "MLP epoch (60,000 images, batch 32)"),
              ("cnn", "epoch_seconds", "CNN epoch (60,000 images, batch 64)"),
              ("predict", "seconds", "predict 10,000 images (MLP)"),
              ("latency", "seconds", "single-image latency (MLP)"),
              ("tta", "seconds_to_target", "time to 93% (residual network)"))
    out = [f"Measured {report['date']} on {m['cpu']} ({m['cores']} cores, "
           f"{m.get('vector_extensions', 'vector extensions not recorded')}), {report['rounds']} interleaved "
           f"round(s), {THREADS} threads for every framework; medians, and each peer's time over Rill's.", "",
           "| workload | " + " | ".join(fws) + " |", "|---|" + "---:|" * len(fws)]
    for workload, key, title in titles:
        if workload not in rows:
            continue
        mine = rows[workload].get("rill", {}).get(key, {}).get("median")
        cells = []
        for fw in fws:
            row = rows[workload].get(fw)
            if row is None:
                cells.append("")
                continue
            t = row[key]["median"]
            text = fmt_time(t) if t != float("inf") else "not reached"
            if fw != "rill" and mine and t != float("inf") and mine != float("inf"):
                text += f" ({t / mine:.1f}×)"
            cells.append(text)
        out.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def replace_between_markers(path, block):
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{path} has no <!-- bench:begin --> … <!-- bench:end --> markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(head + begin + "\n" + block + end + tail)
    os.replace(tmp, path)


def update_readme(report, md):
    """The README's one table and the book's full tables, from the same run."""
    command = f"Reproduce with `{report['command']}`.\n\n"
    replace_between_markers(os.path.join(ROOT, "README.md"), command + summary(report))
    replace_between_markers(os.path.join(ROOT, "docs", "src", "performance", "benchmarks.md"), command + md)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--frameworks", default="rill,burn,candle,pytorch,tensorflow")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--mlp-epochs", type=int, default=2)
    p.add_argument("--cnn-steps", type=int, default=200, help="steps timed per CNN run (0 = a whole epoch)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workloads", default="mlp,cnn,predict,latency",
                   help=f"which to run, of {','.join(WORKLOADS)} (tta, time to accuracy, takes minutes "
                        "per run, so it runs only when asked for)")
    p.add_argument("--target", type=float, default=0.93, help="tta: the test accuracy to reach")
    p.add_argument("--isa", choices=["avx512", "avx2", "baseline"],
                   help="cap Rill's kernels (RILL_ISA): --isa avx2 on an AVX-512 machine measures "
                        "the path of AVX2-only CPUs")
    p.add_argument("--smoke", action="store_true", help="tiny workloads, Rill only: proves the code runs")
    p.add_argument("--out", default=os.path.join(BENCH, "results"))
    p.add_argument("--update-readme", action="store_true",
                   help="write the README's one table and the book's full tables (docs/src/performance)")
    p.add_argument("--from-json", metavar="FILE",
                   help="measure nothing: render FILE (a previous run's JSON) as Markdown again")
    opts = p.parse_args()
    if opts.from_json:
        with open(opts.from_json) as f:
            report = json.load(f)
        md = markdown(report)
        print(md)
        if opts.update_readme:
            update_readme(report, md)
        return
    frameworks = ["rill"] if opts.smoke else opts.frameworks.split(",")
    opts.workloads = opts.workloads.split(",")
    if [w for w in opts.workloads if w not in WORKLOADS]:
        raise SystemExit(f"unknown workloads in {opts.workloads}; known: {', '.join(WORKLOADS)}")
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        raise SystemExit(f"unknown frameworks {unknown}; known: {', '.join(FRAMEWORKS)}")
    if opts.smoke:
        opts.rounds = 1
    if opts.isa:
        os.environ["RILL_ISA"] = opts.isa
    env = worker_env()
    runs = collect(opts, frameworks, env)
    gemm = gemm_runs(env, 2 if opts.smoke else 10, frameworks)
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "rounds": opts.rounds,
        "command": " ".join(["bench/compare"] + sys.argv[1:]),
        "flops": {
            "mlp": training_flops("mlp", TRAIN_EXAMPLES),
            "cnn": training_flops("cnn", TRAIN_EXAMPLES),
            "predict": predict_flops(10_000),
        },
        "peak_gflops": {fw: r["gflops"] for fw, r in gemm.items()},
        "gemm_shapes": {fw: r["shapes"] for fw, r in gemm.items() if "shapes" in r},
        "profile": profile_rill(opts, env) if "cnn" in opts.workloads else [],
        "results": tabulate(runs),
        "runs": runs,
    }
    md = markdown(report)
    os.makedirs(opts.out, exist_ok=True)
    stem = "smoke" if opts.smoke else "latest"
    for name, text in ((f"{stem}.json", json.dumps(report, indent=1)), (f"{stem}.md", md)):
        tmp = os.path.join(opts.out, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(opts.out, name))
    print(md)
    if opts.update_readme and not opts.smoke:
        update_readme(report, md)


if __name__ == "__main__":
    main()
