#!/usr/bin/env python3
"""Independent verifier of Keepsake's sealed backup file (.ksb), format versions 1 and 2.

Written from docs/FORMAT.md alone, never from the C++ in src/: it is the proof that the
specification is complete. Each function is named after the FORMAT.md section it
implements and cites it; "§6.n" is step n of §6 (Verification order), "§12.n" a section of
§12 (Format v2), which states v2 as its differences from v1.

    /usr/bin/python3 tools/verify_backup.py FILE [--public-key HEX] [--dms-file F]
                                                 [--revocations F] [--json]

Without a secret it checks what §6 says can be checked with the public key alone: prefix,
header, header signature (v2: under the signer's key, whose device certificate must verify
under the header's domain key, §12.6 step 9), every chunk's framing (v2: every chunk's leaf
hash and the chunk tree root, §12.5), the trailer and the end of file (§6 "Integrity without
a secret"). With --public-key the header's domain key must also be that key (v2: the
certificate ties the signing device to it). With --revocations (a revocation list file,
§12.4, signed by the domain key) a v2 file signed by a key the list revokes for its time is
refused. With --dms-file it derives the domain keys (§4.1, §12.2) and opens the file key
(v1: unwraps it, §4.3; v2: opens the sealed box, §12.2), decrypts every chunk (v1: §4.4;
v2: each chunk on its own, §12.5), decompresses (v1: one zstd frame, §5.1; v2: one frame per
chunk, §12.5), reads the tar (§5.2) and checks it against the manifest (§5.3) and the
header's components (§6.25).

Exit status: 0 OK; 4 the file is damaged (or of an unsupported kind); 3 a wrong DMS, a
foreign public key, a revoked signer, or a revocation list not signed by its domain; 2 usage
errors (bad arguments, unreadable FILE, DMS file or revocation list, a DMS that is not
acceptable text, a revocation list that is not one); 1 the key derivation itself failed
(memory). Nothing read from the file (or the list) is printed unescaped. The file is read
once, from its start, in bounded memory.

Needs Debian 12's python3-nacl and python3-zstandard (scripts/install-deps.sh): run it with
/usr/bin/python3.
"""

import argparse
import base64
import binascii
import contextlib
import datetime
import hashlib
import hmac
import json
import re
import struct
import sys
import unicodedata

import nacl.bindings as sodium
import nacl.exceptions
import zstandard

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_DAMAGED = 4

# §2 File layout
MAGIC = b"KSBACKUP"
TRAILER_MAGIC = b"KSTRAILR"
PREFIX_SIZE = 16
SIG_SIZE = 64
TRAILER_SIZE = 120
TRAILER_SIGNED_SIZE = 56
MAX_HEADER_LEN = 1048576
CHUNK_OVERHEAD = 17  # secretstream: encrypted tag byte + 16-byte MAC (§2 Chunk)

# §3.2 Fields, §8 Bounds
DEFAULT_MAX_STRING = 1024
MAX_COMPONENTS = 64
MAX_JSON_DEPTH = 8
MAX_U64 = (1 << 64) - 1
CREATED_AT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")

# §4.1 Key hierarchy
KDF_CONTEXT = b"KSdomain"
DMS_FILE_MAX = 4096
DMS_MAX = 1024
# §4.3 File key and its wrapping
WRAP_AD_PREFIX = b"keepsake-file-key-v1:"

# §5 Body, §8 Bounds
MAX_WINDOW = 1 << 27
ZSTD_FEED = 1024               # compressed bytes handed to zstd at a time (bounds its output)
ZSTD_MAX_FRAME_HEADER = 18     # magic (4) + the largest frame header (14)
MANIFEST_NAME = ".keepsake-manifest.json"
MAX_MANIFEST = 64 << 20
MAX_PATH = 4096
MAX_MEMBERS = 1048576
MAX_TAR_TAIL = 1 << 20
TAR_BLOCK = 512
MAX_PAX_HEADER = 64 << 10      # path, linkpath (each at most MAX_PATH), mtime, hdrcharset, ...

# §12 Format v2
VERSIONS = (1, 2)
V2_ENCRYPTION_ALG = "xchacha20poly1305-chunks"               # §12.3
SEALED_FILE_KEY_SIZE = 80                                    # §12.2: crypto_box_seal of 32 bytes
BOX_SEED_SUBKEY = 3                                          # §12.2: sub-key id 3, the box seed
KEY_EPOCH = 1                                                # §12.2 Key epoch
CERTIFICATE_TAG = b"keepsake-device-certificate-v2"          # §12.2, 30 ASCII bytes
MAX_DEVICE_ID = 128
V2_AEAD_OVERHEAD = 16                                        # §12.1: the Poly1305 MAC
CHUNK_TREE_TAG = b"keepsake-chunk-tree-v2"                   # §12.5, 22 ASCII bytes
REVOCATION_TAG = b"keepsake-revocation-list-v2\n"            # §12.4
REVOCATIONS_FILE_MAX = 16 << 20  # §12.4 sets no bound: one chosen here (see the report on FORMAT.md)


class VerifyError(Exception):
    """The verdict on a file that does not pass: exit code and message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Damaged(VerifyError):
    def __init__(self, message):
        super().__init__(EXIT_DAMAGED, message)


class Unauthenticated(VerifyError):
    def __init__(self, message):
        super().__init__(EXIT_AUTH, message)


class UsageError(VerifyError):
    def __init__(self, message):
        super().__init__(EXIT_USAGE, message)


def shown(value):
    """A string from the file made safe for a terminal: control characters (C0, DEL, C1)
    and every other non-printable character (bidi overrides, ...) escaped, as repr does."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    out = []
    for c in str(value):
        if c == "\\":
            out.append("\\\\")
        elif c.isprintable():
            out.append(c)
        else:
            out.append(repr(c)[1:-1])  # \x1b, \x9b, \u202e, ...
    return "".join(out)


def is_control(c):
    """§3.2: C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F)."""
    o = ord(c)
    return o < 0x20 or 0x7F <= o <= 0x9F


CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # is_control, for a whole string
SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
HIGH_BYTES = bytes(range(128, 256))


# --------------------------------------------------------------------------------------
# Reading the file once, from its start (§6, last paragraphs)
# --------------------------------------------------------------------------------------

class HashedFile:
    """The backup file read sequentially; every byte read through `read` is also hashed
    into the whole-file hash of the trailer (§2 file_hash). `read_raw` does not hash."""

    def __init__(self, f):
        self.f = f
        self.hasher = hashlib.sha256()
        self.offset = 0

    def read_raw(self, n):
        out = bytearray()
        while len(out) < n:
            piece = self.f.read(n - len(out))
            if not piece:
                break
            out += piece
        self.offset += len(out)
        return bytes(out)

    def read(self, n):
        data = self.read_raw(n)
        self.hasher.update(data)
        return data


# --------------------------------------------------------------------------------------
# §2 File layout and §6 steps 1-9: prefix, header, header signature
# --------------------------------------------------------------------------------------

def read_prefix_s2(src):
    """§2 prefix, §6 steps 1-5 (§12.6: step 3 accepts versions 1 and 2). Returns
    (prefix bytes, header_len, version)."""
    prefix = src.read(PREFIX_SIZE)
    if len(prefix) < 8 or prefix[:8] != MAGIC:
        raise Damaged("not a Keepsake backup file (no KSBACKUP magic)")
    if len(prefix) < PREFIX_SIZE:
        raise Damaged("truncated: the file ends inside its prefix")
    version, reserved, header_len = struct.unpack("<HHI", prefix[8:])
    if version not in VERSIONS:
        raise Damaged(f"backup format version {version} is not supported by this verifier (it reads versions 1 and 2)")
    if reserved != 0:
        raise Damaged("damaged prefix: reserved bytes are not zero")
    if header_len == 0 or header_len > MAX_HEADER_LEN:
        raise Damaged(f"damaged prefix: header length {header_len} is out of range")
    return prefix, header_len, version


def read_header_s2(src, header_len):
    """§2 header and header_sig, §6 steps 6-7. Returns (header bytes, header_sig)."""
    header = src.read(header_len)
    if len(header) < header_len:
        raise Damaged("truncated: the file ends inside its header")
    sig = src.read(SIG_SIZE)
    if len(sig) < SIG_SIZE:
        raise Damaged("truncated: the file ends inside the header signature")
    return header, sig


