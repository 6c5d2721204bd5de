#!/usr/bin/python3
"""Prints the workflow of a fleet of N devices, for tests and benchmarks.

  fleetwf.py N [--id ID] [--source NAME] [--window 1m] [--fahrenheit]
             [--no-aggregate] [--online EVERY]

Plates G (meta g, the value "1") and G.D (meta dev, the values "0" .. N-1).
Factors: windows of --window (sink <ID's window name>), per device the
window's mean of SOURCE (sink SOURCE_<window>, plate G.D), with
--fahrenheit that mean converted (sink SOURCE_<window>_f), and unless
--no-aggregate the fleet's mean of the device means (aggregate over dev
onto G, sink fleet_<SOURCE>). --online EVERY makes it an online workflow:
every EVERY over the windows, two seconds behind the clock.
"""
import argparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--id", default="fleet")
    ap.add_argument("--source", default="temp")
    ap.add_argument("--window", default="1m")
    ap.add_argument("--fahrenheit", action="store_true")
    ap.add_argument("--no-aggregate", action="store_true")
    ap.add_argument("--online")
    a = ap.parse_args()
    per_device = "%s_%s" % (a.source, a.window)
    lines = ["id: %s" % a.id]
    if a.online:
        lines.append("online: {every: %s, window: [-20s, -2s]}" % a.online)
    else:
        lines.append("job_span: 1h")
    lines += [
        "plates:",
        '  G:   {meta: g, values: ["1"]}',
        "  G.D: {meta: dev, parent: G, values: [%s]}" % ", ".join('"%d"' % i for i in range(a.n)),
        "factors:",
        "  - tool: sliding_window",
        "    params: {width: %s, increment: %s}" % (a.window, a.window),
        "    sink: w_%s" % a.window,
        "  - tool: sliding_apply",
        "    params: {func: mean}",
        "    sources: [w_%s, %s]" % (a.window, a.source),
        "    sink: %s" % per_device,
        "    plates: [G.D]",
    ]
    if a.fahrenheit:
        lines += [
            "  - tool: apply",
            "    params: {func: c_to_f}",
            "    sources: [%s]" % per_device,
            "    sink: %s_f" % per_device,
            "    plates: [G.D]",
        ]
    if not a.no_aggregate:
        lines += [
            "  - tool: aggregate",
            "    params: {func: mean}",
            "    over: dev",
            "    sources: [%s]" % per_device,
            "    sink: fleet_%s" % a.source,
            "    plates: [G]",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
