#!/usr/bin/env python3
"""Makes a realistic appliance state root, deterministically, for the tests, `make run` and
the benchmarks. Python 3 standard library only.

    tools/gen_state.py --out DIR [--db-mib 1024] [--files 2000] [--seed 1]

The tree is the layout keepsake backs up (src/appliance/layout.h, database_settings.h):

    DIR/firmware/            50 firmware settings files (.cfg/.json/.xml, 1-6 KiB) and
                             VERSION ("firmware=4.<minor>.<patch>" and a build id)
    DIR/config/              --files service configuration files (200 B - 8 KiB; ini, json,
                             yaml, xml, systemd units, nginx sites) in service/area[/tenant]
                             folders
    DIR/system/cluster/      cluster settings (json, yaml)
    DIR/system/network/      network settings (json, yaml)
    DIR/system/database/     database settings: connection.json (the internal SQLite
                             database at db/internal.sqlite) and tuning files
    DIR/db/internal.sqlite   the internal database, about --db-mib MiB, shaped like a CA's:
                             ca, certificates (pseudo-DER X.509), key_escrow (wrapped keys),
                             crls, audit_log, and their indexes; page size 8192, rollback
                             journal (journal_mode=DELETE), no -journal file left behind

No system/accounts/: keepsaked creates the Initial OTP User only on an appliance without
accounts, and the tests log in with it; tests that need accounts write users.json.

Deterministic: the same arguments give byte-identical files (with the same SQLite library),
the same modes (0644 files, 0755 directories, 0600 database) whatever the umask, and every
file and directory has the mtime 2024-01-01T00:00:00Z, so that archives of the tree are
reproducible. An integer seed N gives firmware version 4.N.x: a larger seed is newer
firmware (tests restore an older appliance's backup onto a newer one).

Realistic for compression: what is random in a real CA database (serials, public keys,
signatures, key identifiers, wrapped keys, HMACs) is random here, the rest (ASN.1 structure,
names, OIDs, extensions, JSON field names) repeats. The database compresses to about 58 % of
its size with `zstd -3`, the text files to under 30 %: close to what the figures of
docs/PERFORMANCE.md were measured on.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import sqlite3
import sys
import time

MTIME = 1704067200  # 2024-01-01T00:00:00Z
PAGE_SIZE = 8192
DB_PATH = "db/internal.sqlite"

# --------------------------------------------------------------------------------------
# Vocabulary: configuration files reuse a small set of words, as real ones do.
# --------------------------------------------------------------------------------------
TERMS = ("access accept account active address agent alert allow archive audit auth backend "
         "backup batch bind buffer cache chain channel check cipher client cluster commit "
         "connect control cookie core crl daemon deadline default deny digest domain enable "
         "endpoint engine event export failover filter forward gateway group handler health "
         "host index interval issuer journal keepalive key label latency lease level limit "
         "listen local lock log mapping master member metric mode monitor mount node notify "
         "ocsp option owner peer policy pool port primary priority profile protocol proxy "
         "queue quota realm record relay replica request retry role route rule schedule "
         "secondary session signer size socket source standby storage subject sync target "
         "tenant threshold timeout token trust upstream user validity vault verify weight "
         "window worker zone").split()
SERVICES = ("ca-core ocsp crl-publisher scep est acme ra-portal hsm-proxy ldap-sync webconf "
            "rest-api audit-shipper syslog ntp dns haproxy nginx ssh snmp smtp metrics "
            "alertmanager backup cron firewall radius vpn keepalived redis").split()
AREAS = ("conf.d defaults overrides profiles templates policies hooks rules realms plugins "
         "sites tenants certs.d trust.d").split()
ORGS = ("Northwind Trust", "Contoso Devices", "Fabrikam Energy", "Tailspin Avionics",
        "Litware Health", "Proseware Labs", "Adatum Finance", "Woodgrove Bank")
COUNTRIES = ("DE", "US", "FR", "NL", "GB", "SE", "CH", "AT")
PROFILES = ("tls-server", "tls-client", "device-idevid", "device-ldevid", "smime",
            "code-signing", "ocsp-signing", "ipsec-gateway", "timestamping")
EVENTS = ("certificate.issued", "certificate.revoked", "certificate.renewed", "crl.published",
          "ocsp.signed", "login.succeeded", "login.failed", "profile.updated", "key.generated",
          "key.escrowed", "settings.changed", "user.added", "role.granted")
ACTORS = ("admin", "ra-operator", "auditor", "est-enroll", "scep-enroll", "acme-account-17",
          "rest-client", "scheduler", "system")
CHANNELS = ("webconf", "rest", "est", "scep", "acme", "cli")


class Gen(random.Random):
    """random.Random with the small pieces configuration files are made of."""

    def term(self):
        return self.choice(TERMS)

    def ident(self):
        return f"{self.term()}_{self.term()}"

    def ipv4(self):
        return f"10.{self.randrange(256)}.{self.randrange(256)}.{self.randrange(1, 255)}"

    def fqdn(self):
        return f"{self.term()}-{self.randrange(1, 40):02d}.{self.choice(('dc1', 'dc2', 'lab', 'prod'))}.example.org"

    def uuid(self):
        h = self.randbytes(16).hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def scalar(self):
        """A configuration value: numbers, switches, addresses, names, paths, durations."""
        kind = self.randrange(10)
        if kind == 0:
            return str(self.randrange(1, 65536))
        if kind == 1:
            return self.choice(("true", "false", "on", "off"))
        if kind == 2:
            return self.ipv4()
        if kind == 3:
            return self.fqdn()
        if kind == 4:
            return f"/var/lib/{self.choice(SERVICES)}/{self.term()}"
        if kind == 5:
            return f"{self.randrange(1, 600)}{self.choice('smh')}"
        if kind == 6:
            return self.uuid()
        if kind == 7:
            return self.choice(("info", "warn", "error", "debug", "none", "auto"))
        return f"{self.term()}-{self.term()}"


# --------------------------------------------------------------------------------------
# Text formats. Each writer appends lines until the text reaches about `size` bytes.
# --------------------------------------------------------------------------------------

def _fill(lines, size, more):
    total = sum(len(line) + 1 for line in lines)
    while total < size:
        added = more()
        lines.extend(added)
        total += sum(len(line) + 1 for line in added)
    return "\n".join(lines) + "\n"


def text_ini(g, size, name):
    def section():
        out = ["", f"[{g.term()}.{g.term()}]"]
        for _ in range(g.randrange(3, 9)):
            if g.random() < 0.2:
                out.append(f"; {g.term()} {g.term()} {g.term()}")
            out.append(f"{g.ident()} = {g.scalar()}")
        return out
    return _fill([f"; {name}", "; managed by the appliance configuration service"], size, section)


def text_json(g, size, name):
    def obj(depth):
        o = {}
        for _ in range(g.randrange(3, 8)):
            if depth < 2 and g.random() < 0.25:
                o[g.term()] = obj(depth + 1)
            elif g.random() < 0.15:
                o[g.ident()] = [g.fqdn() for _ in range(g.randrange(1, 4))]
            else:
                v = g.scalar()
                o[g.ident()] = int(v) if v.isdigit() else v
        return o
    doc = {"name": name, "version": 2, "managed": True}
    while len(json.dumps(doc, indent=2)) < size:
        doc[f"{g.term()}_{len(doc)}"] = obj(0)
    return json.dumps(doc, indent=2) + "\n"


def text_yaml(g, size, name):
    head = [f"# {name}", "apiVersion: appliance.example/v1",
            f"kind: {g.choice(('Cluster', 'Network', 'Database', 'Service'))}Settings",
            "metadata:", f"  name: {name}", f"  uid: {g.uuid()}", "spec:"]

    def block():
        out = [f"  {g.term()}:"]
        for _ in range(g.randrange(2, 7)):
            if g.random() < 0.2:
                out.append(f"    {g.term()}:")
                out += [f"      - {g.fqdn()}" for _ in range(g.randrange(1, 4))]
            else:
                out.append(f"    {g.ident()}: {g.scalar()}")
        return out
    return _fill(head, size, block)


def text_xml(g, size, name):
    head = ['<?xml version="1.0" encoding="UTF-8"?>', f"<!-- {name} -->", "<settings>"]

    def element():
        tag = g.term()
        out = [f'  <{tag} id="{g.randbytes(4).hex()}" enabled="{g.choice(("true", "false"))}">']
        out += [f'    <param name="{g.ident()}" value="{g.scalar()}"/>' for _ in range(g.randrange(2, 6))]
        return out + [f"  </{tag}>"]
    return _fill(head, size, element)[:-1] + "\n</settings>\n"


def text_unit(g, size, name):
    svc = g.choice(SERVICES)
    head = ["[Unit]", f"Description={svc} ({name})", "After=network-online.target", "",
            "[Service]", f"User={svc}", f"ExecStart=/usr/sbin/{svc} --config /etc/{svc}/{name}.conf",
            "Restart=on-failure", f"RestartSec={g.randrange(1, 30)}"]
    text = _fill(head, size - 40, lambda: [f"Environment={g.ident().upper()}={g.scalar()}"])
    return text + "\n[Install]\nWantedBy=multi-user.target\n"


def text_nginx(g, size, name):
    def server():
        return ["server {", f"    listen {g.choice((443, 8443, 9443))} ssl;", f"    server_name {g.fqdn()};",
                f"    ssl_certificate /etc/pki/{g.choice(SERVICES)}/chain.pem;",
                f"    ssl_certificate_key /etc/pki/{g.choice(SERVICES)}/key.pem;",
                "    ssl_protocols TLSv1.2 TLSv1.3;", f"    location /{g.term()}/ {{",
                f"        proxy_pass https://{g.ipv4()}:{g.randrange(1024, 65536)};",
                f"        proxy_read_timeout {g.randrange(5, 300)}s;", "    }", "}", ""]
    return _fill([f"# {name}"], size, server)


FORMATS = ((text_ini, "conf"), (text_json, "json"), (text_yaml, "yaml"), (text_xml, "xml"),
           (text_unit, "service"), (text_nginx, "site"), (text_ini, "ini"), (text_ini, "env"))


def cut(text, size):
    """The text up to the last line end before `size` (at least its first line)."""
    if len(text) <= size:
        return text
    end = text.rfind("\n", 0, size)
    return text[:end + 1] if end > 0 else text[:size]


def sized(g, lo, hi):
    """A file size between lo and hi, small ones more likely (log-uniform), as on appliances."""
    return int(lo * (hi / lo) ** g.random())


def put(root, rel, data, mode=0o644):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

def firmware_version(seed):
    """4.<seed>.<patch> for an integer seed, so that a larger seed is newer firmware."""
    g = Gen(f"version:{seed}")
    minor = int(seed) if str(seed).isdigit() else g.randrange(10)
    return f"4.{minor}.{g.randrange(30)}"


def make_firmware(root, seed):
    g = Gen(f"firmware:{seed}")
    for i in range(50):
        writer, ext = ((text_ini, "cfg"), (text_json, "json"), (text_xml, "xml"))[i % 3]
        part = g.choice(("bios", "bmc", "nic", "raid", "tpm", "hsm", "psu", "fan", "sensor", "board"))
        name = f"{part}-{g.term()}-{i:02d}"
        size = g.randrange(1024, 6144)
        put(root, f"firmware/{name}.{ext}", cut(writer(g, size, name), size + 512))
    put(root, "firmware/VERSION", f"firmware={firmware_version(seed)}\nbuild={g.randbytes(10).hex()}\n")
    return 51


def make_system(root, seed):
    g = Gen(f"system:{seed}")
    n = 0
    for area in ("cluster", "network", "database"):
        for i in range(g.randrange(8, 16)):
            size = sized(g, 400, 12000)
            name = f"{area}-{g.term()}-{i}"
            writer, ext = (text_json, "json") if i % 2 == 0 else (text_yaml, "yaml")
            put(root, f"system/{area}/{name}.{ext}", cut(writer(g, size, name), size + 512))
            n += 1
    # What src/appliance/database_settings.cc reads: the embedded default, spelled out.
    connection = {"engine": "sqlite", "location": "internal", "path": DB_PATH}
    put(root, "system/database/connection.json", json.dumps(connection, indent=2) + "\n")
    return n + 1


def make_config(root, count, seed):
    g = Gen(f"config:{seed}")
    folders = []
    for svc in SERVICES:
        for area in g.sample(AREAS, g.randrange(2, 6)):
            folders.append(f"config/{svc}/{area}")
            if g.random() < 0.3:
                folders += [f"config/{svc}/{area}/tenant-{t:02d}" for t in range(g.randrange(1, 4))]
    # Shared boilerplate that many files start with, as generated configurations do.
    common = [text_ini(g, g.randrange(200, 1500), f"common-{i}") for i in range(40)]
    for i in range(count):
        size = sized(g, 200, 8192)
        writer, ext = g.choice(FORMATS)
        name = f"{g.term()}-{g.term()}-{i:04d}"
        text = writer(g, size, name)
        if writer is text_ini and g.random() < 0.6:
            text = g.choice(common) + text
        text = cut(text, size)
        if len(text) < 200:
            text += "# " + "reserved " * ((200 - len(text)) // 9 + 1) + "\n"
        put(root, f"{g.choice(folders)}/{name}.{ext}", text)
    return count


# --------------------------------------------------------------------------------------
# Pseudo-DER: real ASN.1 framing and OIDs around random key material.
# --------------------------------------------------------------------------------------

def der(tag, *parts):
    body = b"".join(parts)
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        size = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(size)]) + size
    return bytes([tag]) + head + body


def oid(dotted):
    first, second, *rest = (int(x) for x in dotted.split("."))
    body = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return der(0x06, bytes(body))


def seq(*parts):
    return der(0x30, *parts)


def dn(country, org, unit, cn):
    def rdn(attr, value, tag=0x0C):
        return der(0x31, seq(oid(attr), der(tag, value.encode())))
    return seq(rdn("2.5.4.6", country, 0x13), rdn("2.5.4.10", org), rdn("2.5.4.11", unit), rdn("2.5.4.3", cn))


def utctime(t):
    return der(0x17, time.strftime("%y%m%d%H%M%SZ", time.gmtime(t)).encode())


def ext(ext_oid, value, critical=False):
    return seq(oid(ext_oid), b"\x01\x01\xff" if critical else b"", der(0x04, value))


SHA256_RSA = seq(oid("1.2.840.113549.1.1.11"), b"\x05\x00")
ECDSA_SHA384 = seq(oid("1.2.840.10045.4.3.3"))
KEY_BYTES = {"rsa2048": 256, "rsa3072": 384, "rsa4096": 512}
WRAPPED_KEY_BYTES = {"rsa2048": 1192, "rsa3072": 1784, "rsa4096": 2376, "p256": 138}
# Subject keys of a private CA: mostly RSA, some P-256.
SUBJECT_KEYS = ("rsa2048",) * 8 + ("rsa3072",) * 5 + ("rsa4096",) * 3 + ("p256",) * 4
USAGE = ext("2.5.29.15", der(0x03, b"\x05\xa0"), critical=True)
NOT_CA = ext("2.5.29.19", seq())
EXT_USAGE = ext("2.5.29.37", seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2")))
POLICIES = ext("2.5.29.32", seq(seq(oid("2.23.140.1.2.2")), seq(oid("1.3.6.1.4.1.99999.1.2"))))


def make_cas(g):
    """Six issuing CAs: their names and the extensions every certificate they sign carries."""
    cas = []
    for i in range(6):
        org, country = ORGS[i], COUNTRIES[i]
        cn = f"{org} Issuing CA {i + 1}"
        base = f"http://pki.{org.split()[0].lower()}.example/"
        static = (ext("2.5.29.35", seq(der(0x80, g.randbytes(20))))
                  + ext("2.5.29.31", seq(seq(der(0xA0, der(0xA0, der(0x86, f"{base}ca{i + 1}.crl".encode()))))))
                  + ext("1.3.6.1.5.5.7.1.1", seq(seq(oid("1.3.6.1.5.5.7.48.1"), der(0x86, f"{base}ocsp".encode())),
                                                 seq(oid("1.3.6.1.5.5.7.48.2"), der(0x86, f"{base}ca{i + 1}.crt".encode()))))
                  + POLICIES)
        cas.append({"id": i + 1, "name": f"C={country}, O={org}, OU=PKI Services, CN={cn}", "org": org,
                    "country": country, "dn": dn(country, org, "PKI Services", cn), "static": static,
                    "key": ("rsa4096", "rsa4096", "rsa3072", "rsa4096", "rsa2048", "p384")[i]})
    return cas


def certificate(g, ca, serial, cn, names, not_before, not_after, key):
    if key == "p256":
        spki = seq(seq(oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")), der(0x03, b"\x00\x04" + g.randbytes(64)))
    else:
        modulus = der(0x02, b"\x00" + g.randbytes(KEY_BYTES[key]))
        spki = seq(seq(oid("1.2.840.113549.1.1.1"), b"\x05\x00"), der(0x03, b"\x00" + seq(modulus, der(0x02, b"\x01\x00\x01"))))
    if ca["key"] == "p384":
        alg, signature = ECDSA_SHA384, seq(der(0x02, g.randbytes(48)), der(0x02, g.randbytes(48)))
    else:
        alg, signature = SHA256_RSA, g.randbytes(KEY_BYTES[ca["key"]])
    unit = g.choice(("Devices", "Servers", "Users", "Gateways"))
    sans = ext("2.5.29.17", seq(*(der(0x82, n.encode()) for n in names)))
    extensions = der(0xA3, seq(USAGE, NOT_CA, EXT_USAGE, sans, ext("2.5.29.14", der(0x04, g.randbytes(20))), ca["static"]))
    tbs = seq(der(0xA0, der(0x02, b"\x02")), der(0x02, serial), alg, ca["dn"], seq(utctime(not_before), utctime(not_after)),
              dn(ca["country"], ca["org"], unit, cn), spki, extensions)
    return seq(tbs, alg, der(0x03, b"\x00" + signature))


# --------------------------------------------------------------------------------------
# The internal database
# --------------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE ca(
  id        INTEGER PRIMARY KEY,
  name      TEXT NOT NULL UNIQUE,
  key_alg   TEXT NOT NULL,
  dn        BLOB NOT NULL
);
CREATE TABLE certificates(
  serial      TEXT PRIMARY KEY,          -- hex
  ca_id       INTEGER NOT NULL REFERENCES ca(id),
  subject     TEXT NOT NULL,
  profile     TEXT NOT NULL,
  not_before  INTEGER NOT NULL,
  not_after   INTEGER NOT NULL,
  status      TEXT NOT NULL,             -- valid, revoked, expired, hold
  revoked_at  INTEGER,
  reason      INTEGER,                   -- RFC 5280 CRLReason
  sha256      TEXT NOT NULL UNIQUE,      -- of the DER
  der         BLOB NOT NULL              -- DER; base64 TEXT for imports from the old CA
);
CREATE TABLE key_escrow(                 -- archived private keys, wrapped by a KEK
  serial   TEXT PRIMARY KEY REFERENCES certificates(serial),
  kek      INTEGER NOT NULL,
  wrapping TEXT NOT NULL,
  wrapped  BLOB NOT NULL
);
CREATE TABLE crls(
  id           INTEGER PRIMARY KEY,
  ca_id        INTEGER NOT NULL REFERENCES ca(id),
  number       INTEGER NOT NULL,
  this_update  INTEGER NOT NULL,
  next_update  INTEGER NOT NULL,
  der          BLOB NOT NULL
);
CREATE TABLE audit_log(
  id       INTEGER PRIMARY KEY,
  ts       INTEGER NOT NULL,             -- unix seconds
  event    TEXT NOT NULL,
  actor    TEXT NOT NULL,
  details  TEXT NOT NULL                 -- JSON with a chained HMAC
);
CREATE INDEX certificates_subject ON certificates(subject);
CREATE INDEX certificates_expiry ON certificates(not_after);
CREATE INDEX certificates_status ON certificates(status, ca_id);
CREATE INDEX key_escrow_kek ON key_escrow(kek);
CREATE UNIQUE INDEX crls_number ON crls(ca_id, number);
CREATE INDEX audit_log_ts ON audit_log(ts);
CREATE INDEX audit_log_event ON audit_log(event, ts);
"""