def json_depth_s8(text):
    """§8: nesting of objects and arrays, counted before parsing (outside strings)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


class JsonError(ValueError):
    pass


class NegativeZero(int):
    """JSON "-0": an integer, but not written as a non-negative one (see FieldReader.uint)."""


def _no_duplicate_keys(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise JsonError(f"repeats the key '{shown(k)}'")
        seen.add(k)
    return dict(pairs)


def _no_constants(name):
    raise JsonError(f"holds {name}, which is not JSON")


def _parse_int(text):
    return NegativeZero(0) if text == "-0" else int(text)


def parse_json_s3_1(data, what):
    """§3.1 / §5.3: strict UTF-8 JSON (invalid UTF-8 is refused by the parser), at most
    8 levels deep, checked before parsing (§8); no NaN/Infinity, no repeated key, no lone
    surrogate escape. A leading UTF-8 byte order mark and a NUL byte are refused (§3.1)."""
    if data.startswith(b"\xef\xbb\xbf") or b"\0" in data:
        raise JsonError("is not valid JSON (a byte order mark or a NUL byte)")
    try:
        text = data.decode("utf-8")  # strict: overlong forms, surrogates, > U+10FFFF refused
    except UnicodeDecodeError as e:
        raise JsonError(f"is not valid UTF-8 ({e.reason} at byte {e.start})")
    if json_depth_s8(text) > MAX_JSON_DEPTH:
        raise JsonError(f"nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants,
                         parse_int=_parse_int)
    except JsonError:
        raise
    except (ValueError, RecursionError) as e:
        raise JsonError(f"is not JSON ({shown(e)})")
    _check_no_surrogates(doc)
    return doc


def _strings(doc, path="$"):
    """Every (dotted path, string) of a JSON document: keys and values."""
    if isinstance(doc, str):
        yield path, doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield path + "." + k + " (key)", k
            yield from _strings(v, path + "." + k)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v, path + "[]")


def _check_no_surrogates(doc):
    # "\ud800" is valid JSON syntax to Python but not text: refuse it as invalid UTF-8.
    for path, s in _strings(doc):
        if SURROGATE_RE.search(s):
            raise JsonError(f"is not valid UTF-8 (a lone surrogate escape in {shown(path)})")


def header_public_key_s6_8(header_bytes, version=1):
    """§6 step 8: the header as JSON and the key its signature verifies under (64 hex
    digits), nothing else interpreted before the signature is checked: v1 domain.public_key;
    v2 signer.public_key (§12.6 step 8). Returns (document, public key bytes)."""
    try:
        doc = parse_json_s3_1(header_bytes, "the header")
    except JsonError as e:
        if "nests deeper" in str(e) or "repeats the key" in str(e):
            raise Damaged(f"damaged header: the header {e}")
        doc = None
    holder = "domain" if version == 1 else "signer"
    key = None
    if isinstance(doc, dict) and isinstance(doc.get(holder), dict):
        key = doc[holder].get("public_key")
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", key):
        raise Damaged(f"damaged header: no readable {holder} public key")
    return doc, bytes.fromhex(key)


def verify_signature_s4_5(public_key, message, signature):
    """§4.5: Ed25519 (libsodium crypto_sign_detached, pure Ed25519) under the header's key."""
    try:
        sodium.crypto_sign_open(signature + message, public_key)
        return True
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        return False


def check_header_signature_s6_9(public_key, prefix, header, sig):
    """§6 step 9: header_sig verifies over prefix || header under domain.public_key (v1) or
    signer.public_key (v2, §12.1, §12.6 step 9)."""
    if not verify_signature_s4_5(public_key, prefix + header, sig):
        raise Damaged("header signature is invalid: the header was modified or damaged")


# --------------------------------------------------------------------------------------
# §3.2 Fields
# --------------------------------------------------------------------------------------

