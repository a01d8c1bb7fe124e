#!/usr/bin/env python3
"""Regenerate the compact cloud IP-range files (data/ranges-*.tsv) from the providers' raw files.

trailhound embeds these TSV files (crates/trailhound-core/src/ranges.rs); provenance is in
data/README.md. Python 3 standard library only, no network: download the raw files first (URLs in
data/README.md), then run

    python3 data/refresh-ranges.py [--src DIR] [--out DIR] [--aws FILE] [--azure FILE] ...

--src DIR (default /work/shared/data) holds aws-ip-ranges.json and cloud-ip-ranges/ with
google-cloud-ip-ranges.json, microsoft-azure-ip-ranges.json, oracle-cloud-ip-ranges.json,
digitalocean.csv and linode.txt; --aws/--gcp/--azure/--oracle/--digitalocean/--linode FILE
override one file (e.g. a freshly downloaded ServiceTags_Public_20260817.json). Output is
deterministic: same input, same bytes. Then run `cargo test -p trailhound-core ranges` and update
the counts in crates/trailhound-core/src/ranges/tests.rs and the versions in data/README.md.

Formats written (UTF-8, LF, '#' lines are comments; `# key: value` header lines carry the version):
  ranges-aws.tsv    prefix TAB region TAB SERVICE,SERVICE,...   one line per distinct prefix, the
                    services of every entry of that prefix merged (sorted); region as published
                    (GLOBAL kept; the engine maps it to "no region").
  ranges-<p>.tsv    prefix TAB region                             for gcp, azure, oracle,
                    digitalocean, linode; region may be empty.

The non-AWS files are aggregated without changing what a lookup answers: a prefix is dropped when
the nearest shorter prefix of the same provider covering it gives the same effective region (its
own region, or the one inherited from the nearest covering prefix that has one). Azure's 4 MB of
service tags shrink to ~12.5k prefixes this way. AWS is not aggregated: the engine reports the
union of the services of every covering prefix, so each one is kept.
"""

import argparse
import csv
import ipaddress
import json
import os
import sys
from collections import defaultdict


# Raw file of each provider, relative to --src (the layout of /work/shared/data).
FILES = {
    "aws": "aws-ip-ranges.json",
    "gcp": "cloud-ip-ranges/google-cloud-ip-ranges.json",
    "azure": "cloud-ip-ranges/microsoft-azure-ip-ranges.json",
    "oracle": "cloud-ip-ranges/oracle-cloud-ip-ranges.json",
    "digitalocean": "cloud-ip-ranges/digitalocean.csv",
    "linode": "cloud-ip-ranges/linode.txt",
}


def net_key(net):
    return (net.version, int(net.network_address), net.prefixlen)


def parse_net(value, where):
    try:
        # strict=False: providers sometimes publish host bits; the trie truncates them anyway.
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as e:
        sys.exit(f"{where}: bad prefix {value!r}: {e}")


def clean(text):
    # Tabs and newlines would break the TSV; none occur in the published data today.
    return " ".join(str(text).split())


