#!/usr/bin/env python3
"""The benchmark peer: what a team would write without Dropline, for the same contract.

Python, lxml iterparse (streaming, clear() as it goes), sqlite3 (executemany, one transaction per
file, WAL), Decimal for hours and money, hashlib for the checksums. Written to be honestly
efficient: one schema validation per record (lxml validates a record element as a fragment),
lookups batched per timesheet, rows written in batches.

Usage: bench/peer.py DROP_DIR WORK_DIR [RUN_DATE]      RUN_DATE defaults to 2026-11-28

WORK_DIR keeps the peer's state between runs (peer.sqlite) and what it writes (outbound/,
rejected/, manifests/). A run takes every export of the contract in DROP_DIR (it leaves the files
where they are: the benchmark's drops are shared) and does what the contract asks of it:

- SHA-256 of every file; a file seen before is a duplicate and is not read again; a reused export
  id with other bytes is quarantined; wrong root or trailer totals quarantine the whole file.
- Reference exports in the contract's order: each record validated against its XSD type and the
  contract's rules; workers effective-dated (upsert, terminate, overlaps), projects (the ERP
  number kept), ACKs, periods and rates (overlaps).
- Held entries of earlier runs re-evaluated before the timesheets (superseded when the run's
  exports carry them again, expired after hold_days).
- Time entries: header and entry schema, not_approved, already_posted and corrections (a reversal,
  then the new posting), checks 2-13 with all reasons in order, holds and their expiry; rejected
  records written back as XML with their reasons in JSON lines; the approval backlog.
- Outbound files written under .tmp and renamed, with .sha256 and .done: ERP labor postings,
  project-creation requests, the PSA resource feed and the weekly utilization facts; a run
  manifest with every input's and output's hash.
"""
import csv
import datetime
import glob
import hashlib
import io
import json
import os
import re
import sqlite3
import sys
from decimal import Decimal, ROUND_HALF_UP

from lxml import etree

drop, work = sys.argv[1], sys.argv[2]
RUN_DATE = datetime.date.fromisoformat(sys.argv[3] if len(sys.argv) > 3 else "2026-11-28")
COMPANY, HOLD_DAYS = "1000", 5
SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pipelines", "schemas")
CENT, BP = Decimal("0.01"), Decimal("0.0001")
ZERO = Decimal(0)
OPEN = "9999-12-31"
CATEGORIES = {"billable": ("LBR-BILL", "billable"), "client_nonbillable": ("LBR-CLNB", "productive"), "presales": ("LBR-PRES", "strategic"),
              "strategic": ("LBR-STRT", "strategic"), "internal": ("LBR-INTL", "internal"), "training": ("LBR-TRNG", "training"),
              "bench": ("LBR-BNCH", "bench"), "absence": ("ABS-PTO", "absence")}
BUCKETS = ("absence", "billable", "productive", "strategic", "internal", "training", "bench")
HOLD_REASONS = ("unknown_worker", "period_closing", "no_erp_project_number")
EXPECTED = {"invalid_field": ("record", "valid by the interface's schema and rules"),
            "invalid_hours": ("hours", "more than 0, at most 24, at most 2 decimals"),
            "date_outside_week": ("date", "within the timesheet week"),
            "unknown_worker": ("worker", "a worker of the worker master"),
            "worker_inactive": ("date", "within a validity range of the worker"),
            "unknown_project": ("project", "a project of the project master"),
            "project_not_open": ("project", "an active project open on the date"),
            "unmapped_category": ("category", "a category of the governed mapping"),
            "billable_on_nonbillable": ("category", "billable only on billable client projects"),
            "no_rate": ("date", "a rate for the worker's role and region on the date"),
            "period_unknown": ("date", "a fiscal period of the company"),
            "period_closed": ("date", "an open fiscal period"),
            "period_closing": ("date", "an open fiscal period"),
            "day_over_24": ("hours", "at most 24 posted hours on the day"),
            "no_erp_project_number": ("project", "a project with an ERP project number")}
DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
NAME = re.compile(r"(HR_WORKERS|PSA_PROJECTS|ERP_PROJECT_ACK|ERP_PERIODS|ERP_RATES|PSA_TIMESHEETS)_([A-Z0-9]{1,16})_([0-9]{8})_([0-9]{3})\.xml\Z")
ORDER = ["HR_WORKERS", "PSA_PROJECTS", "ERP_PROJECT_ACK", "ERP_PERIODS", "ERP_RATES", "PSA_TIMESHEETS"]
# interface: (schema, namespace, root, record, trailer, source system, schema version, root attribute names)
INTERFACES = {
    "HR_WORKERS": ("hr-workers.xsd", "", "WORKER_EXPORT", "WORKER", "TRAILER", "HRIS", "3", ("EXPORT_ID", "SOURCE", "BUSINESS_DATE", "SCHEMA_VERSION")),
    "PSA_PROJECTS": ("psa-projects.xsd", "urn:example:psa:projects:2", "ProjectExport", "Project", "Control", "PSA", "2", None),
    "ERP_PROJECT_ACK": ("erp-project-ack.xsd", "urn:example:erp:projects:1", "ProjectAck", "Ack", "Control", "ERP", "1", None),
    "ERP_PERIODS": ("erp-periods.xsd", "urn:example:erp:fi:1", "FiscalCalendar", "Period", "Control", "ERP", "1", None),
    "ERP_RATES": ("erp-rates.xsd", "urn:example:erp:rates:1", "RateCard", "Rate", "Control", "ERP", "1", None),
    "PSA_TIMESHEETS": ("psa-timesheets.xsd", "urn:example:psa:time:2", "TimesheetExport", "Timesheet", "Control", "PSA", "2", None)}
DEFAULT_ROOT_ATTRS = ("exportId", "sourceSystem", "businessDate", "schemaVersion")