class FieldReader:
    """Typed access to a header (or manifest) object, raising the §3.2 error for the dotted
    field name."""

    def __init__(self, obj, prefix="", what="backup header"):  # §3.2 Errors: no "damaged header: " prefix
        self.obj = obj
        self.prefix = prefix
        self.what = what

    def name(self, key):
        return self.prefix + key

    def fail(self, key, why):
        raise Damaged(f"{self.what} field '{self.name(key)}': {why}")

    def present(self, key):
        return key in self.obj

    def string(self, key, max_len=DEFAULT_MAX_STRING):
        v = self.obj.get(key)
        if not isinstance(v, str):
            self.fail(key, "missing or not a string")
        if len(v.encode("utf-8")) > max_len:
            self.fail(key, "too long")
        return v

    def uint(self, key):
        v = self.obj.get(key)
        if not isinstance(v, int) or isinstance(v, (bool, NegativeZero)) or v < 0 or v > MAX_U64:
            self.fail(key, "missing or not a non-negative integer")
        return v

    def object(self, key):
        v = self.obj.get(key)
        if not isinstance(v, dict):
            self.fail(key, "missing or not an object")
        return FieldReader(v, self.name(key) + ".", self.what)

    def hex_bytes(self, key, n, max_len=DEFAULT_MAX_STRING):
        v = self.string(key, max_len)
        if not re.fullmatch(r"[0-9a-fA-F]{%d}" % (2 * n), v):
            self.fail(key, f"expected {n} bytes of hex")
        return bytes.fromhex(v)

    def base64_bytes(self, key, n):
        v = self.string(key)
        chars = 4 * ((n + 2) // 3)
        try:
            raw = base64.b64decode(v, validate=True) if len(v) == chars else b""
        except binascii.Error:
            raw = b""
        if len(raw) != n or base64.b64encode(raw).decode() != v:  # canonical only
            self.fail(key, f"expected base64 of {n} bytes")
        return raw


def check_control_characters_s3_2(doc, what):
    """§3.2: no string of the header or the manifest may hold a C0, DEL or C1 control
    character. Applied to every string, keys included (see the report on FORMAT.md)."""
    for path, s in _strings(doc):
        if CONTROL_RE.search(s):
            field = path[2:] if path.startswith("$.") else path
            raise Damaged(f"{what} field '{shown(field)}': contains a control character")


def is_utc_time_s3_2(text):
    """§3.2 created_at: exactly YYYY-MM-DDTHH:MM:SSZ, and a real instant (a calendar date,
    hours < 24, minutes and seconds < 60: found by experiment, see the report)."""
    if not CREATED_AT_RE.match(text):
        return False
    try:
        datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def domain_fingerprint_s4_2(public_key):
    """§4.2: first 16 bytes of unkeyed BLAKE2b-256(public key), hex, 8 groups of 4 joined by ':'."""
    digest = hashlib.blake2b(public_key, digest_size=32).digest()[:16].hex()
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def check_header_fields_s3_2(doc, prefix_version=None):
    """§3.2: every field, in the table's order; the first failure is reported; v2 with the
    differences of §12.3. `prefix_version`: the prefix's version, which the header's must
    equal (None: whatever the header says). Returns the values later steps use."""
    if not isinstance(doc, dict):
        raise Damaged("damaged header: backup header is not a JSON object")
    check_control_characters_s3_2(doc, "damaged header: backup header")
    h = FieldReader(doc)
    if h.string("format") != "keepsake-backup":
        h.fail("format", 'not "keepsake-backup"')
    version = h.uint("format_version")
    if version not in VERSIONS:
        raise Damaged(f"backup format version {version} is not supported (this verifier reads 1 and 2)")
    if prefix_version is not None and version != prefix_version:
        raise Damaged(f"damaged header: it says format version {version}, its prefix {prefix_version}")
    out = {"version": version, "backup_id": h.string("backup_id", 64)}
    h.string("file_name", 255)
    out["created_at"] = h.string("created_at", 64)
    if not is_utc_time_s3_2(out["created_at"]):
        h.fail("created_at", 'not a UTC time such as "2026-11-26T04:12:00Z"')
    device = h.object("device")
    out["device_id"] = device.string("device_id", 128)
    device.string("hostname", 255)
    device.string("model", 255)
    device.string("firmware_version", 64)
    if h.present("chain"):
        chain = h.object("chain")
        if chain.uint("sequence") < 1:
            chain.fail("sequence", "must be 1 or more")
        if chain.present("previous_header_sha256"):
            chain.hex_bytes("previous_header_sha256", 32)
    components = doc.get("components")
    if not isinstance(components, list) or len(components) > MAX_COMPONENTS:
        h.fail("components", f"missing, not an array, or more than {MAX_COMPONENTS} entries")
    out["components"] = []
    for c in components:
        if not isinstance(c, dict):
            h.fail("components", "entry is not an object")
        cr = FieldReader(c, "components[].")
        entry = {"name": cr.string("name", 64), "files": cr.uint("files"), "bytes": cr.uint("bytes")}
        if cr.present("note"):
            cr.string("note", 1024)
        out["components"].append(entry)
    # input_bytes: "not read (recomputed)".
    compression = h.object("compression")
    alg = compression.string("alg")
    if alg != "zstd":
        raise Damaged(f"compression '{shown(alg)}' is not supported")
    compression.uint("level")
    encryption = h.object("encryption")
    alg = encryption.string("alg")
    if alg != ("xchacha20poly1305-secretstream" if version == 1 else V2_ENCRYPTION_ALG):
        raise Damaged(f"encryption '{shown(alg)}' is not supported")
    out["chunk_size"] = encryption.uint("chunk_size")
    if not 1024 <= out["chunk_size"] <= 16777216:
        encryption.fail("chunk_size", "out of range")
    if version == 1:
        out["stream_header"] = encryption.base64_bytes("stream_header", 24)
        out["wrapped_file_key"] = encryption.base64_bytes("wrapped_file_key", 72)
    else:  # §12.3: stream_header and wrapped_file_key are not read
        out["sealed_file_key"] = encryption.base64_bytes("sealed_file_key", SEALED_FILE_KEY_SIZE)
    domain = h.object("domain")
    out["public_key"] = domain.hex_bytes("public_key", 32)
    out["salt"] = domain.hex_bytes("salt", 16)
    if domain.string("fingerprint") != domain_fingerprint_s4_2(out["public_key"]):
        domain.fail("fingerprint", "does not match the public key")
    kdf = domain.object("kdf")
    alg = kdf.string("alg")
    if alg != "argon2id13":
        raise Damaged(f"key derivation '{shown(alg)}' is not supported")
    out["opslimit"] = kdf.uint("opslimit")
    out["memlimit_kib"] = kdf.uint("memlimit_kib")
    if not 1 <= out["opslimit"] <= 8:
        kdf.fail("opslimit/memlimit_kib", f"KDF opslimit {out['opslimit']} is outside the allowed range 1..8")
    if not 8 <= out["memlimit_kib"] <= 1048576:
        kdf.fail("opslimit/memlimit_kib",
                 f"KDF memory {out['memlimit_kib']} KiB is outside the allowed range 8 KiB..1 GiB")
    if version == 2:
        check_header_fields_s12_3(h, domain, out)
    return out


def check_header_fields_s12_3(h, domain, out):
    """§12.3: the v2 fields after domain.kdf, in the table's order, then signer.device_id
    against device.device_id."""
    out["box_public_key"] = domain.hex_bytes("box_public_key", 32)
    out["key_epoch"] = domain.uint("key_epoch")
    signer = h.object("signer")
    out["signer_device_id"] = signer.string("device_id", MAX_DEVICE_ID)
    out["signer_public_key"] = signer.hex_bytes("public_key", 32)
    out["signer_key_epoch"] = signer.uint("key_epoch")
    if out["signer_key_epoch"] != out["key_epoch"]:
        signer.fail("key_epoch", "differs from domain.key_epoch")
    if out["signer_key_epoch"] != KEY_EPOCH:
        raise Damaged(f"key epoch {out['signer_key_epoch']} is not supported (this verifier knows epoch {KEY_EPOCH})")
    out["certified_at"] = signer.string("certified_at", 64)
    if not is_utc_time_s3_2(out["certified_at"]):
        signer.fail("certified_at", 'not a UTC time such as "2026-11-26T04:12:00Z"')
    out["certificate"] = signer.base64_bytes("certificate", SIG_SIZE)
    if out["signer_device_id"] != out["device_id"]:
        signer.fail("device_id", "is not device.device_id")


def device_certificate_message_s12_2(fields):
    """§12.2: "keepsake-device-certificate-v2" || domain public key || device public key ||
    key_epoch:u32 || certified_at (20 ASCII bytes) || len(device_id):u8 || device_id."""
    device_id = fields["signer_device_id"].encode("utf-8")
    if not 1 <= len(device_id) <= MAX_DEVICE_ID:  # a certificate names 1..128 bytes
        raise Damaged("the device certificate is not signed by the domain key the header names: "
                      "the header was forged or damaged")
    return (CERTIFICATE_TAG + fields["public_key"] + fields["signer_public_key"]
            + struct.pack("<I", fields["signer_key_epoch"]) + fields["certified_at"].encode("ascii")
            + bytes([len(device_id)]) + device_id)


def check_device_certificate_s12_6_9(fields):
    """§12.6 step 9, last: signer.certificate verifies under domain.public_key over the
    certificate message of §12.2 (self-consistency only: trust is step 10)."""
    if not verify_signature_s4_5(fields["public_key"], device_certificate_message_s12_2(fields),
                                 fields["certificate"]):
        raise Damaged("the device certificate is not signed by the domain key the header names: "
                      "the header was forged or damaged")


# --------------------------------------------------------------------------------------
# §4 Keys and cryptography
# --------------------------------------------------------------------------------------

def read_dms_file_s4_1(path):
    """§4.1 and §8: the first line of the file, without "\\r\\n" (at most 4096 bytes)."""
    try:
        with open(path, "rb") as f:
            data = f.read(DMS_FILE_MAX + 2)
    except OSError as e:
        raise UsageError(f"{shown(path)}: cannot read the DMS file: {e.strerror}")
    line = data.split(b"\n", 1)[0]
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > DMS_FILE_MAX:
        raise UsageError(f"{shown(path)}: the first line is longer than {DMS_FILE_MAX} bytes")
    return line


def dms_bytes_s4_1(raw):
    """§4.1 "The DMS as text": strict UTF-8, no control character, at most 1024 bytes
    (as given), then NFC. Returns the bytes the keys are derived from."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("The Domain Master Secret is not valid UTF-8 text")
    if not text:
        raise UsageError("The Domain Master Secret is empty")
    if any(is_control(c) for c in text):
        raise UsageError("The Domain Master Secret contains a control character")
    if len(raw) > DMS_MAX:
        raise UsageError(f"The Domain Master Secret is longer than {DMS_MAX} bytes")
    return unicodedata.normalize("NFC", text).encode("utf-8")


def kdf_derive_from_key_s4_1(key, subkey_id, context, length=32):
    """libsodium crypto_kdf_derive_from_key (crypto_kdf_blake2b): BLAKE2b keyed with the
    key, salt = subkey id as 8 little-endian bytes padded with zeros to 16, personal = the
    8-byte context padded with zeros to 16."""
    salt = struct.pack("<Q", subkey_id) + bytes(8)
    person = context + bytes(16 - len(context))
    return hashlib.blake2b(b"", digest_size=length, key=key, salt=salt, person=person).digest()


def derive_root_key_s4_1(dms, fields):
    """§4.1: the root key, Argon2id v1.3 of the DMS bytes with the header's salt and cost."""
    try:
        return sodium.crypto_pwhash_alg(32, dms, fields["salt"], fields["opslimit"],
                                        fields["memlimit_kib"] * 1024, sodium.crypto_pwhash_ALG_ARGON2ID13)
    except (nacl.exceptions.CryptoError, MemoryError) as e:
        raise VerifyError(1, f"the key derivation failed: {e}")


def derive_domain_keys_s4_1(dms, fields, root=None):
    """§4.1: Argon2id v1.3 root key; sub-key 1 = Ed25519 seed, sub-key 2 = KEK.
    Returns (public key, secret key, KEK)."""
    root = root if root is not None else derive_root_key_s4_1(dms, fields)
    seed = kdf_derive_from_key_s4_1(root, 1, KDF_CONTEXT)
    kek = kdf_derive_from_key_s4_1(root, 2, KDF_CONTEXT)
    public_key, secret_key = sodium.crypto_sign_seed_keypair(seed)
    return public_key, secret_key, kek


def derive_domain_keys_s12_2(dms, fields):
    """§12.2: the root key and the domain's Ed25519 key pair as in §4.1; sub-key 3 (context
    "KSdomain", as ids 1 and 2: see the report on FORMAT.md) is the box seed, and
    crypto_box_seed_keypair of it the domain's X25519 key pair. Returns (domain public key,
    domain secret key, box public key, box secret key)."""
    root = derive_root_key_s4_1(dms, fields)
    public_key, secret_key, _kek = derive_domain_keys_s4_1(dms, fields, root)
    box_seed = kdf_derive_from_key_s4_1(root, BOX_SEED_SUBKEY, KDF_CONTEXT)
    box_public, box_secret = sodium.crypto_box_seed_keypair(box_seed)
    return public_key, secret_key, box_public, box_secret


def open_sealed_file_key_s12_2(box_public, box_secret, sealed):
    """§12.2 sealed_file_key = crypto_box_seal(file key, box public key); §12.6 step 12."""
    try:
        key = sodium.crypto_box_seal_open(sealed, box_public, box_secret)
    except (nacl.exceptions.CryptoError, ValueError):
        key = None
    if key is None or len(key) != 32:
        raise Unauthenticated("the backup's file key cannot be opened with this domain's key")
    return key


def read_revocation_list_s12_4(path, trusted_key=None):
    """§12.4: the file {"list": "<the list's JSON text>", "signature": "<base64 of 64
    bytes>"}; the signature is Ed25519 by the domain key over "keepsake-revocation-list-v2\\n"
    || the list's text as stored (the string's UTF-8 bytes). The list is believed only when
    it verifies under the trusted domain key (`trusted_key`, the --public-key; without one, the
    key the list names) and names that key. Returns {"domain_public_key", "serial",
    "revoked": [(device_id, device public key, refuse_from)]}."""
    try:
        with open(path, "rb") as f:
            data = f.read(REVOCATIONS_FILE_MAX + 1)
    except OSError as e:
        raise UsageError(f"{shown(path)}: cannot read the revocation list: {e.strerror}")

    def malformed(why):
        raise UsageError(f"{shown(path)}: not a revocation list (§12.4): {why}")

    if len(data) > REVOCATIONS_FILE_MAX:
        malformed(f"larger than {REVOCATIONS_FILE_MAX} bytes")
    try:
        outer = parse_json_s3_1(data, "the revocation list")
        if not isinstance(outer, dict) or not isinstance(outer.get("list"), str):
            malformed("no string 'list'")
        text = outer["list"].encode("utf-8")
        doc = parse_json_s3_1(text, "the list")
    except JsonError as e:
        malformed(f"the JSON {e}")
    what = "revocation list"
    try:
        signature = FieldReader(outer, what=what).base64_bytes("signature", SIG_SIZE)
        if not isinstance(doc, dict):
            malformed("the list is not a JSON object")
        r = FieldReader(doc, what=what)
        if r.string("format") != "keepsake-revocations":
            r.fail("format", 'not "keepsake-revocations"')
        domain_key = r.hex_bytes("domain_public_key", 32)
        key = trusted_key if trusted_key is not None else domain_key
        if not verify_signature_s4_5(key, REVOCATION_TAG + text, signature) or domain_key != key:
            raise Unauthenticated(f"the revocation list is not signed by this domain "
                                  f"({domain_fingerprint_s4_2(key)}): it was forged, damaged, or is another domain's")
        if not is_utc_time_s3_2(r.string("issued_at", 64)):
            r.fail("issued_at", "not a UTC time")
        out = {"domain_public_key": domain_key, "serial": r.uint("serial"), "revoked": []}
        revoked = doc.get("revoked")
        if not isinstance(revoked, list):
            r.fail("revoked", "missing or not an array")
        for entry in revoked:
            if not isinstance(entry, dict):
                r.fail("revoked", "an entry is not an object")
            e = FieldReader(entry, "revoked[].", what)
            device_id = e.string("device_id", MAX_DEVICE_ID)
            device_key = e.hex_bytes("device_public_key", 32)
            refuse_from = e.string("refuse_from", 64)
            if not is_utc_time_s3_2(refuse_from):
                e.fail("refuse_from", "not a UTC time")
            out["revoked"].append((device_id, device_key, refuse_from))
    except Damaged as e:
        malformed(e.message)
    return out


def check_revocation_s12_4(revocations, fields):
    """§12.4, §12.6 step 10 (first, before any key derivation): a v2 file whose
    signer.public_key the list names with refuse_from <= created_at (compared as text) is
    refused."""
    if fields["version"] != 2:
        return
    for _device_id, device_key, refuse_from in revocations["revoked"]:
        if device_key == fields["signer_public_key"] and refuse_from <= fields["created_at"]:
            raise Unauthenticated(f"the backup was signed by device {shown(fields['signer_device_id'])} "
                                  f"(key {domain_fingerprint_s4_2(device_key)}), whose key the domain revoked "
                                  f"for backups made from {shown(refuse_from)} on: it is refused")


def unwrap_file_key_s4_3(kek, wrapped, backup_id):
    """§4.3: nonce (24) || XChaCha20-Poly1305-IETF(KEK, nonce, file key, AD), AD =
    "keepsake-file-key-v1:" || backup_id. §6 step 12."""
    ad = WRAP_AD_PREFIX + backup_id.encode("utf-8")
    try:
        key = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(wrapped[24:], ad, wrapped[:24], kek)
    except nacl.exceptions.CryptoError:
        key = None
    if key is None or len(key) != 32:
        raise Unauthenticated("the backup's file key cannot be unwrapped with this domain's key")
    return key


def open_body_stream_s4_4(file_key, stream_header):
    """§4.4: secretstream xchacha20poly1305 keyed with the file key, the header's
    stream_header."""
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, stream_header, file_key)
    return state


