#!/usr/bin/env python3
"""Prints the benchmark's table, the targets met or missed, and the closing "bench:" line.

Usage: summarize.py OUTDIR
Reads OUTDIR/results.tsv (row, connections, req/s, p50 us, p99 us, RSS KiB, errors),
OUTDIR/item_bench_1k.txt (its ITEM_BENCH line) and OUTDIR/idle.txt (the IDLE line).
"""
import os
import sys

ROW_NOTES = {
    "stub_get": "GetItem straight to the stub (no proxy)",
    "nginx_get": "nginx reverse proxy, GetItem",
    "nginx_put": "nginx reverse proxy, PutItem",
    "nginx_update": "nginx reverse proxy, UpdateItem (one upstream call)",
    "nginx_query": "nginx reverse proxy, Query (100 items)",
    "nginx_batchget": "nginx reverse proxy, BatchGetItem (100 keys)",
    "haproxy_get": "HAProxy, GetItem",
    "ds_passthrough_get": "dynaseal, GetItem on a pass-through table",
    "ds_get": "dynaseal, GetItem 1 KiB item (decrypt)",
    "ds_put": "dynaseal, PutItem 1 KiB item (encrypt)",
    "ds_update": "dynaseal, UpdateItem SET of an encrypted attribute (GetItem, decrypt, apply, encrypt, UpdateItem)",
    "ds_query": "dynaseal, Query 100 items (decrypt 100)",
    "ds_batchget": "dynaseal, BatchGetItem 100 keys (decrypt 100)",
    "ds_get_64k": "dynaseal, GetItem 64 KiB item",
    "ds_get_350k": "dynaseal, GetItem 350 KiB item",
    "ds_get_c16": "dynaseal, GetItem, 16 connections",
    "ds_get_c256": "dynaseal, GetItem, 256 connections",
    "ds_get_c1024": "dynaseal, GetItem, 1024 connections",
    "rate_stub_get": "fixed rate (half dynaseal's GetItem peak): stub",
    "rate_nginx_get": "fixed rate: nginx",
    "rate_ds_get": "fixed rate: dynaseal GetItem",
}


def kv(line):
    return dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)


def first_line(path, prefix):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            if line.startswith(prefix):
                return kv(line)
    return None


def main():
    out = sys.argv[1]
    rows = {}
    order = []
    with open(os.path.join(out, "results.tsv")) as f:
        for line in f:
            name, conns, rps, p50, p99, rss, errs = line.rstrip("\n").split("\t")
            rows[name] = dict(conns=int(conns), rps=float(rps), p50=int(p50), p99=int(p99),
                              rss=int(rss), errs=int(errs))
            order.append(name)
    item = first_line(os.path.join(out, "item_bench_1k.txt"), "ITEM_BENCH") or {}
    idle = first_line(os.path.join(out, "idle.txt"), "IDLE") or {}

    print("%-20s %5s %10s %9s %9s %9s %6s  %s" % ("row", "conns", "req/s", "p50 ms", "p99 ms",
                                                 "RSS MiB", "errors", "what"))
    for name in order:
        r = rows[name]
        rss = "%.1f" % (r["rss"] / 1024.0) if r["rss"] >= 0 else "-"
        print("%-20s %5d %10.0f %9.2f %9.2f %9s %6d  %s" % (
            name, r["conns"], r["rps"], r["p50"] / 1000.0, r["p99"] / 1000.0, rss, r["errs"],
            ROW_NOTES.get(name, "")))
    if idle:
        print("%-20s %5s %10s %9s %9s %9.1f %6s  %s" % (
            "ds_idle_conns", idle.get("conns"), "-", "-", "-", int(idle["rss_kib"]) / 1024.0,
            idle.get("non200", "-"), "dynaseal with 1024 idle keep-alive connections open "
            "(gauge %s; %.1f MiB before)" % (idle.get("open_gauge"),
                                            int(idle["rss_before_kib"]) / 1024.0)))

    def ratio(a, b):
        return rows[a]["rps"] / rows[b]["rps"] if a in rows and b in rows and rows[b]["rps"] else 0

    r1 = ratio("ds_passthrough_get", "nginx_get")
    r2 = ratio("ds_get", "nginx_get")
    r3 = ratio("ds_put", "nginx_put")
    qps = rows["ds_query"]["rps"] * 100 if "ds_query" in rows else 0
    dec = float(item.get("dec_us", "0"))
    dec_ratio = float(item.get("dec_ratio", "0"))
    added = None
    if "rate_ds_get" in rows and "rate_stub_get" in rows:
        added = (rows["rate_ds_get"]["p99"] - rows["rate_stub_get"]["p99"]) / 1000.0
    idle_mib = int(idle["rss_kib"]) / 1024.0 if idle else -1

    print()
    if item:
        print("item micro-benchmark (1 KiB, 3 encrypted + 12 signed): encrypt %s us, decrypt %s "
              "us; primitives floor %s / %s us, via crypto/item/suite.h %s / %s us; JSON parse %s us"
              % (item["enc_us"], item["dec_us"], item["floor_enc_us"], item["floor_dec_us"],
                 item["suite_enc_us"], item["suite_dec_us"], item["parse_us"]))
    checks = [
        ("pass-through >= 1.0x nginx", r1 >= 1.0, "%.2fx" % r1),
        ("GetItem >= 0.7x nginx", r2 >= 0.7, "%.2fx" % r2),
        ("PutItem >= 0.7x nginx", r3 >= 0.7, "%.2fx" % r3),
        ("item decrypt <= 3x raw primitives", 0 < dec_ratio <= 3.0, "%.2fx" % dec_ratio),
        ("item decrypt <= 10 us", 0 < dec <= 10.0, "%.1f us" % dec),
        ("p99 added <= 0.5 ms at half peak", added is not None and added <= 0.5,
         "%.2f ms" % added if added is not None else "n/a"),
        ("RSS <= 64 MiB with 1024 idle conns", 0 < idle_mib <= 64, "%.1f MiB" % idle_mib),
    ]
    for what, ok, got in checks:
        print("target %-36s %-4s %s" % (what, "met" if ok else "MISS", got))
    errs = sum(r["errs"] for r in rows.values())
    if errs:
        print("WARNING: %d wrk errors or non-2xx answers in the rows above (see rows/*.txt)" % errs)
    print("bench: passthrough_vs_nginx=%.2f get_vs_nginx=%.2f put_vs_nginx=%.2f "
          "query_items_per_s=%d item_decrypt_us=%.1f" % (r1, r2, r3, qps, dec))


if __name__ == "__main__":
    main()
