#!/usr/bin/env python3
"""Writes a consistent nightly drop set for Dropline benchmarks, streaming and deterministic.

Usage: bench/generate.py OUT_DIR TIMESHEET_MEGABYTES [--seed N] [--master-megabytes M]

OUT_DIR gets HR_WORKERS (ISO-8859-1, decimal comma), PSA_PROJECTS, ERP_PERIODS, ERP_RATES and a
PSA_TIMESHEETS export of about the given size, each with a .done marker. Master data scales with
the timesheet size (about 137 workers and 7,500 entries per MB). APAC managers (1 worker in 12)
have no rate, so their entries (about 8 %) are rejected no_rate; about 1.5 % more are rejected
(hours, week, category), 2 % held (unknown worker, project without ERP number), 5 % of timesheets
are only submitted. `--master-megabytes M` sizes the master data as for an M MB night whatever
the timesheet size (to show that memory stays flat in the timesheet size at fixed master data;
a worker then gets more timesheets, and weeks repeat after 47, so more entries fail day_over_24).
"""
import argparse
import datetime
import os
import random
from decimal import Decimal

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("megabytes", type=float)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--master-megabytes", type=float, default=None)
a = p.parse_args()
rng = random.Random(a.seed)
os.makedirs(a.out, exist_ok=True)
target = int(a.megabytes * 1024 * 1024)
n_workers = max(20, int((a.master_megabytes or a.megabytes) * 137))
n_projects = max(20, n_workers // 25)
regions = ["AMER", "EMEA", "APAC"]
practices = ["DATA", "CLOUD", "SEC", "APPS", "STRAT", "OPS"]
roles = ["CONS", "SCON", "PCON", "MGR"]
first = ["José", "Søren", "Françoise", "Björn", "Ana", "Mei", "Noël", "Zoë", "Íñigo", "Ólafur", "Anna", "Lars"]
last = ["Müller", "Ødegård", "Lefèvre", "Åkesson", "García", "Tanaka", "Dubois", "Brontë", "Sáenz", "Jónsson", "Berg", "Novak"]


def done(name):
    open(os.path.join(a.out, name + ".done"), "w").close()


# Workers: one open range each, from 2025.
workers = []
with open(os.path.join(a.out, "HR_WORKERS_HRIS01_20261127_001.xml"), "wb") as f:
    f.write(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<WORKER_EXPORT EXPORT_ID="HR-BENCH-001" SOURCE="HRIS" GENERATED="2026-11-27T22:05:00+01:00" BUSINESS_DATE="2026-11-27" SCHEMA_VERSION="3">\n')
    for i in range(n_workers):
        pernr = f"{10000000 + i:08d}"
        region, practice, role = regions[i % 3], practices[i % 6], roles[i % 4]
        workers.append((pernr, region, role))
        f.write((f'  <WORKER ACTION="UPSERT">\n    <PERNR>{pernr}</PERNR>\n    <FIRST_NAME>{rng.choice(first)}</FIRST_NAME>\n    <LAST_NAME>{rng.choice(last)}</LAST_NAME>\n'
                 f'    <EMAIL>w{i}@example.com</EMAIL>\n    <REGION>{region}</REGION>\n    <PRACTICE>{practice}</PRACTICE>\n    <JOB_CODE>{role}</JOB_CODE>\n'
                 f'    <BILLABLE_ROLE>Y</BILLABLE_ROLE>\n    <COST_CENTER>CC-{1000 + i % 50}</COST_CENTER>\n    <STD_HOURS_WEEK>{rng.choice(["40,00", "32,00", "37,5"])}</STD_HOURS_WEEK>\n'
                 f'    <VALID_FROM>20250101</VALID_FROM>\n    <VALID_TO>99991231</VALID_TO>\n  </WORKER>\n').encode("iso-8859-1"))
    f.write(f'  <TRAILER RECORD_COUNT="{n_workers}"/>\n</WORKER_EXPORT>\n'.encode("iso-8859-1"))
done("HR_WORKERS_HRIS01_20261127_001.xml")

# Projects: client time-and-materials with ERP numbers; every 40th without (held entries).
projects = []
with open(os.path.join(a.out, "PSA_PROJECTS_PSA01_20261127_001.xml"), "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<ProjectExport xmlns="urn:example:psa:projects:2" exportId="PSA-P-BENCH-001" sourceSystem="PSA" generatedAt="2026-11-27T23:00:00Z" businessDate="2026-11-27" schemaVersion="2">\n')
    for i in range(n_projects):
        code = f"PRJ-{100000 + i}"
        erp = "" if i % 40 == 39 else f"<ErpProjectNumber>{4000000 + i}</ErpProjectNumber>"
        projects.append(code)
        f.write(f'  <Project code="{code}" status="active"><Name>Project {i}</Name><Customer id="C-{i:04d}">Customer {i}</Customer>'
                f'<Engagement type="client" billing="time_and_materials"/><Practice>{practices[i % 6]}</Practice><Region>{regions[i % 3]}</Region>{erp}'
                f'<Start>2025-01-01</Start><End>2027-12-31</End><Currency>EUR</Currency></Project>\n')
    f.write(f'  <Control recordCount="{n_projects}"/>\n</ProjectExport>\n')
done("PSA_PROJECTS_PSA01_20261127_001.xml")

with open(os.path.join(a.out, "ERP_PERIODS_ERP01_20261127_001.xml"), "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<FiscalCalendar xmlns="urn:example:erp:fi:1" company="1000" exportId="ERP-FC-BENCH-001" sourceSystem="ERP" generatedAt="2026-11-27T21:30:00+01:00" businessDate="2026-11-27" schemaVersion="1">\n')
    n = 0
    for year in (2025, 2026, 2027):
        for month in range(1, 13):
            start = datetime.date(year, month, 1)
            end = (datetime.date(year + (month == 12), month % 12 + 1, 1) - datetime.timedelta(days=1))
            status = "closed" if year == 2025 else "open"
            f.write(f'  <Period id="{year}-{month:02d}" start="{start}" end="{end}" status="{status}"/>\n')
            n += 1
    f.write(f'  <Control recordCount="{n}"/>\n</FiscalCalendar>\n')
done("ERP_PERIODS_ERP01_20261127_001.xml")

with open(os.path.join(a.out, "ERP_RATES_ERP01_20261127_001.xml"), "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<RateCard xmlns="urn:example:erp:rates:1" exportId="ERP-R-BENCH-001" sourceSystem="ERP" generatedAt="2026-11-27T21:35:00+01:00" businessDate="2026-11-27" schemaVersion="1" currency="EUR">\n')
    n = 0
    for role_i, role in enumerate(roles):
        for region in regions:
            if role == "MGR" and region == "APAC":
                continue  # no rate: entries of APAC managers are rejected no_rate
            f.write(f'  <Rate role="{role}" region="{region}" validFrom="2025-01-01" billRate="{100 + 25 * role_i}.00" costRate="{55 + 15 * role_i}.50"/>\n')
            n += 1
    for i in range(0, n_projects, 10):
        f.write(f'  <Rate role="SCON" region="{regions[i % 3]}" project="{projects[i]}" validFrom="2026-01-01" billRate="160.00" costRate="82.50"/>\n')
        n += 1
    f.write(f'  <Control recordCount="{n}"/>\n</RateCard>\n')
done("ERP_RATES_ERP01_20261127_001.xml")

# Timesheets: week after week, one sheet per worker, until the size is reached.
name = "PSA_TIMESHEETS_PSA01_20261127_001.xml"
sheets = entries = 0
total = Decimal(0)
entry_id = 0
monday0 = datetime.date(2026, 1, 5)
with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<TimesheetExport xmlns="urn:example:psa:time:2" exportId="PSA-T-BENCH-001" sourceSystem="PSA" generatedAt="2026-11-27T23:30:00Z" businessDate="2026-11-27" schemaVersion="2">\n')
    written = 0
    week = 0
    while written < target:
        monday = monday0 + datetime.timedelta(days=7 * (week % 47))
        for w, (pernr, region, role) in enumerate(workers):
            if written >= target:
                break
            sheets += 1
            status = "submitted" if rng.random() < 0.05 else "approved"
            worker = pernr if rng.random() > 0.005 else f"{90000000 + w:08d}"  # unknown worker: held
            chunk = [f'  <Timesheet id="TS-{sheets:07d}" worker="{worker}" weekStart="{monday}" status="{status}" submittedAt="{monday + datetime.timedelta(days=4)}T17:00:00Z">\n']
            for d in range(5):
                day = monday + datetime.timedelta(days=d)
                for k in range(2 if rng.random() < 0.4 else 1):
                    entry_id += 1
                    hours = "8.00" if k == 0 else "4.00"
                    category = "billable" if rng.random() < 0.8 else rng.choice(["client_nonbillable", "internal", "training", "presales"])
                    r = rng.random()
                    if r < 0.005: hours = "25.00"
                    elif r < 0.010: category = "overtime"
                    elif r < 0.015: day = monday + datetime.timedelta(days=8)
                    project = projects[(w + d + k) % len(projects)]
                    total += Decimal(hours)
                    entries += 1
                    note = '<Note>Worked on the migration backlog</Note></Entry>' if rng.random() < 0.1 else None
                    chunk.append(f'    <Entry id="TE-{entry_id:08d}" date="{day}" project="{project}" task="T-{k + 1:02d}" hours="{hours}" category="{category}"' + (f'>{note}\n' if note else '/>\n'))
            chunk.append('  </Timesheet>\n')
            text = "".join(chunk)
            f.write(text)
            written += len(text)
        week += 1
    f.write(f'  <Control timesheetCount="{sheets}" entryCount="{entries}" totalHours="{total}"/>\n</TimesheetExport>\n')
done(name)
print(f"{a.out}: {n_workers} workers, {n_projects} projects, {sheets} timesheets, {entries} entries, {os.path.getsize(os.path.join(a.out, name)) / 1048576:.1f} MB of timesheets")