# --------------------------------------------------------------------------------------
# §2 Chunk, §6 steps 13-22: the body and the trailer
# --------------------------------------------------------------------------------------

class BodyStats:
    def __init__(self):
        self.chunks = 0
        self.body_len = 0
        self.trailer = None


def read_chunks_s2(src, fields, public_key, stats, stream=None, ad=None):
    """§2 Chunk and §6 steps 13-16. Yields each chunk's plaintext (None without a key).
    Without a key the trailer is recognised by its magic where a chunk length is due
    (§6 "Integrity without a secret"); with a key it must follow the FINAL chunk. The
    trailer (steps 17-22) is checked before the FINAL chunk's plaintext is released."""
    bound = fields["chunk_size"] + CHUNK_OVERHEAD
    final = None
    while True:
        i = stats.chunks
        head = src.read_raw(4)
        if not head:
            raise Damaged(f"truncated: the file ends after chunk {i} without the final chunk and trailer")
        if head == TRAILER_MAGIC[:4]:
            if stream is None:  # the trailer, recognised by its magic
                break
            raise Damaged(f"truncated: the file ends after chunk {i} without the final chunk and trailer")
        src.hasher.update(head)
        if len(head) < 4:
            raise Damaged(f"truncated: the file ends inside chunk {i}")
        (length,) = struct.unpack("<I", head)
        if length < CHUNK_OVERHEAD or length > bound:
            raise Damaged(f"chunk {i}: length {length} is out of range; the file is damaged")
        ciphertext = src.read(length)
        if len(ciphertext) < length:
            raise Damaged(f"truncated: the file ends inside chunk {i}")
        stats.chunks += 1
        stats.body_len += 4 + length
        if stream is None:
            yield None
            continue
        plaintext, tag = pull_chunk_s4_4(stream, ciphertext, ad, i)
        if tag == sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
            final = plaintext
            head = b""
            break
        yield plaintext
    stats.trailer = check_trailer_s2(src, head, public_key, stats)
    if final is not None:
        yield final


def pull_chunk_s4_4(stream, ciphertext, ad, i):
    """§4.4, §6 step 16: one secretstream pull with AD = SHA-256(prefix || header); only
    TAG_MESSAGE and TAG_FINAL are accepted."""
    try:
        plaintext, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(stream, ciphertext, ad)
    except (nacl.exceptions.CryptoError, ValueError, RuntimeError):
        tag = None
    if tag not in (sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
                   sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL):
        raise Damaged(f"chunk {i} failed authentication: the body was modified, reordered, "
                      f"or belongs to another backup")
    return plaintext, tag