os.makedirs(work, exist_ok=True)
db = sqlite3.connect(os.path.join(work, "peer.sqlite"), isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = NORMAL")
db.executescript("""
CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, name TEXT, interface TEXT, export_id TEXT, outcome TEXT, reason TEXT, run TEXT);
CREATE TABLE IF NOT EXISTS workers (pernr TEXT, valid_from TEXT, valid_to TEXT, first_name TEXT, last_name TEXT, region TEXT, practice TEXT,
  job_code TEXT, billable TEXT, std_hours TEXT, PRIMARY KEY (pernr, valid_from));
CREATE TABLE IF NOT EXISTS projects (code TEXT PRIMARY KEY, status TEXT, start TEXT, end TEXT, engagement TEXT, billing TEXT, erp TEXT,
  name TEXT, customer TEXT, practice TEXT, region TEXT, currency TEXT, requested TEXT, ack_message TEXT);
CREATE TABLE IF NOT EXISTS periods (company TEXT, id TEXT, start TEXT, end TEXT, status TEXT, PRIMARY KEY (company, id));
CREATE TABLE IF NOT EXISTS rates (role TEXT, region TEXT, project TEXT, valid_from TEXT, valid_to TEXT, bill TEXT, cost TEXT, currency TEXT,
  PRIMARY KEY (role, region, project, valid_from));
CREATE TABLE IF NOT EXISTS postings (id TEXT PRIMARY KEY, entry TEXT, timesheet TEXT, export_id TEXT, reverses TEXT, pernr TEXT, erp TEXT,
  labor_class TEXT, date TEXT, period TEXT, hours TEXT, cost TEXT, bill TEXT, currency TEXT, bucket TEXT, run TEXT);
CREATE INDEX IF NOT EXISTS postings_by_date ON postings (date);
CREATE INDEX IF NOT EXISTS postings_by_run ON postings (run);
CREATE TABLE IF NOT EXISTS entry_latest (entry TEXT PRIMARY KEY, postings INTEGER, current TEXT, pernr TEXT, date TEXT, project TEXT,
  hours TEXT, category TEXT);
CREATE TABLE IF NOT EXISTS posted_day (pernr TEXT, date TEXT, hundredths INTEGER, PRIMARY KEY (pernr, date));
CREATE TABLE IF NOT EXISTS evaluations (entry TEXT, timesheet TEXT, export_id TEXT, outcome TEXT, primary_reason TEXT, reasons TEXT, run TEXT);
CREATE TABLE IF NOT EXISTS holds (entry TEXT PRIMARY KEY, timesheet TEXT, export_id TEXT, business_date TEXT, file_order INTEGER,
  position INTEGER, worker TEXT, week_start TEXT, date TEXT, project TEXT, hours TEXT, category TEXT, reason TEXT);
CREATE TABLE IF NOT EXISTS timesheets (id TEXT PRIMARY KEY, status TEXT, submitted_at TEXT, business_date TEXT);
CREATE TABLE IF NOT EXISTS record_rejects (file TEXT, key TEXT, reasons TEXT, run TEXT);
CREATE TABLE IF NOT EXISTS sequences (prefix TEXT PRIMARY KEY, last INTEGER);
CREATE TABLE IF NOT EXISTS utilization_weekly (iso_week TEXT, week_start TEXT, region TEXT, practice TEXT, job_code TEXT, billable_role TEXT,
  workers INTEGER, capacity_hours TEXT, absence_hours TEXT, available_hours TEXT, billable_hours TEXT, productive_hours TEXT,
  strategic_hours TEXT, internal_hours TEXT, training_hours TEXT, bench_hours TEXT, actual_hours TEXT, billable_utilization TEXT,
  productive_utilization TEXT, PRIMARY KEY (iso_week, region, practice, job_code, billable_role));
""")
RUN = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + os.urandom(4).hex()
schemas = {}


def schema(interface):
    if interface not in schemas:
        schemas[interface] = etree.XMLSchema(etree.parse(os.path.join(SCHEMAS, INTERFACES[interface][0])))
    return schemas[interface]


def s2(d):
    """signed2: exactly two decimals, never -0.00."""
    q = d.quantize(CENT)
    return "0.00" if q == 0 else str(q)


def half_up(d, unit=CENT):
    return d.quantize(unit, ROUND_HALF_UP)


def real_date(text):
    try:
        return datetime.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Out:
    """A file written under .tmp, hashed as written, synced and renamed; then .sha256 and .done where asked."""
    def __init__(self, folder, name, sidecar, done=True):
        os.makedirs(folder, exist_ok=True)
        self.path, self.name, self.sidecar, self.done = os.path.join(folder, name), name, sidecar, done
        self.f = open(self.path + ".tmp", "wb")
        self.h = hashlib.sha256()
        self.buf = []
        self.size = 0

    def write(self, text):
        self.buf.append(text)
        if len(self.buf) >= 4096:
            self.drain()

    def drain(self):
        data = "".join(self.buf).encode("utf-8")
        self.buf.clear()
        self.h.update(data)
        self.f.write(data)
        self.size += len(data)

    def close(self):
        self.drain()
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.path + ".tmp", self.path)
        digest = self.h.hexdigest()
        if self.sidecar:
            atomic_text(self.path + ".sha256", f"{digest}  {self.name}\n")
        if self.done:
            atomic_text(self.path + ".done", "")
        outputs.append({"file": os.path.relpath(self.path, work), "sha256": digest, "bytes": self.size})

    def discard(self):
        self.f.close()
        os.remove(self.path + ".tmp")


