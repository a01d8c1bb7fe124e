#!/usr/bin/env python3
"""Writes the malformed-input corpus of tests/malformed/ (issue 7) and its expect.json.

Every case starts from the 25 real-shaped records of tests/fixtures/exfil_outside_aws (an instance
key used from a residential address: one OutsideAWS finding) and breaks something. The expected
numbers are computed here from the bytes written, independently of trailhound's decoder.

Large cases (a 50 MB record, a million tiny records) are generated at test time by
crates/trailhound-cli/tests/hostile.rs, never committed.

Run from anywhere: python3 tests/malformed/make_malformed.py
"""
import copy
import glob
import gzip
import json
import os
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "fixtures", "exfil_outside_aws")
# Distinctive fake secrets: tests grep every output for them (they must never appear).
SECRET = "wJalrXUtnFEMI/K7MDENG/TRAILHOUNDxFAKExSECRETx1"
TOKEN = "IQoJb3JpZ2luX2VjTRAILHOUNDFAKETOKEN/////////wEaCXVzLWVhc3QtMSJHMEUCIQDfakefakefake"


def records():
    out = []
    for f in sorted(glob.glob(os.path.join(SRC, "*.json.gz"))):
        out += json.loads(gzip.decompress(open(f, "rb").read()))["Records"]
    return out


def dump(recs):
    # CloudTrail writes a log file on one line, without a trailing newline.
    return json.dumps({"Records": recs}, separators=(",", ":"))


def ndjson(recs):
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs)


def complete_records(text):
    """How many records of a `{"Records":[…` text are complete."""
    dec = json.JSONDecoder()
    i = text.index("[") + 1
    n = 0
    while True:
        while i < len(text) and text[i] in " ,\n":
            i += 1
        try:
            _, i = dec.raw_decode(text, i)
        except ValueError:
            return n
        n += 1