def check_trailer_s2(src, already, public_key, stats, chunk_root=None):
    """§2 trailer, §6 steps 17-22. `already` holds the trailer bytes read so far (the
    magic's first 4 when it was recognised where a chunk length was due). v2 (§12.5
    Trailer): `public_key` is signer.public_key and the hash field must be `chunk_root`."""
    if chunk_root is None:
        expected = src.hasher.digest()  # of every byte before the trailer
        mismatch = "file hash in the trailer does not match: the header or body belongs to another file"
    else:
        expected = chunk_root
        mismatch = ("chunk tree in the trailer does not match: a chunk was modified, or the header or body "
                    "belongs to another file")
    trailer = already + src.read_raw(TRAILER_SIZE - len(already))
    if len(trailer) < TRAILER_SIZE:
        raise Damaged("truncated: the file ends inside the trailer")
    if trailer[:8] != TRAILER_MAGIC:
        raise Damaged("damaged trailer: no KSTRAILR magic after the final chunk")
    if not verify_signature_s4_5(public_key, trailer[:TRAILER_SIGNED_SIZE], trailer[TRAILER_SIGNED_SIZE:]):
        raise Damaged("trailer signature is invalid: the trailer was modified or damaged")
    chunk_count, body_len = struct.unpack("<QQ", trailer[8:24])
    if not hmac.compare_digest(trailer[24:56], expected):
        raise Damaged(mismatch)
    if chunk_count != stats.chunks or body_len != stats.body_len:
        raise Damaged("trailer does not match the body: chunks were added or removed")
    if chunk_count < 1:
        raise Damaged("the trailer counts no chunk: a backup has at least one (§2)")
    if src.read_raw(1):
        raise Damaged("unexpected data after the trailer: the file was appended to")
    return {"chunk_count": chunk_count, "body_len": body_len,
            ("file_hash" if chunk_root is None else "chunk_root"): expected.hex()}


# --------------------------------------------------------------------------------------
# §12.1 Layout, §12.5 Body, §6 steps 13-22 as §12.6 changes them: the v2 body and trailer
# --------------------------------------------------------------------------------------

def zstd_compressbound_s12_1(s):
    """§12.1: ZSTD_COMPRESSBOUND(s) = s + (s >> 8) + (s < 131072 ? (131072 - s) >> 11 : 0)."""
    return s + (s >> 8) + ((131072 - s) >> 11 if s < 131072 else 0)


def chunk_nonce_s12_5(i, last):
    """§12.5: nonce(i, last) = i:u64 || 15 zero bytes || (0x01 for the last chunk, else 0x00)."""
    return struct.pack("<Q", i) + bytes(15) + (b"\x01" if last else b"\x00")


def open_chunk_s12_5(file_key, ciphertext, ad, i):
    """§12.5, §6 step 16: XChaCha20-Poly1305-IETF with nonce(i, 0), and if that fails with
    nonce(i, 1). Returns (zstd frame, last)."""
    for last in (False, True):
        try:
            return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                ciphertext, ad, chunk_nonce_s12_5(i, last), file_key), last
        except (nacl.exceptions.CryptoError, ValueError):
            continue
    raise Damaged(f"chunk {i} failed authentication: the body was modified, reordered, or belongs to another backup")


def read_chunks_s12_5(src, fields, ad, stats, file_key=None):
    """§12.1 chunk framing, §12.5 leaves and chunk tree, §6 steps 13-22 as §12.6 changes
    them. Yields (frame, last) per chunk (None without a key). Every chunk's leaf (SHA-256 of
    its ciphertext) goes into the chunk tree as it is read, so memory holds one chunk. Without
    a key the trailer is recognised by its magic where a chunk length is due (§6 "Integrity
    without a secret"); with a key it must follow the chunk that opened as last, whose frame
    is released only after the trailer passed."""
    bound = zstd_compressbound_s12_1(fields["chunk_size"]) + V2_AEAD_OVERHEAD
    tree = hashlib.sha256(CHUNK_TREE_TAG + ad)  # chunk_root = SHA-256(tag || AD || leaf_0 || ...)
    signer = fields["signer_public_key"]
    final = None
    while True:
        i = stats.chunks
        head = src.read_raw(4)
        if not head or (head == TRAILER_MAGIC[:4] and i == 0):
            raise Damaged(f"truncated: the file ends after chunk {i} without the final chunk and trailer")
        if head == TRAILER_MAGIC[:4]:
            stats.trailer = check_trailer_s2(src, head, signer, stats, tree.digest())
            if file_key is None:
                return
            # §6 step 13: with a key, a body that ends on a chunk that did not open as last is
            # refused once its trailer (checked first, steps 17-22) has passed.
            raise Damaged(f"truncated: the file ends after chunk {i} without the final chunk and trailer")
        if len(head) < 4:
            raise Damaged(f"truncated: the file ends inside chunk {i}")
        (length,) = struct.unpack("<I", head)
        if length < V2_AEAD_OVERHEAD or length > bound:
            raise Damaged(f"chunk {i}: length {length} is out of range; the file is damaged")
        ciphertext = src.read_raw(length)
        if len(ciphertext) < length:
            raise Damaged(f"truncated: the file ends inside chunk {i}")
        tree.update(hashlib.sha256(ciphertext).digest())  # leaf_i, the length field not included
        stats.chunks += 1
        stats.body_len += 4 + length
        if file_key is None:
            yield None
            continue
        frame, last = open_chunk_s12_5(file_key, ciphertext, ad, i)
        if last:
            final = frame
            break
        yield frame, False
    stats.trailer = check_trailer_s2(src, b"", signer, stats, tree.digest())
    yield final, True


def decompress_chunks_s12_5(frames, chunk_size):
    """§12.5: each chunk's plaintext is exactly one whole zstd frame (window at most 2^27)
    holding exactly chunk_size bytes, the last chunk 1..chunk_size. Yields the decompressed
    bytes, the tar stream, as they come; zstd is fed ZSTD_FEED bytes at a time (as in §5.1)."""
    for i, (frame, last) in enumerate(frames):
        dobj = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompressobj()
        held = 0
        for pos in range(0, len(frame), ZSTD_FEED):
            if dobj.eof:
                raise Damaged(f"chunk {i}: unexpected data after its compressed frame")
            try:
                out = dobj.decompress(frame[pos:pos + ZSTD_FEED])
            except zstandard.ZstdError as e:
                raise Damaged(f"chunk {i}: compressed data: {zstd_error_name(e)}")
            held += len(out)
            if held > chunk_size:
                raise Damaged(f"chunk {i} holds more than the {chunk_size} bytes of a chunk")
            if dobj.eof and dobj.unused_data:
                raise Damaged(f"chunk {i}: unexpected data after its compressed frame")
            if out:
                yield out
        if not dobj.eof:  # an empty plaintext included
            raise Damaged(f"chunk {i}: compressed data ends inside its frame")
        if held != chunk_size and not (last and held >= 1):
            raise Damaged(f"chunk {i} holds {held} bytes, not the {chunk_size} of a chunk")


# --------------------------------------------------------------------------------------
# §5.1 zstd
# --------------------------------------------------------------------------------------

def decompress_zstd_s5_1(plaintexts):
    """§5.1: exactly one zstd frame, content checksum on, window at most 2^27, nothing after
    it. Yields the decompressed bytes; zstd is fed ZSTD_FEED bytes at a time, so that one
    call's output stays bounded (an RLE block of 4 bytes expands to 128 KiB)."""
    dobj = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompressobj()
    head = b""  # the first bytes, until the frame header can be checked
    for piece in _pieces(plaintexts, ZSTD_FEED):
        if head is not None:
            head += piece
            if len(head) < ZSTD_MAX_FRAME_HEADER:
                continue
            check_zstd_frame_header_s5_1(head)
            piece, head = head, None
        yield from _decompress(dobj, piece)
    if head is not None:  # the whole stream is shorter than a maximal frame header
        check_zstd_frame_header_s5_1(head)
        yield from _decompress(dobj, head)
    if not dobj.eof:
        raise Damaged("compressed data ends before the end of its frame")


def _pieces(plaintexts, size):
    for plaintext in plaintexts:
        for pos in range(0, len(plaintext), size):
            yield plaintext[pos:pos + size]