IMPORTED_FRACTION = 0.25  # certificates imported from the old CA: DER stored as base64 text
ESCROW_FRACTION = 0.6     # certificates whose private key is archived


def crl(g, ca, number, at, revoked):
    """A CRL listing the CA's last 1000 revocations (an empty one has no list at all)."""
    entries = b"".join(seq(der(0x02, serial), utctime(when), seq(ext("2.5.29.21", der(0x0A, bytes([reason])))))
                       for serial, when, reason in revoked[-1000:])
    alg = ECDSA_SHA384 if ca["key"] == "p384" else SHA256_RSA
    tbs = seq(der(0x02, b"\x01"), alg, ca["dn"], utctime(at), utctime(at + 7 * 86400),
              seq(entries) if entries else b"", der(0xA0, seq(ext("2.5.29.20", der(0x02, number.to_bytes(number.bit_length() // 8 + 1, "big"))))))
    return seq(tbs, alg, der(0x03, b"\x00" + g.randbytes(256)))


def make_db(root, mib, seed):
    path = os.path.join(root, DB_PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    g = Gen(f"db:{seed}")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA page_size={PAGE_SIZE}")
    con.execute("PRAGMA journal_mode=OFF")  # while filling; the file is left in DELETE mode
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    con.executescript(SCHEMA)
    con.execute("BEGIN")
    cas = make_cas(g)
    con.executemany("INSERT INTO ca VALUES(?,?,?,?)", [(c["id"], c["name"], c["key"], c["dn"]) for c in cas])
    revoked = {c["id"]: [] for c in cas}
    crl_numbers = {c["id"]: 0 for c in cas}
    counts = {"certificates": 0, "key_escrow": 0, "audit_log": 0, "crls": 0}
    target = mib << 20
    now = 1577836800  # 2020-01-01: the CA's first day

    def publish():
        rows = []
        for ca in cas:
            crl_numbers[ca["id"]] += 1
            rows.append((ca["id"], crl_numbers[ca["id"]], now, now + 7 * 86400,
                         crl(g, ca, crl_numbers[ca["id"]], now, revoked[ca["id"]])))
        con.executemany("INSERT INTO crls(ca_id, number, this_update, next_update, der) VALUES(?,?,?,?,?)", rows)
        counts["crls"] += len(rows)

    publish()  # a new CA's first, empty CRL: even the smallest database has CRLs
    batch = max(50, min(2000, target // 440000))  # rows per size check: overshoot < 1 %
    while con.execute("PRAGMA page_count").fetchone()[0] * PAGE_SIZE < target:
        certs, keys, events = [], [], []
        for _ in range(batch):
            now += g.randrange(5, 120)
            ca = g.choice(cas)
            serial = bytes([g.randrange(1, 128)]) + g.randbytes(15)  # a positive INTEGER
            host = g.fqdn()
            cn = host if g.random() < 0.8 else f"{g.term()}.{g.term()}@{host.split('.', 1)[1]}"
            names = [host] + [g.fqdn() for _ in range(g.randrange(3))]
            lifetime = g.choice((90, 365, 397, 730, 1095)) * 86400
            roll = g.random()
            status, revoked_at, reason = "valid", None, None
            if roll < 0.10:
                status, revoked_at, reason = "revoked", now + g.randrange(86400, 30 * 86400), g.randrange(6)
                revoked[ca["id"]].append((serial, revoked_at, reason))
            elif roll < 0.16:
                status = "expired"
            elif roll < 0.18:
                status, revoked_at, reason = "hold", now + g.randrange(3600, 3 * 86400), 6
            key = g.choice(SUBJECT_KEYS)
            cert = certificate(g, ca, serial, cn, names, now, now + lifetime, key)
            stored = base64.b64encode(cert).decode() if g.random() < IMPORTED_FRACTION else cert
            profile = g.choice(PROFILES)
            certs.append((serial.hex(), ca["id"], f"C={ca['country']}, O={ca['org']}, CN={cn}", profile, now,
                          now + lifetime, status, revoked_at, reason, hashlib.sha256(cert).hexdigest(), stored))
            if g.random() < ESCROW_FRACTION:
                wrapped = g.randbytes(WRAPPED_KEY_BYTES[key] + 8 * g.randrange(3))
                keys.append((serial.hex(), ca["id"], f"aes256-kwp:{key}", wrapped))
            for _ in range(2 if g.random() < 0.4 else 1):
                details = {"serial": serial.hex(), "request": g.uuid(), "from": g.ipv4(),
                           "channel": g.choice(CHANNELS), "profile": profile,
                           "outcome": "ok" if g.random() < 0.97 else "denied", "ms": g.randrange(2, 900),
                           "hmac": base64.b64encode(g.randbytes(32)).decode()}
                event = "certificate.issued" if g.random() < 0.5 else g.choice(EVENTS)
                events.append((now + g.randrange(5), event, g.choice(ACTORS), json.dumps(details, separators=(",", ":"))))
        con.executemany("INSERT INTO certificates VALUES(?,?,?,?,?,?,?,?,?,?,?)", certs)
        con.executemany("INSERT INTO key_escrow VALUES(?,?,?,?)", keys)
        con.executemany("INSERT INTO audit_log(ts, event, actor, details) VALUES(?,?,?,?)", events)
        before = counts["certificates"]
        counts["certificates"] += len(certs)
        counts["key_escrow"] += len(keys)
        counts["audit_log"] += len(events)
        if before // 2500 != counts["certificates"] // 2500:  # every CA publishes a CRL
            publish()
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    os.chmod(path, 0o600)  # it holds (wrapped) private keys
    return counts


# --------------------------------------------------------------------------------------

def pin(root):
    """Modes and mtimes that do not depend on the umask or the clock."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            os.utime(os.path.join(dirpath, name), (MTIME, MTIME))
        os.chmod(dirpath, 0o755)
        os.utime(dirpath, (MTIME, MTIME))


def main():
    ap = argparse.ArgumentParser(description="Makes a realistic appliance state root, deterministically.")
    ap.add_argument("--out", required=True, help="the state root to make (its generated parts are replaced)")
    ap.add_argument("--db-mib", type=int, default=1024, help="size of db/internal.sqlite in MiB (about)")
    ap.add_argument("--files", type=int, default=2000, help="number of files under config/")
    ap.add_argument("--seed", default="1", help="any string; an integer N gives firmware 4.N.x")
    args = ap.parse_args()
    if args.db_mib < 1 or args.files < 0:
        ap.error("--db-mib must be at least 1 and --files at least 0")
    root = os.path.abspath(args.out)
    os.makedirs(root, exist_ok=True)
    for part in ("firmware", "config", "system", "db"):  # a re-run replaces what it made
        shutil.rmtree(os.path.join(root, part), ignore_errors=True)
    t0 = time.monotonic()
    files = make_firmware(root, args.seed) + make_system(root, args.seed) + make_config(root, args.files, args.seed)
    rows = make_db(root, args.db_mib, args.seed)
    pin(root)
    sizes = {}
    for dirpath, _, filenames in os.walk(root):
        top = os.path.relpath(dirpath, root).split(os.sep)[0]
        if top == ".":
            continue  # the root itself holds no files
        sizes[top] = sizes.get(top, 0) + sum(os.path.getsize(os.path.join(dirpath, n)) for n in filenames)
    for top in sorted(sizes):
        print(f"  {top + '/':10} {sizes[top]:12d} bytes ({sizes[top] / 2**20:.2f} MiB)")
    print("db rows: " + " ".join(f"{k}={v}" for k, v in rows.items()))
    total = sum(sizes.values())
    print(f"total: {files + 1} files, {total} bytes ({total / 2**20:.2f} MiB) in {root}, "
          f"{time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