def atomic_text(path, text):
    with open(path + ".tmp", "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def next_name(prefix):
    last = (db.execute("SELECT last FROM sequences WHERE prefix = ?", (prefix,)).fetchone() or (0,))[0] + 1
    db.execute("INSERT OR REPLACE INTO sequences VALUES (?, ?)", (prefix, last))
    return f"{prefix}_{last:03d}"


def created_at():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def qa(v):
    return v.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


class Rejects:
    """Rejected records of one file: an XML file like the original holding only them (trailer
    recomputed) and a JSON line per record with every failed check."""
    def __init__(self, interface, name, root):
        self.interface, self.name, self.root = interface, name, root
        self.xml = self.jsonl = None
        self.count = self.sheets = 0
        self.hours = ZERO
        self.by_reason = {}

    def open(self):
        folder = os.path.join(work, "rejected", self.interface, RUN)
        self.xml = Out(folder, self.name, False, done=False)
        self.jsonl = Out(folder, self.name + ".rejects.jsonl", False, done=False)
        attrs = " ".join(f'{k}="{qa(v)}"' for k, v in self.root.attrib.items())
        ns = self.root.nsmap.get(None)
        self.xml.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{etree.QName(self.root).localname}'
                       + (f' xmlns="{ns}"' if ns else "") + f" {attrs}>\n")

    def add(self, key, line, reasons, actual, record_type="record"):
        if self.xml is None:
            self.open()
        self.count += 1
        self.by_reason[reasons[0]] = self.by_reason.get(reasons[0], 0) + 1
        checks = [{"code": r, "field": field, "expected": expected, "actual": actual.get(field),
                   "hint": "Correct the value in the rejected file and resubmit it."}
                  for r in reasons for field, expected in [EXPECTED.get(r, ("record", "valid"))]]
        self.jsonl.write(json.dumps({"checks": checks, "format_version": 1, "key": key, "line": line,
                                     "primary_reason": reasons[0], "record_type": record_type}, sort_keys=True) + "\n")
        db_rejects.append((self.name, key, ",".join(reasons), RUN))

    def record(self, el):
        self.xml.write("  " + etree.tostring(el, encoding="unicode", with_tail=False) + "\n")

    def close(self, trailer):
        if self.xml is None:
            return
        self.xml.write(f"  {trailer}\n</{etree.QName(self.root).localname}>\n")
        self.xml.close()
        self.jsonl.close()
        reject_notes.setdefault(os.path.join(work, "rejected", self.interface, RUN), []).append(
            f"{self.name}: {self.count} records rejected\n" + "".join(f"  {n} x {r}: {EXPECTED.get(r, ('', ''))[1]}\n"
                                                                      for r, n in sorted(self.by_reason.items(), key=lambda x: -x[1])))

    def discard(self):
        if self.xml is not None:
            self.xml.discard()
            self.jsonl.discard()


db_rejects = []
reject_notes = {}
outputs = []
manifest_inputs = []


def root_fault(interface, root):
    _, ns, tag, _, _, source, version, attrs = INTERFACES[interface]
    if root.tag != (f"{{{ns}}}{tag}" if ns else tag):
        return True
    a = attrs or DEFAULT_ROOT_ATTRS
    export_id, src, bdate, ver = (root.get(x) for x in a)
    return not (export_id and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}", export_id) and src == source and ver == version
                and bdate and real_date(business_date(interface, root)))


def business_date(interface, root):
    b = root.get("BUSINESS_DATE" if interface == "HR_WORKERS" else "businessDate").strip()
    return b if "-" in b else f"{b[:4]}-{b[4:6]}-{b[6:]}"


def records(path, interface):
    """Streams (root, record) pairs, then (root, trailer) last; clears what it has read."""
    _, ns, _, rec, trailer, _, _, _ = INTERFACES[interface]
    q = (lambda n: f"{{{ns}}}{n}") if ns else (lambda n: n)
    for _, el in etree.iterparse(path, events=("end",), tag=(q(rec), q(trailer)), resolve_entities=False, no_network=True,
                                 huge_tree=True):
        parent = el.getparent()
        yield parent, el
        if el.tag == q(rec):
            el.clear(keep_tail=True)
            while el.getprevious() is not None:
                del parent[0]


def each_record(path, interface, trailer):
    """Yields (root, record, valid by its XSD type) in document order; `trailer` gets the trailer's
    attributes and the number of records read."""
    sch = schema(interface)
    trailer["records"] = 0
    for root, el in records(path, interface):
        if etree.QName(el).localname == INTERFACES[interface][4]:
            trailer.update(el.attrib)
            continue
        trailer["records"] += 1
        yield root, el, sch(el)


# ---- master data, as it stands before this run -------------------------------------------------

workers, projects, periods, rates = {}, {}, {}, {}


def read_master():
    """The master data as committed: at the start, and again after a file was rolled back."""
    for table in (workers, projects, periods, rates):
        table.clear()
    for r in db.execute("SELECT pernr, valid_from, valid_to, first_name, last_name, region, practice, job_code, billable, std_hours "
                        "FROM workers ORDER BY pernr, valid_from"):
        workers.setdefault(r[0], []).append(list(r))
    projects.update((r[0], list(r)) for r in db.execute("SELECT * FROM projects"))
    for r in db.execute("SELECT company, id, start, end, status FROM periods"):
        periods.setdefault(r[0], []).append(list(r))
    for r in db.execute("SELECT role, region, project, valid_from, valid_to, bill, cost, currency FROM rates"):
        rates.setdefault((r[0], r[1], r[2]), []).append(list(r))


read_master()


def d8(text):
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if text != "99991231" else OPEN


def load_workers(path, rej, trailer):
    changed = set()
    for root, el, valid in each_record(path, "HR_WORKERS", trailer):
        g = {c.tag: (c.text or "") for c in el}
        key = g.get("PERNR", "")
        reasons = []
        if not valid:
            reasons = ["invalid_field"]
        else:
            vf, vt = g["VALID_FROM"], g["VALID_TO"]
            f, t = real_date(d8(vf)) if vf != "99991231" else None, real_date(d8(vt)) if vt != "99991231" else datetime.date.max
            if f is None or t is None or d8(vf) > d8(vt):
                reasons = ["invalid_field"]
        if not reasons:
            ranges = workers.setdefault(key, [])
            vf, vt = d8(g["VALID_FROM"]), d8(g["VALID_TO"])
            if el.get("ACTION") == "TERMINATE":
                open_range = next((r for r in ranges if r[2] == OPEN), None)
                if open_range is None or vt == OPEN or vt < open_range[1]:
                    reasons = ["invalid_termination"]
                else:
                    open_range[2] = vt
                    changed.add(key)
            else:
                same = next((r for r in ranges if r[1] == vf), None)
                if any(r is not same and r[1] <= vt and vf <= r[2] for r in ranges):
                    reasons = ["overlapping_validity"]
                else:
                    row = [key, vf, vt, g["FIRST_NAME"], g["LAST_NAME"], g["REGION"], g["PRACTICE"], g["JOB_CODE"],
                           g["BILLABLE_ROLE"], g["STD_HOURS_WEEK"].replace(",", ".")]
                    if same is not None:
                        same[:] = row
                    else:
                        ranges.append(row)
                        ranges.sort(key=lambda r: r[1])
                    changed.add(key)
        if reasons:
            rej.add(key, el.sourceline, reasons, {})
            rej.record(el)
    return changed