def _decompress(dobj, piece):
    if dobj.eof:
        raise Damaged("unexpected data after the end of the compressed frame")
    try:
        out = dobj.decompress(piece)
    except zstandard.ZstdError as e:
        raise Damaged(f"compressed data: {zstd_error_name(e)}")
    if dobj.eof and dobj.unused_data:
        raise Damaged("unexpected data after the end of the compressed frame")
    if out:
        yield out


def zstd_error_name(error):
    """§6 step 23 "{zstd error name}": libzstd's ZSTD_getErrorName, which python-zstandard
    gives after its own prefix."""
    return re.sub(r"^zstd decompressor error: ", "", str(error))


def check_zstd_frame_header_s5_1(data):
    """§5.1: a zstd frame (not a skippable one) with the content checksum enabled."""
    if data[:4] != b"\x28\xb5\x2f\xfd":
        raise Damaged("compressed data: not a zstd frame (Unknown frame descriptor)")
    try:
        params = zstandard.get_frame_parameters(data)
    except zstandard.ZstdError as e:
        raise Damaged(f"compressed data: {e}")
    if not params.has_checksum:
        raise Damaged("compressed data: the zstd frame has no content checksum (§5.1)")
    if params.window_size > MAX_WINDOW:
        raise Damaged("compressed data: Frame requires too much memory for decoding")


class ByteSource:
    """Bytes of a generator of byte strings, read by exact counts (for the tar reader)."""

    def __init__(self, pieces):
        self.pieces = iter(pieces)
        self.buf = b""
        self.off = 0

    def read(self, n):
        if len(self.buf) - self.off < n:
            parts = [self.buf[self.off:]]
            have = len(parts[0])
            while have < n:
                piece = next(self.pieces, None)
                if piece is None:
                    break
                parts.append(piece)
                have += len(piece)
            self.buf, self.off = b"".join(parts), 0
        out = self.buf[self.off:self.off + n]
        self.off += len(out)
        return out

    def read_exact(self, n, what):
        out = self.read(n)
        if len(out) < n:
            raise Damaged(f"tar stream ({what}): truncated tar archive")
        return out

    def drain(self, limit):
        """Reads to the end; returns the number of bytes, raising past `limit`."""
        n = len(self.buf) - self.off
        self.buf, self.off = b"", 0
        for piece in self.pieces:
            n += len(piece)
            if n > limit:
                break
        if n > limit:
            raise Damaged("unexpected data after the end of the tar stream")
        return n


# --------------------------------------------------------------------------------------
# §5.2 tar
# --------------------------------------------------------------------------------------

class TarMember:
    def __init__(self, path, kind, size=0, sha256=None, target=None):
        self.path, self.kind, self.size, self.sha256, self.target = path, kind, size, sha256, target

    def as_json(self):
        out = {"path": self.path, "type": self.kind}
        if self.kind == "file":
            out.update(size=self.size, sha256=self.sha256)
        if self.kind == "symlink":
            out["target"] = self.target
        return out


def _tar_string(field):
    return field.split(b"\0", 1)[0]


def _tar_number(field, what):
    if field and field[0] & 0x80:  # base-256 (GNU/star) for large values
        value = int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
        return value
    digits = field.split(b"\0", 1)[0].strip(b" ")
    if not digits:
        return 0
    if not re.fullmatch(rb"[0-7]+", digits):
        raise Damaged(f"tar stream ({what}): malformed number in a tar header")
    return int(digits, 8)


def _pax_records(data):
    """POSIX pax extended header records: "<len> <key>=<value>\\n"."""
    records = {}
    pos = 0
    while pos < len(data):
        m = re.match(rb"([0-9]+) ", data[pos:pos + 21])
        if not m:
            if not data[pos:].strip(b"\0"):
                break
            raise Damaged("tar stream (pax header): malformed pax extended header")
        length = int(m.group(1))
        record = data[pos:pos + length]
        if length <= len(m.group(0)) or len(record) < length or not record.endswith(b"\n") or b"=" not in record:
            raise Damaged("tar stream (pax header): malformed pax extended header")
        key, value = record[len(m.group(0)):-1].split(b"=", 1)
        records[key.decode("utf-8", "replace")] = value
        pos += length
    return records


def _check_tar_header_checksum(block):
    stored = _tar_number(block[148:156], "header checksum")
    summed = block[:148] + block[156:]
    unsigned = sum(summed) + 8 * 32
    signed = unsigned - 256 * (len(summed) - len(summed.translate(None, HIGH_BYTES)))  # bytes >= 128 as negative
    if stored not in (unsigned, signed):
        raise Damaged("tar stream (header): damaged tar header (checksum mismatch)")


def _skip_padding(src, size):
    pad = (-size) % TAR_BLOCK
    if pad:
        src.read_exact(pad, "padding")


def check_archive_path_s5_2(path):
    """§5.2 reader rule 3: not empty, at most 4096 bytes, no leading '/', no empty, '.' or
    '..' component."""
    if not path or len(path) > MAX_PATH or path.startswith(b"/"):
        raise Damaged(f"unsafe tar member: '{shown(path)}' is not a relative path")
    if any(part in (b"", b".", b"..") for part in path.split(b"/")):
        raise Damaged(f"unsafe tar member: '{shown(path)}' has an empty, '.' or '..' component")


def read_tar_s5_2(src, limits):
    """§5.2: POSIX pax tar (ustar headers, pax 'x' extended headers), two zero blocks at the
    end; the reader rules 1-5 and the §8 bounds. Returns (members by path, manifest bytes).
    `limits` = (files, bytes) declared by the header's components (§8)."""
    members = {}
    manifest = None
    pax = {}
    files = file_bytes = 0
    while True:
        block = src.read_exact(TAR_BLOCK, "header")
        if block == bytes(TAR_BLOCK):
            if src.read_exact(TAR_BLOCK, "end of archive") != bytes(TAR_BLOCK):
                raise Damaged("tar stream (end of archive): a zero block not followed by a second one")
            break
        _check_tar_header_checksum(block)
        if block[257:263] != b"ustar\0" or block[263:265] != b"00":
            raise Damaged("tar stream (header): not a POSIX ustar header")
        typeflag = block[156:157]
        size = _tar_number(block[124:136], "size")
        if typeflag in (b"g", b"L", b"K"):
            raise Damaged(f"tar stream (header): unsupported tar header type '{typeflag.decode()}' "
                          f"(§5.2: ustar headers and pax 'x' headers only)")
        if typeflag == b"x":
            if pax:
                raise Damaged("tar stream (pax header): two pax extended headers in a row")
            if size > MAX_PAX_HEADER:
                raise Damaged("tar stream (pax header): pax extended header too large")
            data = src.read_exact(size, "pax header")
            _skip_padding(src, size)
            pax = _pax_records(data)
            continue
        path = pax.get("path")
        if path is None:
            name, prefix = _tar_string(block[0:100]), _tar_string(block[345:500])
            path = prefix + b"/" + name if prefix else name
        target = pax.get("linkpath", _tar_string(block[157:257]))
        if "size" in pax:
            if not re.fullmatch(rb"[0-9]+", pax["size"]):
                raise Damaged("tar stream (pax header): malformed size")
            size = int(pax["size"])
        pax = {}
        if typeflag == b"5" and path.endswith(b"/"):
            path = path[:-1]
        if len(members) + (manifest is not None) >= MAX_MEMBERS:
            raise Damaged(f"the tar stream holds more than {MAX_MEMBERS} members")
        # Rule 1: nothing after the manifest.
        if manifest is not None:
            raise Damaged(f"tar member '{shown(path)}' follows the manifest")
        # Rule 2: the manifest, a top-level regular file, at most 64 MiB.
        if path == MANIFEST_NAME.encode():
            if typeflag not in (b"0", b"\0"):
                raise Damaged(f"tar member '{MANIFEST_NAME}' is not a regular file")
            if size > MAX_MANIFEST:
                raise Damaged("the manifest is larger than allowed")
            manifest = src.read_exact(size, "manifest")
            _skip_padding(src, size)
            continue
        # Rules 3 and 4.
        check_archive_path_s5_2(path)
        if path in members:
            raise Damaged(f"tar member '{shown(path)}' appears twice")
        if typeflag == b"1":  # §5.2 rule 4: a hard link of size 0 has no type; one with data is refused
            if size == 0:
                raise Damaged(f"tar member '{shown(path)}' has an unsupported type")
            raise Damaged(f"tar member '{shown(path)}' is a hard link, which backups never contain")
        if typeflag in (b"0", b"\0"):
            files += 1
            if files > limits[0]:
                raise Damaged(f"the tar stream holds more than the {limits[0]} files its header declares")
            member = TarMember(path, "file", size, sha256=None)
            member.sha256 = _hash_member_data_s5_2(src, size, file_bytes, limits[1])
            file_bytes += size
        elif typeflag == b"5":
            member = TarMember(path, "dir")
            _skip_member_data(src, size)
        elif typeflag == b"2":
            member = TarMember(path, "symlink", target=target)
            _skip_member_data(src, size)
        else:
            raise Damaged(f"tar member '{shown(path)}' has an unsupported type")
        members[path] = member
    return members, manifest


