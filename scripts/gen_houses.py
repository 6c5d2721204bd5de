#!/usr/bin/env python3
"""Generates a realistic multi-house sensor data set for the demo.

Three houses with a kitchen, a lounge and a bedroom each; every room has a
temperature and a humidity sensor reading once per second. Temperatures
follow a daily cycle, heating schedules per house, cooking peaks in the
kitchens and sensor noise; a few readings are missing (sensors drop out).
Output: one file per stream under OUT/, JSON lines each holding a batch of
up to 500 readings [{"t": epoch seconds, "v": value}, ...] ready for
`mosquitto_pub -l`.

usage: gen_houses.py OUT FROM_EPOCH SECONDS [--live]
       --live: print single readings for the current second forever
"""
import json
import math
import os
import random
import sys
import time

HOUSES = ["1", "2", "3"]
ROOMS = ["kitchen", "lounge", "bedroom"]


def temperature(h, r, t, rng):
    day = (t % 86400) / 86400.0
    base = 19.5 + 1.5 * math.sin(2 * math.pi * (day - 0.3))
    base += {"1": 0.0, "2": 1.2, "3": -0.8}[h]
    base += {"kitchen": 0.6, "lounge": 0.3, "bedroom": -0.7}[r]
    if r == "kitchen" and 0.70 < day < 0.76:
        base += 2.5 * math.sin(math.pi * (day - 0.70) / 0.06)
    return round(base + rng.gauss(0, 0.15), 2)


def humidity(h, r, t, rng):
    day = (t % 86400) / 86400.0
    base = 45 + 8 * math.sin(2 * math.pi * (day - 0.1)) + (6 if r == "kitchen" else 0)
    return round(base + rng.gauss(0, 0.8), 1)


def main():
    out, start, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(2024)
    os.makedirs(out, exist_ok=True)
    for h in HOUSES:
        for r in ROOMS:
            for name, fn in (("temperature", temperature), ("humidity", humidity)):
                path = os.path.join(out, f"{name},house={h},room={r}.jsonl")
                with open(path, "w") as f:
                    batch = []
                    for i in range(1, secs + 1):
                        t = start + i
                        if rng.random() < 0.002:
                            continue  # a dropped reading
                        batch.append({"t": t, "v": fn(h, r, t, rng)})
                        if len(batch) == 500:
                            f.write(json.dumps(batch) + "\n")
                            batch = []
                    if batch:
                        f.write(json.dumps(batch) + "\n")


def live():
    rng = random.Random()
    while True:
        t = time.time()
        for h in HOUSES:
            for r in ROOMS:
                print(f"temperature/house={h}/room={r} " +
                      json.dumps({"t": round(t, 3), "v": temperature(h, r, int(t), rng)}), flush=True)
        time.sleep(1 - (time.time() % 1))


if __name__ == "__main__":
    if "--live" in sys.argv:
        try:
            live()
        except (BrokenPipeError, KeyboardInterrupt):
            sys.exit(0)
    else:
        main()