def load_projects(path, rej, trailer):
    for root, el, ok in each_record(path, "PSA_PROJECTS", trailer):
        code = el.get("code")
        if ok:
            g = {etree.QName(c).localname: c for c in el}
            start, end = g["Start"].text.strip(), (g["End"].text.strip() if "End" in g else OPEN)
            eng = g["Engagement"]
            ok = end >= start and (eng.get("type") != "client" or "Customer" in g)
        if not ok:
            rej.add(code, el.sourceline, ["invalid_field"], {})
            rej.record(el)
            continue
        erp = g.get("ErpProjectNumber")
        erp = (erp.text or "").strip() or None if erp is not None else None
        old = projects.get(code)
        cust = g.get("Customer")
        projects[code] = [code, el.get("status"), start, end, eng.get("type"), eng.get("billing"), erp or (old[6] if old else None),
                          g["Name"].text, cust.get("id") if cust is not None else None, g["Practice"].text, g["Region"].text,
                          g["Currency"].text, old[12] if old else None, old[13] if old else None]


def load_acks(path, rej, trailer):
    for root, el, valid in each_record(path, "ERP_PROJECT_ACK", trailer):
        code, number, status = el.get("psaCode"), el.get("erpProjectNumber"), el.get("status")
        reasons = []
        if not valid or (status == "created" and not number):
            reasons = ["invalid_field"]
        elif code not in projects:
            reasons = ["unknown_project"]
        elif status == "created" and projects[code][6] not in (None, number):
            reasons = ["erp_number_conflict"]
        elif status == "created":
            projects[code][6] = number
        else:
            projects[code][13] = el.get("message") or ""
        if reasons:
            rej.add(code, el.sourceline, reasons, {})
            rej.record(el)


def load_ranged(path, rej, trailer, interface, store, key_of, row_of, same_at, start_at):
    """Periods and rates: upsert by key and start, a range overlapping another of the same key rejected."""
    for root, el, valid in each_record(path, interface, trailer):
        reasons = []
        if not valid:
            reasons = ["invalid_field"]
        else:
            row = row_of(root, el)
            start, end = row[start_at], row[start_at + 1]
            if end < start:
                reasons = ["invalid_field"]
            else:
                ranges = store.setdefault(key_of(row), [])
                same = next((r for r in ranges if r[same_at] == row[same_at]), None)
                if any(r is not same and r[start_at] <= end and start <= r[start_at + 1] for r in ranges):
                    reasons = ["overlapping_validity"]
                elif same is not None:
                    same[:] = row
                else:
                    ranges.append(row)
        if reasons:
            rej.add(el.get("id") or el.get("role"), el.sourceline, reasons, {})
            rej.record(el)


def load_periods(path, rej, trailer):
    return load_ranged(path, rej, trailer, "ERP_PERIODS", periods, lambda row: row[0],
                       lambda root, el: [root.get("company"), el.get("id"), el.get("start").strip(), el.get("end").strip(), el.get("status")],
                       1, 2)


def load_rates(path, rej, trailer):
    return load_ranged(path, rej, trailer, "ERP_RATES", rates, lambda row: (row[0], row[1], row[2]),
                       lambda root, el: [el.get("role"), el.get("region"), el.get("project"), el.get("validFrom").strip(),
                                         (el.get("validTo") or OPEN).strip(), el.get("billRate"), el.get("costRate"), root.get("currency")],
                       3, 3)