def _hash_member_data_s5_2(src, size, bytes_before, bytes_limit):
    """§5.2 rule 5: a regular file's content hashed with SHA-256 as it is read; §8: the
    total stays within the header's declared bytes, checked as data arrives."""
    h = hashlib.sha256()
    left = size
    while left:
        piece = src.read_exact(min(left, 1 << 20), "file data")
        bytes_before += len(piece)
        if bytes_before > bytes_limit:
            raise Damaged(f"the tar stream holds more than the {bytes_limit} bytes its header declares")
        h.update(piece)
        left -= len(piece)
    _skip_padding(src, size)
    return h.hexdigest()


def _skip_member_data(src, size):
    left = size
    while left:
        left -= len(src.read_exact(min(left, 1 << 20), "member data"))
    _skip_padding(src, size)


# --------------------------------------------------------------------------------------
# §5.3 Manifest
# --------------------------------------------------------------------------------------

def parse_manifest_s5_3(data):
    """§5.3 ParseManifest. Returns the list of components, each {name, entries}. Stricter
    than "missing optional fields read as 0 or empty": a component needs a string `name`,
    a file entry a `size` and a string `sha256`, a symlink a string `target` (found by
    experiment, see the report)."""
    try:
        doc = parse_json_s3_1(data, "the manifest")
    except JsonError as e:
        raise Damaged(f"manifest: the manifest {e}")
    if not isinstance(doc, dict):
        raise Damaged("manifest: not a JSON object")
    check_control_characters_s3_2(doc, "manifest")
    m = FieldReader(doc, what="manifest")
    if m.uint("manifest_version") != 1:
        raise Damaged("manifest: unknown manifest_version")
    components = doc.get("components")
    if not isinstance(components, list):
        raise Damaged("manifest: no components")
    seen = set()
    out = []
    for c in components:
        if not isinstance(c, dict) or not isinstance(c.get("entries"), list):
            raise Damaged("manifest: malformed component")
        name = FieldReader(c, "components[].", "manifest").string("name")
        entries = []
        for e in c["entries"]:
            if not isinstance(e, dict) or not isinstance(e.get("path"), str):
                raise Damaged("manifest: entry without a path")
            if e.get("type") not in ("file", "dir", "symlink"):
                raise Damaged(f"manifest: entry '{shown(e['path'])}' has unknown type '{shown(e.get('type'))}'")
            if e["path"] in seen:
                raise Damaged(f"manifest: '{shown(e['path'])}' is listed twice")
            seen.add(e["path"])
            entries.append(_manifest_entry(FieldReader(e, "entries[].", "manifest")))
        out.append({"name": name, "entries": entries})
    return out


def _manifest_entry(r):
    entry = {"path": r.obj["path"], "type": r.obj["type"]}
    if entry["type"] == "file":
        entry.update(size=r.uint("size"), sha256=r.string("sha256"))
    elif entry["type"] == "symlink":
        entry["target"] = r.string("target", MAX_PATH)
    return entry


def compare_with_manifest_s5_3(members, components):
    """§5.3 CompareWithManifest: every entry a member of the same type; files with the same
    size and SHA-256, symlinks the same target; as many entries as members."""
    listed = 0
    for component in components:
        for e in component["entries"]:
            listed += 1
            m = members.get(e["path"].encode("utf-8"))
            if m is None or m.kind != e["type"]:
                raise Damaged(f"'{shown(e['path'])}' is in the manifest but not in the backup")
            if m.kind == "file" and (m.size != e["size"] or m.sha256 != e["sha256"]):
                raise Damaged(f"'{shown(e['path'])}' does not match its manifest entry (size or SHA-256 differs)")
            if m.kind == "symlink" and m.target != e["target"].encode("utf-8"):  # §5.3: "the one message"
                raise Damaged(f"'{shown(e['path'])}' does not match its manifest entry (size or SHA-256 differs)")
    if listed != len(members):
        raise Damaged("the backup holds entries that its manifest does not list")


def compare_components_s6_25(header_components, manifest_components):
    """§6 step 25: the header's components against the manifest's: each header component
    in the body, with the same number of regular files and bytes; no other component.
    Component names are matched by name, so each must be unique (see the report)."""
    for what, names in (("header", [c["name"] for c in header_components]),
                        ("body", [c["name"] for c in manifest_components])):
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise Damaged(f"the {what} lists the component '{shown(dup)}' twice")
    unmatched = list(manifest_components)
    for hc in header_components:
        mc = next((c for c in unmatched if c["name"] == hc["name"]), None)
        if mc is None:
            raise Damaged(f"the header lists a component '{shown(hc['name'])}' that the body does not hold; "
                          f"the file is not what its header says")
        unmatched.remove(mc)
        files = [e for e in mc["entries"] if e["type"] == "file"]
        n2, b2 = len(files), sum(e["size"] for e in files)
        if (n2, b2) != (hc["files"], hc["bytes"]):
            raise Damaged(f"component '{shown(hc['name'])}': the header says {hc['files']} files and "
                          f"{hc['bytes']} bytes, the body holds {n2} files and {b2} bytes")
    if unmatched:
        raise Damaged("the body holds a component that the header does not list")


# --------------------------------------------------------------------------------------
# The whole verification, §6 in order
# --------------------------------------------------------------------------------------

class Report:
    """What a verification found: filled as it goes, so that a failure still says how far
    it got (the header is kept only once its signature verified)."""

    def __init__(self, path):
        self.path = path
        self.header = None
        self.header_sha256 = None
        self.file_size = None
        self.stats = BodyStats()
        self.members = None
        self.components = None
        self.tar_hasher = None
        self.tar_sha256 = None


def verify_backup(path, public_key=None, dms=None, report=None, revocations=None):
    """Verifies the file at `path` (a path, or a binary file object read from its current
    position). `public_key`: 32 bytes the header's domain key must be; `dms`: the DMS as
    read from a DMS file (bytes, before §4.1's checks); `revocations`: a list read by
    read_revocation_list_s12_4. Returns a Report; raises VerifyError (Damaged,
    Unauthenticated, UsageError) on the first failure."""
    report = report or Report(path if isinstance(path, str) else getattr(path, "name", "<stream>"))
    dms_bytes = dms_bytes_s4_1(dms) if dms is not None else None
    if hasattr(path, "read"):
        f = contextlib.nullcontext(path)
    else:
        try:
            f = open(path, "rb")
        except OSError as e:
            raise UsageError(f"{shown(path)}: cannot open: {e.strerror}")
    with f as f:
        src = HashedFile(f)
        prefix, header_len, version = read_prefix_s2(src)
        header, header_sig = read_header_s2(src, header_len)
        doc, header_key = header_public_key_s6_8(header, version)
        check_header_signature_s6_9(header_key, prefix, header, header_sig)
        report.header = doc
        report.header_sha256 = hashlib.sha256(prefix + header).hexdigest()
        fields = check_header_fields_s3_2(doc, version)
        if version == 2:
            check_device_certificate_s12_6_9(fields)
        check_trust_s6_10(fields, public_key, revocations)
        ad = hashlib.sha256(prefix + header).digest()
        if version == 1:
            stream = None
            if dms_bytes is not None:
                derived_public, _secret, kek = derive_domain_keys_s4_1(dms_bytes, fields)
                check_derived_public_key_s6_10(derived_public, fields)
                file_key = unwrap_file_key_s4_3(kek, fields["wrapped_file_key"], fields["backup_id"])
                stream = open_body_stream_s4_4(file_key, fields["stream_header"])
            chunks = read_chunks_s2(src, fields, fields["public_key"], report.stats, stream, ad)
            tar = None if stream is None else decompress_zstd_s5_1(chunks)
        else:
            file_key = None
            if dms_bytes is not None:
                derived_public, _secret, box_public, box_secret = derive_domain_keys_s12_2(dms_bytes, fields)
                check_derived_public_key_s6_10(derived_public, fields)
                check_box_public_key_s12_6_10(box_public, fields)
                file_key = open_sealed_file_key_s12_2(box_public, box_secret, fields["sealed_file_key"])
            chunks = read_chunks_s12_5(src, fields, ad, report.stats, file_key)
            tar = None if file_key is None else decompress_chunks_s12_5(chunks, fields["chunk_size"])
        if tar is None:
            for _ in chunks:
                pass
        else:
            verify_content_s5(tar, fields, report)
        report.file_size = src.offset
    return report


