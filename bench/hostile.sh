#!/usr/bin/env bash
# Peak memory and time of `dropline run` on each hostile file (docs/hardening.md), one zone each.
#   bench/hostile.sh          (needs GNU time; builds dropline in release mode)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$repo" && swift build -c release --product dropline >/dev/null)
bin="$repo/.build/release/dropline"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head='<?xml version="1.0" encoding="UTF-8"?>'
root='<RateCard xmlns="urn:example:erp:rates:1" exportId="X" sourceSystem="ERP" generatedAt="2026-11-27T21:35:00+01:00" businessDate="2026-11-27" schemaVersion="1" currency="EUR">'
gen() { # name, python expression writing bytes to sys.stdout.buffer
  python3 -c "import sys; w=sys.stdout.buffer.write; $2" > "$work/$1.xml"
}
gen billion_laughs "w(b'''$head<!DOCTYPE RateCard [<!ENTITY a \"aaaaaaaaaa\">'''+b''.join(b'<!ENTITY a%d \"%s\">'%(i,(b'&a%d;'%(i-1) if i>1 else b'&a;')*10) for i in range(1,10))+b''']>$root<Control recordCount=\"&a9;\"/></RateCard>''')"
gen quadratic_blowup "w(b'''$head<!DOCTYPE RateCard [<!ENTITY a \"'''+b'x'*100000+b'''\">]>$root<Rate role=\"'''+b'&a;'*100000+b'''\"/><Control recordCount=\"1\"/></RateCard>''')"
gen deep_nesting "w(b'''$head$root'''+b'<a>'*100000+b'</a>'*100000+b'''<Control recordCount=\"0\"/></RateCard>''')"
gen attribute_200MB "w(b'''$head$root<Rate role=\"'''); [w(b'A'*(1<<20)) for _ in range(200)]; w(b'''\"/><Control recordCount=\"1\"/></RateCard>''')"
gen text_node_30MB "w(b'''$head$root<Rate role=\"X\">'''); [w(b't'*(1<<20)) for _ in range(30)]; w(b'''</Rate><Control recordCount=\"1\"/></RateCard>''')"
gen million_attributes "w(b'''$head$root<Rate'''); w(b''.join(b' a%d=\"1\"'%i for i in range(1000000))); w(b'''/><Control recordCount=\"1\"/></RateCard>''')"
gen random_bytes "import random; r=random.Random(7); w(bytes(r.randrange(256) for _ in range(1<<20)))"
gen truncated "w(b'''$head$root<Rate role=\"SCON\" region=\"EMEA\" validFr''')"
printf '%-20s %8s %8s  %s\n' case seconds RSS_MB outcome
for f in "$work"/*.xml; do
  case=$(basename "$f" .xml)
  zone="$work/zone-$case"
  "$bin" init "$zone" >/dev/null
  cp "$f" "$zone/inbox/ERP_RATES_ERP01_20261127_001.xml"
  /usr/bin/time -f "%e %M" -o "$work/t" "$bin" run --root "$zone" --settle-seconds 0 --json > "$work/out" 2>/dev/null || true
  read -r s k < <(tail -1 "$work/t")
  reason=$(python3 -c "import json,sys; d=json.load(open('$work/out')); print(d['files'][0]['reason'])")
  printf '%-20s %8s %8.1f  %s\n' "$case" "$s" "$(awk -v k="$k" 'BEGIN{print k/1024}')" "$reason"
done