def main():
    recs = records()
    n = len(recs)
    assert n == 25, n
    expect = {}
    files = {}

    def case(name, data, **exp):
        files[name] = data if isinstance(data, bytes) else data.encode()
        expect[name] = exp

    # Truncated gzip: the 25 records plus 40 later records of the instance (new ids, an hour on),
    # compressed and cut at 70%: the records before the cut are kept, the theft among them.
    filler = []
    for i in range(40):
        r = copy.deepcopy(recs[3 + i % 3])  # the instance's own calls
        r["eventID"] = "f00d%04d-0000-4000-8000-%012d" % (i, i)
        r["eventTime"] = "2024-03-05T11:%02d:%02dZ" % (10 + i // 4, (i % 4) * 15)
        filler.append(r)
    full = gzip.compress(dump(recs + filler).encode(), mtime=0)
    def kept_at(length):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return complete_records(d.decompress(full[:length]).decode("utf-8", "ignore"))

    # The first cut that keeps the 25 records and 20 of the filler.
    length = next(k for k in range(len(full) // 2, len(full)) if kept_at(k) >= n + 20)
    cut = full[:length]
    kept = kept_at(length)
    case("truncated_gzip.json.gz", cut, events_read=kept, files_skipped={"truncated_gzip": 1},
         message=["truncated gzip", f"the {kept} events before the cut were kept"], finding=True)

    # Gzip of garbage: a valid gzip stream whose content is random bytes, not JSON.
    garbage = bytes((i * 7919 + 13) % 251 for i in range(4096))
    case("gzip_of_garbage.json.gz", gzip.compress(garbage, mtime=0), events_read=0,
         files_skipped={"not_cloudtrail": 1}, message=["not JSON"], finding=False)

    # A corrupt gzip stream: gzip magic and header, then bytes that are not deflate.
    good = gzip.compress(dump(recs).encode(), mtime=0)
    corrupt = good[:10] + bytes([0xFF] * 64) + good[74:]
    case("corrupt_gzip.json.gz", corrupt, events_read=0, files_skipped={"invalid_gzip": 1},
         message=["corrupt gzip"], finding=False)

    # Invalid JSON mid-file, NDJSON: line 13 is cut; the other 25 lines are read.
    lines = ndjson(recs).splitlines(keepends=True)
    broken = lines[12][: len(lines[12]) // 2] + "\n"
    case("invalid_json_line_13.ndjson", "".join(lines[:12] + [broken] + lines[12:]), events_read=n,
         events_skipped={"invalid_json": 1}, message=[":13: invalid JSON"], finding=True)

    # Invalid JSON mid-file, a log file: the document breaks after record 20 (the rest is lost).
    doc = dump(recs)
    at = doc.index(json.dumps(recs[20], separators=(",", ":")))
    broken_doc = doc[:at] + '{"eventVersion":"1.08",,}' + doc[at:]
    case("invalid_json_after_record_20.json", broken_doc, events_read=20, files_skipped={"invalid_json": 1},
         message=["after 20 records"], finding=True)

    # `Records` not an array (an object); then, concatenated, a good log file (`cat a.json b.json`).
    case("records_not_an_array.json", json.dumps({"Records": recs[0]}) + dump(recs), events_read=n,
         files_skipped={"invalid_json": 1}, message=["`Records` is not an array"], finding=True)

    # Wrong types: eventTime a number (record 4), sourceIPAddress an object (record 9); userIdentity
    # missing (record 15) is kept: an event without an identity loses nothing by being read.
    wrong = copy.deepcopy(recs)
    wrong.insert(3, dict(copy.deepcopy(recs[3]), eventTime=1709633112, eventID="bad00001-0000-4000-8000-000000000001"))
    wrong.insert(8, dict(copy.deepcopy(recs[8]), sourceIPAddress={"ip": "50.16.212.9"},
                         eventID="bad00002-0000-4000-8000-000000000002"))
    no_identity = copy.deepcopy(recs[4])
    del no_identity["userIdentity"]
    no_identity["eventID"] = "bad00003-0000-4000-8000-000000000003"
    wrong.insert(14, no_identity)
    case("wrong_types.json", dump(wrong), events_read=n + 1, events_skipped={"bad_record": 2},
         message=["record 4: ", "record 9: "], finding=True)

    # Non-UTF-8 bytes inside one record's string (record 6): that record is skipped, the rest read.
    doc = dump(recs).encode()
    ua = json.dumps(recs[5]["userAgent"])[1:-1].encode()
    eid = recs[5]["eventID"].encode()
    assert doc.count(eid) == 1
    start = doc.rfind(b'{"eventVersion"', 0, doc.index(eid))
    at = doc.index(ua, start)
    non_utf8 = doc[:at] + b"\xff\xfe" + doc[at:]
    case("non_utf8_record_6.json", non_utf8, events_read=n - 1, events_skipped={"invalid_json": 1},
         message=["record 6: not UTF-8"], finding=True)

    # Non-UTF-8 bytes in one NDJSON line (line 2): that line is skipped.
    lines = ndjson(recs).encode().split(b"\n")
    lines[1] = lines[1].replace(b'"eventName":"', b'"eventName":"\xc3\x28', 1)
    case("non_utf8_line_2.ndjson", b"\n".join(lines), events_read=n - 1, events_skipped={"invalid_json": 1},
         message=[":2: "], finding=True)

    # Found by fuzzing (pipeline target): bytes that are not UTF-8 in a field trailhound does not
    # read (serde_json does not check skipped strings) — the event was read with no record text,
    # and `enrich` then stopped with an error. Now the line is skipped like a record in a document.
    lines = ndjson(recs).encode().split(b"\n")
    lines[4] = lines[4].replace(b'"requestID":"', b'"requestID":"\xff', 1)
    assert b"\xff" in lines[4]
    case("fuzz_non_utf8_in_unread_field.ndjson", b"\n".join(lines), events_read=n - 1,
         events_skipped={"invalid_json": 1}, message=[":5: not UTF-8"], finding=True)

    # Found while fixing the above: a record that is an array of 20 values filled an event's
    # fields by position (serde accepts a sequence for a struct) — an invented event.
    positional = ["2024-03-05T10:20:00Z", None, "a11a7000-0000-4000-8000-000000000020", "s3.amazonaws.com",
                  "ListBuckets", "us-east-1", "198.51.100.7"] + [None] * 13
    case("record_as_array.json", dump(recs[:7] + [positional] + recs[7:]), events_read=n,
         events_skipped={"bad_record": 1}, message=["record 8: a record must be a JSON object"], finding=True)

    # A UTF-8 byte-order mark before a log file and before an NDJSON file: read as if absent.
    case("bom.json", "\ufeff" + dump(recs), events_read=n, finding=True)
    case("bom.ndjson", "\ufeff" + ndjson(recs), events_read=n, finding=True)

    # Empty files: plain, whitespace only, gzip of nothing.
    case("empty.json", b"", events_read=0, files_skipped={"not_cloudtrail": 1}, message=["empty input"], finding=False)
    case("blank.ndjson", b"\n\n  \n", events_read=0, files_skipped={"not_cloudtrail": 1}, message=["empty input"],
         finding=False)
    case("empty.json.gz", gzip.compress(b"", mtime=0), events_read=0, files_skipped={"not_cloudtrail": 1},
         message=["empty input"], finding=False)

    # Digest files: named as CloudTrail names them (skipped by name), and one renamed (by content).
    digest = {
        "awsAccountId": "123456789012", "digestStartTime": "2024-03-05T10:05:12Z",
        "digestEndTime": "2024-03-05T11:05:12Z", "digestS3Bucket": "org-cloudtrail-123456789012",
        "digestS3Object": "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/05/x.json.gz",
        "digestPublicKeyFingerprint": "0" * 32, "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": "2024-03-05T11:00:41Z", "oldestEventTime": "2024-03-05T10:00:30Z",
        "previousDigestS3Bucket": None, "previousDigestS3Object": None, "previousDigestHashValue": None,
        "previousDigestHashAlgorithm": None, "previousDigestSignature": None, "logFiles": [],
    }
    dz = gzip.compress(json.dumps(digest).encode(), mtime=0)
    case("123456789012_CloudTrail-Digest_us-east-1_management-trail_us-east-1_20240305T110512Z.json.gz", dz,
         events_read=0, files_skipped={"digest_file": 1}, message=["digest file"], finding=False)
    case("renamed_digest.json.gz", dz, events_read=0, files_skipped={"digest_file": 1}, message=["digest file"],
         finding=False)

    # Unrelated JSON: an IAM policy document, and a JSON number.
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    case("unrelated_policy.json", json.dumps(policy, indent=2), events_read=0, files_skipped={"not_cloudtrail": 1},
         message=["not a CloudTrail event"], finding=False)
    case("unrelated_text.txt", "hello, this is not CloudTrail\nnor is this\n", events_read=0,
         files_skipped={"not_cloudtrail": 1}, message=["not JSON"], finding=False)

    # Secrets (issue 7, point 3): an AssumeRole response with credentials, a credentials object
    # where a string is expected, and a secret inside a line that is not valid JSON.
    sts = copy.deepcopy(next(r for r in recs if r["eventName"] == "AssumeRole"))
    sts["responseElements"]["credentials"]["secretAccessKey"] = SECRET
    sts["responseElements"]["credentials"]["sessionToken"] = TOKEN
    # (an unreadable expiration costs only the expiration: the event and its key are kept)
    bad_expiration = copy.deepcopy(sts)
    bad_expiration["eventID"] = "5ec00001-0000-4000-8000-000000000001"
    bad_expiration["responseElements"]["credentials"]["expiration"] = {
        "secretAccessKey": SECRET, "sessionToken": TOKEN}
    bad_ip = copy.deepcopy(sts)
    bad_ip["eventID"] = "5ec00002-0000-4000-8000-000000000002"
    bad_ip["sourceIPAddress"] = {"secretAccessKey": SECRET, "sessionToken": TOKEN}
    bad_time = copy.deepcopy(sts)
    bad_time["eventID"] = "5ec00003-0000-4000-8000-000000000003"
    bad_time["eventTime"] = SECRET
    cut_line = json.dumps(sts, separators=(",", ":"))
    cut_line = cut_line[: cut_line.index(TOKEN) + len(TOKEN) - 5]  # ends inside the token
    typed = json.dumps(dict(copy.deepcopy(sts), eventID="5ec00004-0000-4000-8000-000000000004",
                            userIdentity=TOKEN), separators=(",", ":"))
    plain = [r for r in recs if r["eventID"] != sts["eventID"]]
    sec_lines = [json.dumps(r, separators=(",", ":")) for r in plain]
    sec_lines.insert(2, json.dumps(sts, separators=(",", ":")))
    sec_lines.insert(5, cut_line)
    sec_lines.insert(7, json.dumps(bad_expiration, separators=(",", ":")))
    sec_lines.insert(9, json.dumps(bad_ip, separators=(",", ":")))
    sec_lines.insert(11, json.dumps(bad_time, separators=(",", ":")))
    sec_lines.insert(13, typed)
    sec_lines.insert(15, "aws_secret_access_key = " + SECRET)  # a credentials file line, not JSON
    case("secrets.ndjson", "\n".join(sec_lines) + "\n", events_read=n + 1, secrets=True,
         events_skipped={"invalid_json": 2, "bad_record": 3}, message=[":6: invalid JSON", ":16: not JSON"], finding=True)
    # A log file cut inside the session token of its 4th record: 3 records kept.
    doc = dump(plain[:3] + [sts] + plain[3:])
    case("secrets_cut.json", doc[: doc.index(TOKEN) + 12], secrets=True, events_read=3,
         files_skipped={"invalid_json": 1}, message=["after 3 records"], finding=False)

    for name, data in files.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "expect.json"), "w") as f:
        json.dump({"secret_access_key": SECRET, "session_token": TOKEN, "cases": expect}, f, indent=2,
                  sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