def save_master(interface, changed):
    if interface == "HR_WORKERS":
        db.executemany("INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [r for k in changed for r in workers[k]])
    elif interface in ("PSA_PROJECTS", "ERP_PROJECT_ACK"):
        db.executemany("INSERT OR REPLACE INTO projects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", projects.values())
    elif interface == "ERP_PERIODS":
        db.executemany("INSERT OR REPLACE INTO periods VALUES (?, ?, ?, ?, ?)", [r for rs in periods.values() for r in rs])
    elif interface == "ERP_RATES":
        db.executemany("INSERT OR REPLACE INTO rates VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [r for rs in rates.values() for r in rs])


LOADERS = {"HR_WORKERS": load_workers, "PSA_PROJECTS": load_projects, "ERP_PROJECT_ACK": load_acks, "ERP_PERIODS": load_periods,
           "ERP_RATES": load_rates}

# ---- the run's files, in the contract's order; duplicates by hash ---------------------------------

found = []
for path in glob.glob(os.path.join(drop, "*.xml")):
    m = NAME.match(os.path.basename(path))
    if m:
        found.append((ORDER.index(m.group(1)), m.group(3), m.group(4), m.group(2), m.group(1), path))
found.sort()
run_files, taken = [], set()
for _, _, _, _, interface, path in found:
    digest = sha256_of(path)
    entry = {"file": os.path.basename(path), "sha256": digest, "bytes": os.path.getsize(path)}
    manifest_inputs.append(entry)
    if digest in taken or db.execute("SELECT 1 FROM files WHERE sha256 = ?", (digest,)).fetchone():
        entry["outcome"] = "skipped duplicate_file"
        continue
    taken.add(digest)
    run_files.append((interface, path, digest, entry))


def quarantine(entry, interface, path, digest, reason, export_id=None):
    entry["outcome"] = "quarantined " + reason
    db.execute("INSERT INTO files VALUES (?, ?, ?, ?, 'quarantined', ?, ?)", (digest, os.path.basename(path), interface, export_id, reason, RUN))


def conflict(interface, export_id, digest):
    return db.execute("SELECT 1 FROM files WHERE interface = ? AND export_id = ? AND outcome = 'loaded' AND sha256 != ?",
                      (interface, export_id, digest)).fetchone() is not None


hr_dates = []
for interface, path, digest, entry in run_files:
    if interface == "PSA_TIMESHEETS":
        continue
    db.execute("BEGIN")
    rej = Rejects(interface, os.path.basename(path), None)
    try:
        first = next(etree.iterparse(path, events=("start",), resolve_entities=False, no_network=True))[1]
        rej.root = first
        if root_fault(interface, first):
            db.execute("ROLLBACK")
            quarantine(entry, interface, path, digest, "schema_root")
            continue
        export_id = first.get("EXPORT_ID" if interface == "HR_WORKERS" else "exportId")
        if conflict(interface, export_id, digest):
            db.execute("ROLLBACK")
            quarantine(entry, interface, path, digest, "export_id_conflict", export_id)
            continue
        trailer = {}
        changed = LOADERS[interface](path, rej, trailer)
        n, control = trailer["records"], trailer.get("RECORD_COUNT" if interface == "HR_WORKERS" else "recordCount")
    except (etree.XMLSyntaxError, StopIteration):
        n = control = None
    if control is None or str(n) != control:
        db.execute("ROLLBACK")
        rej.discard()
        db_rejects.clear()
        read_master()
        quarantine(entry, interface, path, digest, "not_well_formed" if n is None else "schema_root" if control is None else "control_total_mismatch")
        continue
    tag = INTERFACES[interface][4]
    rej.close(f'<{tag} RECORD_COUNT="{rej.count}"/>' if interface == "HR_WORKERS" else f'<Control recordCount="{rej.count}"/>')
    save_master(interface, changed)
    db.executemany("INSERT INTO record_rejects VALUES (?, ?, ?, ?)", db_rejects)
    db_rejects.clear()
    db.execute("INSERT INTO files VALUES (?, ?, ?, ?, 'loaded', NULL, ?)", (digest, os.path.basename(path), interface, export_id, RUN))
    db.execute("COMMIT")
    entry.update(outcome="loaded", records=n, rejected=rej.count)
    if interface == "HR_WORKERS":
        hr_dates.append(business_date(interface, first))

# ---- time entries: evaluation shared by held entries and the run's exports ----------------------

company_periods = sorted(periods.get(COMPANY, []), key=lambda r: r[2])
history = db.execute("SELECT 1 FROM postings LIMIT 1").fetchone() is not None
day_hours = {}          # (pernr, date) -> posted hours, this run's and (seeded per worker week) earlier runs'
seeded = set()
latest_pending = {}     # entry id -> latest row, changed in this run and not yet written
postings, evaluations, day_rows, hold_rows, hold_drops, ts_rows = [], [], [], [], [], []
weeks_posted = set()
counts = {"posted": 0, "held": 0, "rejected": 0, "skipped": 0, "superseded": 0}


DAYS = [datetime.timedelta(days=i) for i in range(7)]


def monday_of(d):
    return d - DAYS[d.weekday()]


def seed(pernr, monday):
    if (pernr, monday) in seeded:
        return
    seeded.add((pernr, monday))
    if history:
        for date, h in db.execute("SELECT date, hundredths FROM posted_day WHERE pernr = ? AND date BETWEEN ? AND ?",
                                  (pernr, monday.isoformat(), (monday + datetime.timedelta(days=6)).isoformat())):
            day_hours[(pernr, date)] = day_hours.get((pernr, date), ZERO) + Decimal(h) / 100


def period_of(d):
    for r in company_periods:
        if r[2] <= d <= r[3]:
            return r[1], r[4]
    return None, None


def rate_of(role, region, project, d):
    for key in ((role, region, project), (role, region, None)):
        for r in rates.get(key, ()):
            if r[3] <= d <= r[4]:
                return Decimal(r[5]), Decimal(r[6]), r[7]
    return None


def lookup_latest(ids):
    rows = {}
    missing = []
    for i in ids:
        if i in latest_pending:
            rows[i] = latest_pending[i]
        else:
            missing.append(i)
    if missing and (history or latest_flushed):
        for r in db.execute(f"SELECT * FROM entry_latest WHERE entry IN ({','.join('?' * len(missing))})", missing):
            rows[r[0]] = list(r)
    return rows


latest_flushed = False  # without history, entry_latest holds only what this run wrote


def flush():
    global latest_flushed
    db.executemany("INSERT INTO postings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", postings)
    db.executemany("INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?)", evaluations)
    db.executemany("INSERT OR REPLACE INTO entry_latest VALUES (?, ?, ?, ?, ?, ?, ?, ?)", latest_pending.values())
    db.executemany("INSERT INTO posted_day VALUES (?, ?, ?) ON CONFLICT (pernr, date) DO UPDATE SET hundredths = hundredths + excluded.hundredths",
                   day_rows)
    db.executemany("INSERT OR REPLACE INTO holds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", hold_rows)
    db.executemany("DELETE FROM holds WHERE entry = ?", hold_drops)
    db.executemany("INSERT OR REPLACE INTO timesheets VALUES (?, ?, ?, ?)", ts_rows)
    db.executemany("INSERT INTO record_rejects VALUES (?, ?, ?, ?)", db_rejects)
    latest_flushed = latest_flushed or bool(latest_pending)
    drop_pending()


def drop_pending():
    """Forgets the rows not yet written: after they were written, or when their file is rolled back."""
    for rows in (postings, evaluations, day_rows, hold_rows, hold_drops, ts_rows, db_rejects):
        rows.clear()
    latest_pending.clear()


def evaluate(e, latest, bdate):
    """Steps 4-5 of §4.2 for one entry e = (id, timesheet, export, worker, week, date, project, hours_text, hours, category).
    Returns (outcome, reasons)."""
    eid, ts_id, export_id, worker, week, d, project, raw, hours, category = e
    correction = None
    if latest is not None and latest[2] is not None:
        if latest[3] == worker and latest[4] == d and latest[5] == project and Decimal(latest[6]) == hours and latest[7] == category:
            return "skipped", ["already_posted"]
        correction = db.execute("SELECT * FROM postings WHERE id = ?", (latest[2],)).fetchone() or next(p for p in postings if p[0] == latest[2])
    reasons = []
    bad_hours = hours <= 0 or hours > 24 or hours != hours.quantize(CENT)
    if bad_hours:
        reasons.append("invalid_hours")
    dd = datetime.date.fromisoformat(d)
    monday = dd - DAYS[dd.weekday()]
    if monday != week:
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
        rate = rate_of(rng[7], rng[5], project, d)
        if rate is None:
            reasons.append("no_rate")
    pid, pstatus = period_of(d)
    states = [(pid, pstatus)] + ([period_of(correction[8])] if correction else [])
    fault = next(("period_unknown" if s[0] is None else "period_closed" for s in states if s[0] is None or s[1] == "closed"), None)
    if fault:
        reasons.append(fault)
    elif any(s[1] == "closing" for s in states):
        reasons.append("period_closing")
    if not bad_hours:
        seed(worker, monday)
        day = day_hours.get((worker, d), ZERO)
        if correction is not None and correction[8] == d:
            day -= Decimal(correction[10])
        if day + hours > 24:
            reasons.append("day_over_24")
    if p is not None and not p[6]:
        reasons.append("no_erp_project_number")
    if reasons:
        if reasons[0] in HOLD_REASONS:
            if RUN_DATE >= datetime.date.fromisoformat(bdate) + datetime.timedelta(days=HOLD_DAYS):
                return "rejected", reasons[:1]
            return "held", reasons[:1]
        return "rejected", reasons
    bill, cost, currency = rate
    seq = latest[1] if latest is not None else 0
    if correction is not None:
        seq += 1
        rev = (f"P-{eid}-{seq:03d}", eid, ts_id, export_id, correction[0], correction[5], correction[6], correction[7], correction[8],
               correction[9], s2(-Decimal(correction[10])), s2(-Decimal(correction[11])), s2(-Decimal(correction[12])), correction[13],
               correction[14], RUN)
        postings.append(rev)
        key = (correction[5], correction[8])
        reversed_week = monday_of(datetime.date.fromisoformat(correction[8]))
        seed(correction[5], reversed_week)
        day_hours[key] = day_hours.get(key, ZERO) - Decimal(correction[10])
        day_rows.append((key[0], key[1], -int(Decimal(correction[10]) * 100)))
        weeks_posted.add(reversed_week)
    seq += 1
    pid_ = f"P-{eid}-{seq:03d}"
    c = half_up(hours * cost)
    b = half_up(hours * bill) if category == "billable" else ZERO
    postings.append((pid_, eid, ts_id, export_id, None, worker, p[6], cat[0], d, pid, s2(hours), s2(c), s2(b), currency, cat[1], RUN))
    day_hours[(worker, d)] = day_hours.get((worker, d), ZERO) + hours
    day_rows.append((worker, d, int(hours * 100)))
    latest_pending[eid] = [eid, seq, pid_, worker, d, project, raw, category]
    weeks_posted.add(monday)
    return "posted", []


def record(e, outcome, reasons, bdate, file_order, position, held_before):
    eid = e[0]
    counts[outcome] += 1
    if outcome == "held":
        hold_rows.append((eid, e[1], e[2], bdate, file_order, position, e[3], e[4].isoformat(), e[5], e[6], e[7], e[9], reasons[0]))
    elif held_before:
        hold_drops.append((eid,))
    if outcome != "posted":
        evaluations.append((eid, e[1], e[2], outcome, reasons[0], ",".join(reasons), RUN))


T = "{urn:example:psa:time:2}"
# Held entries of earlier runs: superseded when this run's exports carry them, the others re-evaluated oldest first.
timesheet_files = [(path, digest, entry) for interface, path, digest, entry in run_files if interface == "PSA_TIMESHEETS"]
held = {r[0]: r for r in db.execute("SELECT * FROM holds ORDER BY business_date, file_order, position")}
db.execute("BEGIN")
if held:
    again = set()
    for path, _, _ in timesheet_files:
        try:
            for _, ts in records(path, "PSA_TIMESHEETS"):
                again.update(i for i in (e.get("id") for e in ts.iterfind(T + "Entry")) if i in held)
        except etree.XMLSyntaxError:
            pass
    for eid in again:
        h = held.pop(eid)
        counts["superseded"] += 1
        hold_drops.append((eid,))
        evaluations.append((eid, h[1], h[2], "superseded", "superseded", "superseded", RUN))
    ids = list(held)
    latest = {}
    for i in range(0, len(ids), 500):
        latest.update(lookup_latest(ids[i:i + 500]))
    expired = None
    for h in held.values():
        e = (h[0], h[1], h[2], h[6], datetime.date.fromisoformat(h[7]), h[8], h[9], h[10], Decimal(h[10]), h[11])
        outcome, reasons = evaluate(e, latest.get(h[0]), h[3])
        if outcome == "held":
            counts["held"] += 1
            if reasons[0] != h[12]:
                hold_rows.append(h[:12] + (reasons[0],))
            continue
        if outcome == "rejected":
            if expired is None:
                expired = Out(os.path.join(work, "rejected", "time_entries", RUN), "HELD.rejects.jsonl", False, done=False)
            expired.write(json.dumps({"checks": [{"code": r, "field": EXPECTED[r][0], "expected": EXPECTED[r][1]} for r in reasons],
                                      "format_version": 1, "key": h[0], "primary_reason": reasons[0], "record_type": "entry"},
                                     sort_keys=True) + "\n")
        record(e, outcome, reasons, h[3], h[4], h[5], True)
    if expired is not None:
        expired.close()
flush()
db.execute("COMMIT")

# The run's timesheet exports.
file_order = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
for path, digest, entry in timesheet_files:
    file_order += 1
    name = os.path.basename(path)
    db.execute("BEGIN")
    sch = schema("PSA_TIMESHEETS")
    rej = None
    sheets = entries = 0
    total = ZERO
    before = dict(counts)
    weeks_before = set(weeks_posted)
    try:
        root = next(etree.iterparse(path, events=("start",), resolve_entities=False, no_network=True))[1]
        if root_fault("PSA_TIMESHEETS", root):
            db.execute("ROLLBACK")
            quarantine(entry, "PSA_TIMESHEETS", path, digest, "schema_root")
            continue
        export_id, bdate = root.get("exportId"), business_date("PSA_TIMESHEETS", root)
        if conflict("PSA_TIMESHEETS", export_id, digest):
            db.execute("ROLLBACK")
            quarantine(entry, "PSA_TIMESHEETS", path, digest, "export_id_conflict", export_id)
            continue
        rej = Rejects("time_entries", name, root)
        control = None
        position = 0
        for root, ts in records(path, "PSA_TIMESHEETS"):
            if ts.tag == T + "Control":
                control = ts
                continue
            sheets += 1
            es = ts.findall(T + "Entry")
            entries += len(es)
            for e in es:
                raw = e.get("hours")
                if raw is not None and DECIMAL_TEXT.match(raw.strip()):
                    total += Decimal(raw)
            ts_id, worker, status, ws = ts.get("id"), ts.get("worker"), ts.get("status"), ts.get("weekStart")
            if sch(ts):
                header_ok, bad = real_date(ws.strip()).weekday() == 0, ()
            else:
                header = etree.Element(ts.tag, dict(ts.attrib), nsmap=ts.nsmap)
                header_ok = sch(header) and real_date(ws.strip()).weekday() == 0
                bad = {id(x) for x in es if not sch(x)}
            if header_ok:
                ts_rows.append((ts_id, status, ts.get("submittedAt"), bdate))
            week = real_date(ws.strip()) if header_ok else None
            todo = []
            outcome_of = []
            for e in es:
                position += 1
                eid = e.get("id")
                if not header_ok or id(e) in bad:
                    outcome_of.append((e, "rejected", ["invalid_field"]))
                    continue
                if status != "approved":
                    outcome_of.append((e, "skipped", ["not_approved"]))
                    continue
                raw = e.get("hours").strip()
                todo.append((e, position, (eid, ts_id, export_id, worker, week, e.get("date").strip(), e.get("project"), raw, Decimal(raw),
                                           e.get("category"))))
                outcome_of.append((e, None, None))
            latest = lookup_latest([t[2][0] for t in todo]) if todo else {}
            decided = {}
            for e, pos, ev in todo:
                decided[id(e)] = evaluate(ev, latest.get(ev[0]), bdate)
                if decided[id(e)][0] == "posted" and ev[0] in latest_pending:
                    latest[ev[0]] = latest_pending[ev[0]]
                record(ev, *decided[id(e)], bdate, file_order, pos, False)
            kept = []
            for e, outcome, reasons in outcome_of:
                if outcome is not None:
                    record((e.get("id"), ts_id, export_id), outcome, reasons, bdate, file_order, None, False)
                else:
                    outcome, reasons = decided[id(e)]
                if outcome == "rejected":
                    rej.add(e.get("id"), e.sourceline, reasons, {"hours": e.get("hours"), "date": e.get("date"), "project": e.get("project"),
                                                                  "category": e.get("category"), "worker": worker}, "entry")
                    kept.append(e)
            if kept:
                rej.sheets += 1
                rej.hours += sum((Decimal(e.get("hours")) for e in kept if DECIMAL_TEXT.match((e.get("hours") or "").strip())), ZERO)
                attrs = " ".join(f'{k}="{qa(v)}"' for k, v in ts.attrib.items())
                rej.xml.write(f"  <Timesheet {attrs}>\n" + "".join("    " + etree.tostring(e, encoding="unicode", with_tail=False)
                                                                  .replace(' xmlns="urn:example:psa:time:2"', "") + "\n" for e in kept)
                              + "  </Timesheet>\n")
            if len(postings) + len(evaluations) >= 20000:
                flush()
        ok = control is not None and control.get("timesheetCount") == str(sheets) and control.get("entryCount") == str(entries) \
            and DECIMAL_TEXT.match(control.get("totalHours") or "") and Decimal(control.get("totalHours")) == total
    except etree.XMLSyntaxError:
        ok = None
    if not ok:
        db.execute("ROLLBACK")
        if rej is not None:
            rej.discard()
        for k in counts:
            counts[k] = before[k]
        drop_pending()
        day_hours.clear(); seeded.clear(); weeks_posted.intersection_update(weeks_before)
        history = True  # what earlier files of this run posted is in the database now, not in memory
        quarantine(entry, "PSA_TIMESHEETS", path, digest, "not_well_formed" if ok is None else "schema_root" if control is None else "control_total_mismatch")
        continue
    flush()
    rej.close(f'<Control timesheetCount="{rej.sheets}" entryCount="{rej.count}" totalHours="{rej.hours}"/>')
    db.execute("INSERT INTO files VALUES (?, ?, ?, ?, 'loaded', NULL, ?)", (digest, name, "PSA_TIMESHEETS", export_id, RUN))
    db.execute("COMMIT")
    entry.update(outcome="loaded", **{k: counts[k] - before[k] for k in counts})

# ---- outbound ------------------------------------------------------------------------------------

db.execute("BEGIN")
if hr_dates:
    name = next_name(f"PSA_RESOURCES_{hr_dates[-1].replace('-', '')}") + ".csv"
    out = Out(os.path.join(work, "outbound", "psa"), name, False)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["pernr", "display_name", "region", "practice", "job_code", "billable_role", "std_hours_week", "valid_from", "valid_to"])
    for pernr in sorted(workers):
        for r in workers[pernr]:
            w.writerow([pernr, f"{r[3]} {r[4]}", r[5], r[6], r[7], r[8], str(Decimal(r[9]).quantize(CENT)), r[1], r[2]])
        if buf.tell() > 1 << 20:
            out.write(buf.getvalue()); buf.seek(0); buf.truncate()
    out.write(buf.getvalue())
    out.close()

requests = []
for code in sorted(projects):
    p = projects[code]
    if p[1] == "active" and not p[6]:
        attrs = [("psaCode", code), ("name", p[7]), ("customerId", p[8]), ("engagementType", p[4]), ("billingType", p[5]),
                 ("practice", p[9]), ("region", p[10]), ("start", p[2]), ("end", None if p[3] == OPEN else p[3]), ("currency", p[11])]
        content = " ".join(f'{k}="{qa(v)}"' for k, v in attrs if v is not None)
        if content != p[12]:
            requests.append(content)
            p[12] = content
if requests:
    name = next_name(f"ERP_PROJECT_CREATE_{COMPANY}_{RUN_DATE.strftime('%Y%m%d')}")
    out = Out(os.path.join(work, "outbound", "erp"), name + ".xml", True)
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<ProjectCreateRequest xmlns="urn:example:erp:projects:1" batchId="PC-{COMPANY}-'
              f'{RUN_DATE.strftime("%Y%m%d")}-{name[-3:]}" company="{COMPANY}" createdAt="{created_at()}">\n')
    for content in requests:
        out.write(f"  <Project {content}/>\n")
    out.write(f'  <Control recordCount="{len(requests)}"/>\n</ProjectCreateRequest>\n')
    out.close()
    db.executemany("UPDATE projects SET requested = ? WHERE code = ?", [(p[12], p[0]) for p in projects.values() if p[12]])

