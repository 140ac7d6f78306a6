#!/usr/bin/env python3
"""Writes an HR_WORKERS export of about N megabytes (ISO-8859-1, decimal comma), streaming.

Usage: bench/gen_workers.py OUT_FILE MEGABYTES [SEED]
Deterministic for a given seed. Every worker gets one open-ended range; the trailer is right.
"""
import random
import sys

out, megabytes = sys.argv[1], float(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
first = ["José", "Søren", "Françoise", "Björn", "Ana", "Mei", "Noël", "Zoë", "Íñigo", "Ólafur"]
last = ["Müller", "Ødegård", "Lefèvre", "Åkesson", "García", "Tanaka", "Dubois", "Brontë", "Sáenz", "Jónsson"]
regions = ["AMER", "EMEA", "APAC"]
practices = ["DATA", "CLOUD", "SEC", "APPS"]
jobs = ["CONS", "SCON", "PCON", "MGR"]
target = int(megabytes * 1024 * 1024)
with open(out, "wb") as f:
    f.write('<?xml version="1.0" encoding="ISO-8859-1"?>\n<WORKER_EXPORT EXPORT_ID="HR-BENCH-001" SOURCE="HRIS" GENERATED="2026-11-27T22:05:00+01:00" BUSINESS_DATE="2026-11-27" SCHEMA_VERSION="3">\n'.encode("iso-8859-1"))
    n = 0
    written = 0
    while written < target:
        n += 1
        fn, ln = rng.choice(first), rng.choice(last)
        rec = (f'  <WORKER ACTION="UPSERT">\n    <PERNR>{n:08d}</PERNR>\n    <FIRST_NAME>{fn}</FIRST_NAME>\n    <LAST_NAME>{ln}</LAST_NAME>\n'
               f'    <EMAIL>w{n}@example.com</EMAIL>\n    <REGION>{rng.choice(regions)}</REGION>\n    <PRACTICE>{rng.choice(practices)}</PRACTICE>\n'
               f'    <JOB_CODE>{rng.choice(jobs)}</JOB_CODE>\n    <BILLABLE_ROLE>Y</BILLABLE_ROLE>\n    <COST_CENTER>CC-{rng.randint(1000, 9999)}</COST_CENTER>\n'
               f'    <STD_HOURS_WEEK>{rng.choice(["40,00", "32,00", "37,5", "20"])}</STD_HOURS_WEEK>\n    <VALID_FROM>2026{rng.randint(1, 12):02d}01</VALID_FROM>\n'
               f'    <VALID_TO>99991231</VALID_TO>\n  </WORKER>\n').encode("iso-8859-1")
        f.write(rec)
        written += len(rec)
    f.write(f'  <TRAILER RECORD_COUNT="{n}"/>\n</WORKER_EXPORT>\n'.encode("iso-8859-1"))
print(f"{out}: {n} workers")
