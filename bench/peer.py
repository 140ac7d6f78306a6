#!/usr/bin/env python3
"""The benchmark peer: what a team would write without Dropline. Python, lxml iterparse
(streaming, clear() as it goes), sqlite3 (executemany, one transaction), Decimal for money.

Usage: bench/peer.py DROP_DIR WORK_DIR

It loads the four master-data exports, then streams the timesheet export: control totals, the
record checks of the contract (hours, week, worker, project, category, billable, rate, period,
24 hours per day, ERP number) with holds and rejects, amounts half-up, postings into SQLite, an
ERP labor file and weekly utilization per group. Honest and efficient, but without schemas,
corrections, hold re-evaluation, manifests and crash safety.
"""
import csv
import datetime
import glob
import os
import sqlite3
import sys
from decimal import Decimal, ROUND_HALF_UP

from lxml import etree

drop, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
db = sqlite3.connect(os.path.join(work, "peer.sqlite"))
db.execute("PRAGMA journal_mode = WAL")
db.execute("CREATE TABLE IF NOT EXISTS workers (pernr TEXT, valid_from TEXT, valid_to TEXT, region TEXT, practice TEXT, job_code TEXT, billable TEXT, std_hours TEXT, PRIMARY KEY (pernr, valid_from))")
db.execute("CREATE TABLE IF NOT EXISTS projects (code TEXT PRIMARY KEY, status TEXT, start TEXT, end TEXT, engagement TEXT, billing TEXT, erp TEXT)")
db.execute("CREATE TABLE IF NOT EXISTS postings (id TEXT PRIMARY KEY, entry TEXT, pernr TEXT, erp TEXT, labor_class TEXT, date TEXT, period TEXT, hours TEXT, cost TEXT, bill TEXT, currency TEXT, bucket TEXT)")
db.execute("CREATE TABLE IF NOT EXISTS rejects (entry TEXT, reasons TEXT)")
db.execute("CREATE TABLE IF NOT EXISTS holds (entry TEXT PRIMARY KEY, reason TEXT)")
CATEGORIES = {"billable": ("LBR-BILL", "billable"), "client_nonbillable": ("LBR-CLNB", "productive"), "presales": ("LBR-PRES", "strategic"),
              "strategic": ("LBR-STRT", "strategic"), "internal": ("LBR-INTL", "internal"), "training": ("LBR-TRNG", "training"),
              "bench": ("LBR-BNCH", "bench"), "absence": ("ABS-PTO", "absence")}
CENT = Decimal("0.01")


def one(pattern):
    return sorted(glob.glob(os.path.join(drop, pattern)))[0]


def local(tag):
    return tag.rsplit("}", 1)[-1]