def check_trust_s6_10(fields, public_key, revocations):
    """§6 step 10 before any derivation (a public key given by the user, or the domain of a
    revocation list, stands for the trusted domain key); v2: it begins with the revocation
    check of §12.4."""
    if revocations is not None:
        if fields["public_key"] != revocations["domain_public_key"]:
            raise Unauthenticated(f"the backup belongs to domain {domain_fingerprint_s4_2(fields['public_key'])}, "
                                  f"not to the domain of the revocation list "
                                  f"{domain_fingerprint_s4_2(revocations['domain_public_key'])}")
        check_revocation_s12_4(revocations, fields)
    if public_key is not None and public_key != fields["public_key"]:
        raise Unauthenticated(f"the backup belongs to domain {domain_fingerprint_s4_2(fields['public_key'])}, "
                              f"not to the domain of --public-key {domain_fingerprint_s4_2(public_key)}")


def check_derived_public_key_s6_10(derived_public, fields):
    """§6 step 10: the public key derived from the DMS must be the header's domain.public_key."""
    if derived_public != fields["public_key"]:
        raise Unauthenticated(f"wrong Domain Master Secret: it does not open domain "
                              f"{domain_fingerprint_s4_2(fields['public_key'])} that made this backup")


def check_box_public_key_s12_6_10(box_public, fields):
    """§12.6 step 10, with a DMS: domain.box_public_key must be the derived box public key."""
    if box_public != fields["box_public_key"]:
        raise Unauthenticated(f"the backup's file key is sealed to a key that is not domain "
                              f"{domain_fingerprint_s4_2(fields['public_key'])}'s encryption key: "
                              f"the device that wrote it was misconfigured or the header forged")


def verify_content_s5(tar, fields, report):
    """§5 and §6 steps 23-25: `tar` yields the decompressed stream (v1: §5.1's one frame,
    v2: §12.5's frames); tar, manifest, components; then the rest of the stream and of the
    body are read to their end (so the trailer is checked)."""
    limits = (sum(c["files"] for c in fields["components"]), sum(c["bytes"] for c in fields["components"]))
    src = ByteSource(_hashed(tar, report))
    members, manifest = read_tar_s5_2(src, limits)
    if manifest is None:
        raise Damaged("the backup has no manifest")
    components = parse_manifest_s5_3(manifest)
    compare_with_manifest_s5_3(members, components)
    src.drain(MAX_TAR_TAIL)
    compare_components_s6_25(fields["components"], components)
    report.members = members
    report.components = components
    report.tar_sha256 = report.tar_hasher.hexdigest()


def _hashed(pieces, report):
    """The decompressed stream, hashed as it passes (the --json "tar_sha256")."""
    report.tar_hasher = hashlib.sha256()
    for piece in pieces:
        report.tar_hasher.update(piece)
        yield piece


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------

def summary(report, public_key, dms, revocations=None):
    h = report.header
    fp = h["domain"]["fingerprint"]
    if h["format_version"] == 2:
        signer = h["signer"]
        key = domain_fingerprint_s4_2(bytes.fromhex(signer["public_key"]))
        parts = [f"{shown(report.path)}: intact (format v2): header and trailer signatures valid, signed by device "
                 f"{shown(signer['device_id'])} (key {key}) whose certificate the domain key signed "
                 f"(domain {shown(fp)}), {report.stats.chunks} chunks and the chunk tree checked, "
                 f"{report.file_size} bytes"]
    else:
        parts = [f"{shown(report.path)}: intact: header and trailer signatures valid (domain {shown(fp)}), "
                 f"{report.stats.chunks} chunks, {report.file_size} bytes"]
    if public_key is not None:
        parts.append("the domain key is the one given")
    if revocations is not None:
        parts.append(f"its signer is not revoked by revocation list {revocations['serial']}")
    if dms is not None:
        files = sum(1 for m in report.members.values() if m.kind == "file")
        size = sum(m.size for m in report.members.values() if m.kind == "file")
        parts.append(f"opened with the DMS: {len(report.members)} entries ({files} files, {size} bytes) "
                     f"match the manifest and the header's {len(report.components)} component(s)")
    return "; ".join(parts)


def json_verdict(report, error, public_key, dms, revocations=None):
    out = {"verdict": "ok" if error is None else ("damaged" if error.code == EXIT_DAMAGED else
                                                   "unauthenticated" if error.code == EXIT_AUTH else "error"),
           "exit_code": EXIT_OK if error is None else error.code,
           "message": None if error is None else error.message,
           "file": report.path,
           "header": report.header,
           "header_sha256": report.header_sha256,
           "chunks": report.stats.chunks if report.stats.trailer else None,
           "body_len": report.stats.body_len if report.stats.trailer else None,
           "file_size": report.file_size,
           "trailer": report.stats.trailer,
           "public_key_checked": public_key is not None and error is None,
           "revocations_checked": revocations is not None and error is None,
           "content_checked": dms is not None and error is None,
           "tar_sha256": report.tar_sha256 if error is None else None}
    if error is None and report.members is not None:
        out["members"] = [m.as_json() for m in sorted(report.members.values(), key=lambda m: m.path)]
        for m in out["members"]:
            m["path"] = m["path"].decode("utf-8", "backslashreplace")
            if "target" in m:
                m["target"] = m["target"].decode("utf-8", "backslashreplace")
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="verify_backup.py",
                                     description="Verify a Keepsake sealed backup (.ksb, format v1 or v2) "
                                                 "from docs/FORMAT.md alone.")
    parser.add_argument("file", help="the backup file")
    parser.add_argument("--public-key", metavar="HEX", help="the domain public key (64 hex digits) it must carry")
    parser.add_argument("--dms-file", metavar="F", help="Domain Master Secret (first line of F): decrypt and "
                                                        "check the content too")
    parser.add_argument("--revocations", metavar="F", help="a revocation list file (FORMAT.md §12.4) of the "
                                                           "domain: refuse a v2 file its signer's revocation covers")
    parser.add_argument("--json", action="store_true", help="print a JSON object with the verdict and the header")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)  # exits 2 on usage errors
    report = Report(args.file)
    error = None
    public_key = dms = revocations = None
    try:
        if args.public_key is not None:
            if not re.fullmatch(r"[0-9a-fA-F]{64}", args.public_key):
                raise UsageError("--public-key: expected 64 hex digits")
            public_key = bytes.fromhex(args.public_key)
        if args.dms_file is not None:
            dms = read_dms_file_s4_1(args.dms_file)
        if args.revocations is not None:
            revocations = read_revocation_list_s12_4(args.revocations, public_key)
        verify_backup(args.file, public_key, dms, report, revocations)
    except VerifyError as e:
        error = e
    if args.json:
        print(json.dumps(json_verdict(report, error, public_key, dms, revocations), indent=1, sort_keys=True,
                         ensure_ascii=True))
    elif error is None:
        print("OK: " + summary(report, public_key, dms, revocations))
    elif error.code == EXIT_DAMAGED:
        print(f"DAMAGED: {shown(args.file)}: {error.message}")
    elif error.code == EXIT_AUTH:
        print(f"UNAUTHENTICATED: {shown(args.file)}: {error.message}")
    else:
        print(f"verify_backup.py: {error.message}", file=sys.stderr)
    return EXIT_OK if error is None else error.code


if __name__ == "__main__":
    sys.exit(main())