if counts["posted"] or db.execute("SELECT 1 FROM postings WHERE run = ? LIMIT 1", (RUN,)).fetchone():
    name = next_name(f"ERP_LABOR_{COMPANY}_{RUN_DATE.strftime('%Y%m%d')}")
    out = Out(os.path.join(work, "outbound", "erp"), name + ".xml", True)
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<LaborPostings xmlns="urn:example:erp:labor:1" batchId="LB-{COMPANY}-'
              f'{RUN_DATE.strftime("%Y%m%d")}-{name[-3:]}" company="{COMPANY}" createdAt="{created_at()}">\n')
    th = tc = tb = ZERO
    n = 0
    for (pid, eid, _, _, rev, pernr, erp, lc, d, period, h, c, b, cur, _, _) in db.execute("SELECT * FROM postings WHERE run = ? ORDER BY rowid", (RUN,)):
        r = f' reverses="{rev}"' if rev else ""
        out.write(f'  <Posting id="{pid}" ref="{eid}"{r} pernr="{pernr}" erpProject="{erp}" laborClass="{lc}" postingDate="{d}" '
                  f'period="{period}" hours="{h}" costAmount="{c}" billAmount="{b}" currency="{cur}"/>\n')
        th += Decimal(h); tc += Decimal(c); tb += Decimal(b)
        n += 1
    out.write(f'  <Control postingCount="{n}" totalHours="{s2(th)}" totalCost="{s2(tc)}" totalBill="{s2(tb)}"/>\n</LaborPostings>\n')
    out.close()