def aws(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    services = defaultdict(set)
    region = {}
    for key, field in (("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")):
        for i, entry in enumerate(doc.get(key, [])):
            net = parse_net(entry[field], f"{path}: {key}[{i}]")
            services[net].add(clean(entry["service"]))
            r = clean(entry.get("region", ""))
            # Keep the first real region if one prefix were ever published with several.
            if net not in region or region[net] in ("", "GLOBAL"):
                region[net] = r
    header = {
        "provider": "aws",
        "source": "ip-ranges.json",
        "syncToken": doc["syncToken"],
        "createDate": doc["createDate"],
        "prefixes": len(services),
    }
    rows = [(n, region[n], ",".join(sorted(services[n]))) for n in sorted(services, key=net_key)]
    return header, rows


def aggregate(entries):
    """entries: {net: region}. Drops prefixes that would not change any lookup's provider/region."""
    nets = sorted(entries, key=net_key)
    kept = []
    stack = []  # (net, effective region) of the chain of prefixes covering the current one
    for net in nets:
        while stack and not (stack[-1][0].version == net.version and net.subnet_of(stack[-1][0])):
            stack.pop()
        parent = stack[-1][1] if stack else None
        effective = entries[net] or (parent or "")
        if parent != effective:
            kept.append((net, effective))
        stack.append((net, effective))
    return kept


def add(entries, net, region):
    region = clean(region)
    if region.lower() == "global":
        region = ""
    if net not in entries or not entries[net]:
        entries[net] = region


def gcp(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    entries = {}
    for i, p in enumerate(doc["prefixes"]):
        value = p.get("ipv4Prefix") or p.get("ipv6Prefix")
        add(entries, parse_net(value, f"{path}: prefixes[{i}]"), p.get("scope", ""))
    return {"provider": "gcp", "source": os.path.basename(path), "syncToken": doc.get("syncToken", ""),
            "creationTime": doc.get("creationTime", "")}, entries


def azure(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    entries = {}
    for tag in doc["values"]:
        props = tag["properties"]
        for value in props.get("addressPrefixes", []):
            add(entries, parse_net(value, f"{path}: {tag['name']}"), props.get("region", ""))
    return {"provider": "azure", "source": os.path.basename(path), "cloud": doc.get("cloud", ""),
            "changeNumber": doc.get("changeNumber", "")}, entries


def oracle(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    entries = {}
    for r in doc["regions"]:
        for c in r["cidrs"]:
            add(entries, parse_net(c["cidr"], f"{path}: {r['region']}"), r["region"])
    return {"provider": "oracle", "source": os.path.basename(path),
            "last_updated_timestamp": doc.get("last_updated_timestamp", "")}, entries


def geofeed(path, provider):
    """RFC 8805 geofeed: prefix,alpha2,region,city,postal. Region written as 'City, US-NJ'."""
    entries = {}
    modified = ""
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or not "".join(row).strip():
                continue
            if row[0].startswith("#"):
                line = ",".join(row)
                if "Last modified:" in line:
                    modified = line.split("Last modified:", 1)[1].strip()
                continue
            row = [c.strip() for c in row] + [""] * 5
            place = ", ".join(x for x in (row[3], row[2] or row[1]) if x)
            add(entries, parse_net(row[0], f"{path}:{lineno}"), place)
    return {"provider": provider, "source": os.path.basename(path), "last_modified": modified}, entries


def write(out_dir, name, header, rows):
    path = os.path.join(out_dir, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# Generated by data/refresh-ranges.py; do not edit. Provenance: data/README.md\n")
        for k, v in header.items():
            if v != "":
                f.write(f"# {k}: {v}\n")
        for row in rows:
            f.write("\t".join(str(x) for x in row) + "\n")
    print(f"{path}: {len(rows)} prefixes, {os.path.getsize(path)} bytes")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--src", default="/work/shared/data", help="directory with the raw files (layout above)")
    ap.add_argument("--out", default=here, help="where to write ranges-*.tsv (default: data/)")
    for name, default in FILES.items():
        ap.add_argument(f"--{name}", metavar="FILE", help=f"raw file (default: SRC/{default})")
    args = ap.parse_args()

    def src(name):
        return getattr(args, name) or os.path.join(args.src, FILES[name])

    header, rows = aws(src("aws"))
    write(args.out, "ranges-aws.tsv", header, rows)

    for name, (header, entries) in (
        ("gcp", gcp(src("gcp"))),
        ("azure", azure(src("azure"))),
        ("oracle", oracle(src("oracle"))),
        ("digitalocean", geofeed(src("digitalocean"), "digitalocean")),
        ("linode", geofeed(src("linode"), "linode")),
    ):
        kept = aggregate(entries)
        header["published"] = len(entries)
        header["prefixes"] = len(kept)
        write(args.out, f"ranges-{name}.tsv", header, kept)


if __name__ == "__main__":
    main()
