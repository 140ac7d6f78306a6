#!/usr/bin/env python3
"""Writes a consistent nightly drop set for Dropline benchmarks, streaming and deterministic.

Usage: bench/generate.py OUT_DIR TIMESHEET_MEGABYTES [--seed N] [--master-megabytes M] [--next-night DIR]

OUT_DIR gets HR_WORKERS (ISO-8859-1, decimal comma), PSA_PROJECTS, ERP_PERIODS, ERP_RATES and a
PSA_TIMESHEETS export of about the given size, each with a .done marker. Master data scales with
the timesheet size (about 137 workers and 7,500 entries per MB). APAC managers (1 worker in 12)
have no rate, so their entries (about 8 %) are rejected no_rate; about 1.5 % more are rejected
(hours, week, category), 2 % held (unknown worker, project without ERP number), 5 % of timesheets
are only submitted. `--master-megabytes M` sizes the master data as for an M MB night whatever
the timesheet size (to show that memory stays flat in the timesheet size at fixed master data;
a worker then gets more timesheets, and weeks repeat after 47, so more entries fail day_over_24).
`--next-night DIR` also writes the next night's timesheet export (business date 2026-11-28) of
about the same size into DIR: every submitted timesheet sent again approved, every timesheet of
an unknown worker sent again with the right one (its held entries are carried again), 1 in 100
other timesheets sent again with one entry's hours corrected, then the next weeks' timesheets.
The first night's files are the same with or without it.
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
p.add_argument("--next-night", default=None)
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
monday0 = datetime.date(2026, 1, 5)


def sheet(rng, number, first_entry, pernr, w, week):
    """One timesheet of worker `w` (random draws in a fixed order): its worker as exported,
    status, Monday and entries (id, date, project, task, hours, category, note)."""
    monday = monday0 + datetime.timedelta(days=7 * (week % 47))
    status = "submitted" if rng.random() < 0.05 else "approved"
    worker = pernr if rng.random() > 0.005 else f"{90000000 + w:08d}"  # unknown worker: held
    items = []
    entry_id = first_entry
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
            note = '<Note>Worked on the migration backlog</Note></Entry>' if rng.random() < 0.1 else None
            items.append((f"TE-{entry_id:08d}", day, project, f"T-{k + 1:02d}", hours, category, note))
    return dict(id=f"TS-{number:07d}", worker=worker, monday=monday, status=status, entries=items)


def text(s):
    chunk = [f'  <Timesheet id="{s["id"]}" worker="{s["worker"]}" weekStart="{s["monday"]}" status="{s["status"]}" submittedAt="{s["monday"] + datetime.timedelta(days=4)}T17:00:00Z">\n']
    for (eid, day, project, task, hours, category, note) in s["entries"]:
        chunk.append(f'    <Entry id="{eid}" date="{day}" project="{project}" task="{task}" hours="{hours}" category="{category}"' + (f'>{note}\n' if note else '/>\n'))
    chunk.append('  </Timesheet>\n')
    return "".join(chunk)


class Export:
    """A timesheet export being written, with its control totals."""
    def __init__(self, folder, name, export_id, business_date):
        self.path = os.path.join(folder, name)
        self.f = open(self.path, "w", encoding="utf-8")
        self.f.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<TimesheetExport xmlns="urn:example:psa:time:2" exportId="{export_id}" sourceSystem="PSA" generatedAt="{business_date}T23:30:00Z" businessDate="{business_date}" schemaVersion="2">\n')
        self.sheets = self.entries = self.written = 0
        self.total = Decimal(0)

    def add(self, s):
        t = text(s)
        self.f.write(t)
        self.written += len(t)
        self.sheets += 1
        self.entries += len(s["entries"])
        self.total += sum(Decimal(e[4]) for e in s["entries"])

    def close(self):
        self.f.write(f'  <Control timesheetCount="{self.sheets}" entryCount="{self.entries}" totalHours="{self.total}"/>\n</TimesheetExport>\n')
        self.f.close()
        open(self.path + ".done", "w").close()


name = "PSA_TIMESHEETS_PSA01_20261127_001.xml"
night = Export(a.out, name, "PSA-T-BENCH-001", "2026-11-27")
nxt = None
if a.next_night:
    os.makedirs(a.next_night, exist_ok=True)
    nxt = Export(a.next_night, "PSA_TIMESHEETS_PSA01_20261128_001.xml", "PSA-T-BENCH-002", "2026-11-28")
rng2 = random.Random(a.seed + 1)  # the next night's own draws: the first night stays as it was
entry_id = 0
week = 0
while night.written < target:
    for w, (pernr, region, role) in enumerate(workers):
        if night.written >= target:
            break
        s = sheet(rng, night.sheets + 1, entry_id, pernr, w, week)
        entry_id += len(s["entries"])
        night.add(s)
        if nxt is None:
            continue
        if s["status"] == "submitted" or s["worker"] != pernr:
            nxt.add(dict(s, status="approved", worker=pernr))
        elif rng2.random() < 0.01:
            fixed = list(s["entries"])
            e = fixed[0]
            fixed[0] = (e[0], e[1], e[2], e[3], "7.50" if e[4] != "7.50" else "7.00", e[5], e[6])
            nxt.add(dict(s, entries=fixed))
    week += 1
night.close()
if nxt is not None:
    # Then the weeks after: new timesheets until the next export has about the same size.
    number = night.sheets
    while nxt.written < target:
        for w, (pernr, region, role) in enumerate(workers):
            if nxt.written >= target:
                break
            number += 1
            s = sheet(rng2, number, entry_id, pernr, w, week)
            entry_id += len(s["entries"])
            nxt.add(s)
        week += 1
    nxt.close()
    print(f"{a.next_night}: next night, {nxt.sheets} timesheets, {nxt.entries} entries, {os.path.getsize(nxt.path) / 1048576:.1f} MB of timesheets")
sheets, entries = night.sheets, night.entries
print(f"{a.out}: {n_workers} workers, {n_projects} projects, {sheets} timesheets, {entries} entries, {os.path.getsize(os.path.join(a.out, name)) / 1048576:.1f} MB of timesheets")