workers = {}
with db:
    rows = []
    for _, el in etree.iterparse(one("HR_WORKERS_*.xml"), tag="WORKER"):
        g = {local(c.tag): (c.text or "") for c in el}
        vf = datetime.datetime.strptime(g["VALID_FROM"], "%Y%m%d").date().isoformat()
        vt = "9999-12-31" if g["VALID_TO"] == "99991231" else datetime.datetime.strptime(g["VALID_TO"], "%Y%m%d").date().isoformat()
        rec = (g["PERNR"], vf, vt, g["REGION"], g["PRACTICE"], g["JOB_CODE"], g["BILLABLE_ROLE"], g["STD_HOURS_WEEK"].replace(",", "."))
        rows.append(rec)
        workers.setdefault(rec[0], []).append(rec)
        el.clear()
    db.executemany("INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    projects = {}
    for _, el in etree.iterparse(one("PSA_PROJECTS_*.xml"), tag="{urn:example:psa:projects:2}Project"):
        g = {local(c.tag): c for c in el}
        erp = g.get("ErpProjectNumber")
        rec = (el.get("code"), el.get("status"), g["Start"].text, g["End"].text if "End" in g else "9999-12-31",
               g["Engagement"].get("type"), g["Engagement"].get("billing"), (erp.text or None) if erp is not None else None)
        projects[rec[0]] = rec
        el.clear()
    db.executemany("INSERT OR REPLACE INTO projects VALUES (?, ?, ?, ?, ?, ?, ?)", projects.values())
    periods = []
    for _, el in etree.iterparse(one("ERP_PERIODS_*.xml"), tag="{urn:example:erp:fi:1}Period"):
        periods.append((el.get("start"), el.get("end"), el.get("id"), el.get("status")))
        el.clear()
    rates = {}
    for _, el in etree.iterparse(one("ERP_RATES_*.xml"), tag="{urn:example:erp:rates:1}Rate"):
        rates.setdefault((el.get("role"), el.get("region"), el.get("project")), []).append(
            (el.get("validFrom"), el.get("validTo") or "9999-12-31", Decimal(el.get("billRate")), Decimal(el.get("costRate"))))
        el.clear()


def period_of(d):
    for start, end, pid, status in periods:
        if start <= d <= end:
            return pid, status
    return None, None


def rate_of(role, region, project, d):
    for key in ((role, region, project), (role, region, None)):
        for vf, vt, bill, cost in rates.get(key, ()):
            if vf <= d <= vt:
                return bill, cost
    return None


T = "{urn:example:psa:time:2}"
day_hours = {}
postings, rejects, holds = [], [], []
db.execute("BEGIN")


def flush():
    db.executemany("INSERT OR REPLACE INTO postings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", postings)
    db.executemany("INSERT INTO rejects VALUES (?, ?)", rejects)
    db.executemany("INSERT OR REPLACE INTO holds VALUES (?, ?)", holds)
    postings.clear(); rejects.clear(); holds.clear()


counts = {"sheets": 0, "entries": 0}
total = Decimal(0)
for _, ts in etree.iterparse(one("PSA_TIMESHEETS_*.xml"), tag=(T + "Timesheet", T + "Control")):
    if ts.tag == T + "Control":
        control = ts
        break
    counts["sheets"] += 1
    worker, status = ts.get("worker"), ts.get("status")
    week = datetime.date.fromisoformat(ts.get("weekStart"))
    for e in ts.iterfind(T + "Entry"):
        counts["entries"] += 1
        raw = e.get("hours")
        try:
            hours = Decimal(raw)
            total += hours
        except Exception:
            rejects.append((e.get("id"), "invalid_field"))
            continue
        if status != "approved":
            continue
        eid, d, project, category = e.get("id"), e.get("date"), e.get("project"), e.get("category")
        reasons = []
        if hours <= 0 or hours > 24 or hours != hours.quantize(CENT):
            reasons.append("invalid_hours")
        dd = datetime.date.fromisoformat(d)
        if not week <= dd <= week + datetime.timedelta(days=6):
            reasons.append("date_outside_week")
        ranges = workers.get(worker)
        rng = next((r for r in ranges if r[1] <= d <= r[2]), None) if ranges else None
        if not ranges:
            reasons.append("unknown_worker")
        elif rng is None:
            reasons.append("worker_inactive")
        p = projects.get(project)
        if p is None:
            reasons.append("unknown_project")
        elif p[1] != "active" or not p[2] <= d <= p[3]:
            reasons.append("project_not_open")
        cat = CATEGORIES.get(category)
        if cat is None:
            reasons.append("unmapped_category")
        if p is not None and category == "billable" and (p[5] == "non_billable" or p[4] != "client"):
            reasons.append("billable_on_nonbillable")
        rate = None
        if rng is not None:
            rate = rate_of(rng[5], rng[3], project, d)
            if rate is None:
                reasons.append("no_rate")
        pid, pstatus = period_of(d)
        if pid is None:
            reasons.append("period_unknown")
        elif pstatus == "closed":
            reasons.append("period_closed")
        elif pstatus == "closing":
            reasons.append("period_closing")
        key = (worker, d)
        if "invalid_hours" not in reasons and day_hours.get(key, Decimal(0)) + hours > 24:
            reasons.append("day_over_24")
        if p is not None and not p[6]:
            reasons.append("no_erp_project_number")
        if reasons:
            if reasons[0] in ("unknown_worker", "period_closing", "no_erp_project_number"):
                holds.append((eid, reasons[0]))
            else:
                rejects.append((eid, ",".join(reasons)))
            continue
        bill, cost = rate
        c = (hours * cost).quantize(CENT, ROUND_HALF_UP)
        b = (hours * bill).quantize(CENT, ROUND_HALF_UP) if category == "billable" else Decimal("0.00")
        day_hours[key] = day_hours.get(key, Decimal(0)) + hours
        postings.append((f"P-{eid}-001", eid, worker, p[6], cat[0], d, pid, str(hours), str(c), str(b), "EUR", cat[1]))
    ts.clear()
    while ts.getprevious() is not None:
        del ts.getparent()[0]
    if len(postings) >= 10000:
        flush()

ok = int(control.get("timesheetCount")) == counts["sheets"] and int(control.get("entryCount")) == counts["entries"] and Decimal(control.get("totalHours")) == total
if not ok:
    db.rollback()
    sys.exit("control_total_mismatch")
flush()
db.commit()
postings = db.execute("SELECT * FROM postings ORDER BY rowid")

# ERP labor file with control totals.
with open(os.path.join(work, "ERP_LABOR_1000_20261128_001.xml"), "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<LaborPostings xmlns="urn:example:erp:labor:1" batchId="LB-1000-20261128-001" company="1000" createdAt="2026-11-28T02:00:00+01:00">\n')
    th = tc = tb = Decimal(0)
    n = 0
    for (pid, eid, pernr, erp, lc, d, period, h, c, b, cur, bucket) in postings:
        f.write(f'  <Posting id="{pid}" ref="{eid}" pernr="{pernr}" erpProject="{erp}" laborClass="{lc}" postingDate="{d}" period="{period}" hours="{h}" costAmount="{c}" billAmount="{b}" currency="{cur}"/>\n')
        th += Decimal(h); tc += Decimal(c); tb += Decimal(b)
        n += 1
    f.write(f'  <Control postingCount="{n}" totalHours="{th}" totalCost="{tc}" totalBill="{tb}"/>\n</LaborPostings>\n')

# Utilization: posted hours by ISO week and group.
groups = {}
for (pid, eid, pernr, erp, lc, d, period, h, c, b, cur, bucket) in db.execute("SELECT * FROM postings"):
    dd = datetime.date.fromisoformat(d)
    r = next(r for r in workers[pernr] if r[1] <= d <= r[2])
    iso = dd.isocalendar()
    k = (f"{iso[0]}-W{iso[1]:02d}", r[3], r[4], r[5], r[6])
    g = groups.setdefault(k, {})
    g[bucket] = g.get(bucket, Decimal(0)) + Decimal(h)
with open(os.path.join(work, "UTILIZATION.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["iso_week", "region", "practice", "job_code", "billable_role", "billable_hours", "actual_hours"])
    for k in sorted(groups):
        g = groups[k]
        w.writerow(list(k) + [g.get("billable", Decimal(0)), sum((v for b, v in g.items() if b != "absence"), Decimal(0))])
print("peer: " + ", ".join(f"{n} {what}" for what, n in [("posted", db.execute("SELECT COUNT(*) FROM postings").fetchone()[0]), ("held", db.execute("SELECT COUNT(*) FROM holds").fetchone()[0]), ("rejected", db.execute("SELECT COUNT(*) FROM rejects").fetchone()[0])]))