# Utilization: every ISO week with a posting of this run, recomputed in full.
for monday in sorted(weeks_posted):
    sunday = monday + datetime.timedelta(days=6)
    mo, su = monday.isoformat(), sunday.isoformat()
    hours = {}
    for pernr, bucket, h in db.execute("SELECT pernr, bucket, hours FROM postings WHERE date BETWEEN ? AND ?", (mo, su)):
        b = hours.setdefault(pernr, {})
        b[bucket] = b.get(bucket, ZERO) + Decimal(h)
    groups = {}
    days = [(monday + datetime.timedelta(days=i)).isoformat() for i in range(7)]
    for pernr, ranges in workers.items():
        touching = [r for r in ranges if r[1] <= su and mo <= r[2]]
        if touching:
            r = next(r for d in days for r in touching if r[1] <= d <= r[2])
        elif pernr in hours:
            before = [r for r in ranges if r[1] <= su]
            if not before:
                continue
            r = before[-1]
        else:
            continue
        cap = half_up(sum((Decimal(x[9]) / 5 for d in days[:5] for x in ranges if x[1] <= d <= x[2]), ZERO))
        g = groups.setdefault((r[5], r[6], r[7], r[8]), {"workers": 0, "capacity": ZERO, **{b: ZERO for b in BUCKETS}})
        if cap > 0:
            g["workers"] += 1
        g["capacity"] += cap
        for b, h in hours.get(pernr, {}).items():
            g[b] += h
    iso = monday.isocalendar()
    label = f"{iso[0]}-W{iso[1]:02d}"
    rows = []
    for k in sorted(groups):
        g = groups[k]
        available = g["capacity"] - g["absence"]
        actual = sum((g[b] for b in BUCKETS if b != "absence"), ZERO)
        ratio = (lambda x: str(half_up(x / available, BP)) if available > 0 else None)
        rows.append((label, mo) + k + (g["workers"], s2(g["capacity"]), s2(g["absence"]), s2(available)) +
                    tuple(s2(g[b]) for b in BUCKETS[1:]) + (s2(actual), ratio(g["billable"]), ratio(g["billable"] + g["productive"])))
    db.execute("DELETE FROM utilization_weekly WHERE iso_week = ?", (label,))
    db.executemany("INSERT INTO utilization_weekly VALUES (" + ",".join("?" * 19) + ")", rows)
    out = Out(os.path.join(work, "outbound", "analytics"), f"UTILIZATION_FACTS_{label}.csv", False)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["iso_week", "week_start", "region", "practice", "job_code", "billable_role", "workers", "capacity_hours", "absence_hours",
                "available_hours", "billable_hours", "productive_hours", "strategic_hours", "internal_hours", "training_hours", "bench_hours",
                "actual_hours", "billable_utilization", "productive_utilization"])
    w.writerows([tuple("" if v is None else v for v in r) for r in rows])
    out.write(buf.getvalue())
    out.close()

# Approval backlog: timesheets whose latest status is submitted.
ages = [(datetime.date.fromisoformat(b) - datetime.date.fromisoformat(s[:10])).days
        for s, b in db.execute("SELECT submitted_at, business_date FROM timesheets WHERE status = 'submitted' AND submitted_at IS NOT NULL")]
db.execute("COMMIT")
for folder, notes in reject_notes.items():
    atomic_text(os.path.join(folder, "README.txt"), f"Rejected records, run {RUN}. Correct the values in the XML files and drop them back.\n\n"
                + "\n".join(notes))
os.makedirs(os.path.join(work, "manifests"), exist_ok=True)
atomic_text(os.path.join(work, "manifests", f"run-{RUN}.json"),
            json.dumps({"run": RUN, "run_date": RUN_DATE.isoformat(), "inputs": manifest_inputs, "outputs": outputs, "outcomes": counts,
                        "approval_backlog": {"timesheets": len(ages), "max_age_days": max(ages, default=None)}}, indent=1) + "\n")
print("peer: " + ", ".join(f"{counts[k]} {k}" for k in ("posted", "held", "rejected", "skipped", "superseded")))
