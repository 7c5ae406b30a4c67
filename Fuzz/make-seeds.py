#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/corpus/<target>/), deterministically.

validator: message values — rows of the Samples feeds as they travel (valid records of all
three schemas) and the hostile corpus of Tests/STIProtocolTests/MessageValidatorHostileTests
(minus its 10 MB case: libFuzzer's inputs stay under -max_len, and 65,537 bytes already hits
E_SIZE).
feed: feed files — the Samples CSVs cut to a few rows, the same rows as JSON Lines, and
awkward files (BOM, CRLF, quoted line breaks, GB18030, ragged rows, bad headers).

Regression inputs found by fuzzing live beside these as `regression-*` files and are kept
(this script never deletes a file it did not write).
Run from anywhere: python3 Fuzz/make-seeds.py
"""
import csv
import hashlib
import io
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "Samples")
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")

SCHEMA = {"rd": "sti.rd/1", "tech-contracts": "sti.tech-contract/1", "county-profiles": "sti.county-profile/1"}
NUMERIC = {"revision", "year", "expenditure_10k_cny", "contract_value_10k_cny", "tech_transaction_value_10k_cny",
           "gdp_100m_cny", "resident_population_10k", "high_tech_enterprises", "invention_patents_held",
           "industrial_output_100m_cny", "high_tech_industrial_output_100m_cny"}
SUBMITTED = "2026-01-15T09:30:00+08:00"


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def sample_rows(name, count):
    with open(os.path.join(SAMPLES, name), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # The first rows and some spread through the file, so different counties and values come in.
    step = max(1, len(rows) // count)
    return rows[:count] + rows[::step][:count]


def as_json(stem, row):
    parts = [f'"schema":{json.dumps(SCHEMA[stem])}']
    for k, v in row.items():
        if v == "":
            continue
        parts.append(f"{json.dumps(k)}:{v if k in NUMERIC else json.dumps(v, ensure_ascii=False)}")
    if "submitted_at" not in row:
        parts.append(f'"submitted_at":"{SUBMITTED}"')
    return "{" + ",".join(parts) + "}"


# ---- validator: valid values from the Samples -------------------------------------------
valid = []
for file in sorted(os.listdir(SAMPLES)):
    if not file.endswith(".csv"):
        continue
    stem = file.rsplit("-", 1)[0]
    for n, row in enumerate(sample_rows(file, 3)):
        valid.append((f"sample-{file[:-4]}-{n}", as_json(stem, row)))
valid.append(("withdrawn-rd", '{"schema":"sti.rd/1","county":"530102","revision":2,"status":"withdrawn",'
              '"submitted_at":"2026-01-15T09:30:00+08:00","year":2025,"performer":"medical","expenditure_10k_cny":0}'))
valid.append(("profile-year-only", '{"schema":"sti.county-profile/1","county":"530102","revision":1,'
              '"submitted_at":"2026-01-15T09:30:00.123Z","year":2024}'))
valid.append(("escaped-strings", '{"schema":"sti.rd/1","county":"\\u0035\\u0033\\u00302102","revision":1,'
              '"submitted_at":"2026-01-15T09:30:00\\u002b08:00","year":2025,"performer":"medic\\u0061l",'
              '"expenditure_10k_cny":-0.0000}'))
for name, text in valid:
    write("validator", name + ".json", text)

# ---- validator: the hostile corpus ------------------------------------------------------
head = ('{"schema":"sti.rd/1","county":"530102","revision":1,"submitted_at":"2026-01-15T09:30:00+08:00",'
        '"year":2025,"performer":"other",').encode()
valid_tail = b'"expenditure_10k_cny":5}'


def in_string(raw):
    return head + b'"x":"' + raw + b'",' + valid_tail


def amount(literal):
    return head + b'"expenditure_10k_cny":' + literal.encode() + b"}"


def extra(raw):
    return head + b'"x":' + raw.encode() + b"," + valid_tail


def garbage(count, seed, mask=0xFF):
    x, out = seed, bytearray()
    m = (1 << 64) - 1
    for _ in range(count):
        x ^= (x << 13) & m
        x ^= x >> 7
        x ^= (x << 17) & m
        out.append(x & 0xFF & mask)
    return bytes(out)


hostile = {
    "empty": b"",
    "whitespace": b" \r\n\t",
    "garbage": garbage(512, 0x9E3779B97F4A7C15),
    "garbage-ascii": garbage(512, 42, 0x7F),
    "nul": b"\x00",
    "nul-after": head + valid_tail + b"\x00\x00",
    "nul-in-string": in_string(b"A\x00B"),
    "tab-in-string": in_string(b"\t"),
    "newline-in-string": in_string(b"\n"),
    "del-in-string": in_string(b"\x7f"),
    "overlong-slash": in_string(b"\xc0\xaf"),
    "overlong-nul": in_string(b"\xc0\x80"),
    "overlong-3": in_string(b"\xe0\x80\xaf"),
    "overlong-4": in_string(b"\xf0\x80\x80\xaf"),
    "utf8-high-surrogate": in_string(b"\xed\xa0\x80"),
    "utf8-low-surrogate": in_string(b"\xed\xb0\x80"),
    "cesu8": in_string(b"\xed\xa0\xbd\xed\xb8\x80"),
    "above-10ffff": in_string(b"\xf4\x90\x80\x80"),
    "f5": in_string(b"\xf5\x80\x80\x80"),
    "ff": in_string(b"\xff"),
    "continuation": in_string(b"\x80"),
    "truncated-2-end": head + valid_tail + b"\xc3",
    "truncated-3": in_string(b"\xe4\xb8"),
    "truncated-4": in_string(b"\xf0\x9f\x98"),
    "valid-4": in_string(b"\xf0\x9f\x98\x80"),
    "escape-lone-high": extra('"\\ud800"'),
    "escape-lone-low": extra('"\\udc00"'),
    "escape-high-letter": extra('"\\ud800\\u0041"'),
    "escape-high-high": extra('"\\ud800\\ud800"'),
    "escape-reversed": extra('"\\udc00\\ud800"'),
    "escape-high-end": extra('"ab\\uD83D"'),
    "escape-surrogate-key": head + b'"\\ud800":1,' + valid_tail,
    "escape-pair": extra('"\\ud83d\\ude00"'),
    "escape-nul": extra('"\\u0000"'),
    "escape-x": extra('"\\x41"'),
    "escape-U": extra('"\\U0041"'),
    "escape-short": extra('"\\u12"'),
    "escape-nonhex": extra('"\\u12G4"'),
    "backslash-end": head + b'"x":"\\',
    "dup-known": head + b'"year":2025,' + valid_tail,
    "dup-escaped": head + b'"ye\\u0061r":2025,' + valid_tail,
    "dup-unknown": head + b'"x":1,"x":2,' + valid_tail,
    "dup-null": head + b'"x":null,"x":null,' + valid_tail,
    "dup-nested": extra('{"a":1,"b":{"c":1,"c":2}}'),
    "dup-many": extra("{" + ",".join(f'"k{n}":1' for n in range(40)) + ',"k7":2}'),
    "dup-schema": b'{"schema":"sti.rd/1","schema":"sti.rd/1"}',
    "siblings": extra('[{"a":1},{"a":1}]'),
    "digits-10000": amount("1" + "0" * 10_000),
    "digits-10000-negative": amount("-1" + "0" * 10_000),
    "fraction-10000": amount("0." + "1" * 10_000),
    "exponent-10000": amount("1e" + "9" * 10_000),
    "year-10000": head.replace(b'"year":2025', b'"year":' + b"7" * 10_000) + valid_tail,
    "number-65500": b'{"expenditure_10k_cny":' + b"9" * 65_500 + b"}",
    "county-60000": b'{"schema":"sti.rd/1","county":"' + b"9" * 60_000 + b'"}',
    "key-60000": head + b'"' + b"k" * 60_000 + b'":1,' + valid_tail,
    "unknown-6000": head + b"".join(f'"u{n}":1,'.encode() for n in range(6_000)) + valid_tail,
    "nest-8": extra("[[[[[[[1]]]]]]]"),
    "nest-9": extra("[[[[[[[[1]]]]]]]]"),
    "nest-9-objects": extra('{"a":' * 8 + "1" + "}" * 8),
    "brackets-60000-member": b'{"x":' + b"[" * 60_000,
    "braces-60000": b"{" * 60_000,
    "bom": b"\xef\xbb\xbf" + head + valid_tail,
    "array": b"[" + head + valid_tail + b"]",
    "string": b'"sti.rd/1"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
    "two-objects": head + valid_tail + b"{}",
    "text-after": head + valid_tail + b"x",
    "unterminated-object": head + b'"expenditure_10k_cny":5',
    "unterminated-string": b'{"schema":"sti.rd/1',
    "trailing-comma": head + b'"expenditure_10k_cny":5,}',
    "trailing-comma-array": extra("[1,2,]"),
    "leading-comma": b'{,"schema":"sti.rd/1"}',
    "missing-comma": b'{"schema":"sti.rd/1" "county":"530102"}',
    "missing-colon": b'{"schema" "sti.rd/1"}',
    "single-quotes": b"{'schema':'sti.rd/1'}",
    "unquoted-key": b'{schema:"sti.rd/1"}',
    "number-key": b'{1:"sti.rd/1"}',
    "line-comment": head + valid_tail[:-1] + b"// c\n}",
    "block-comment": b"/* c */" + head + valid_tail,
    "nan": amount("NaN"),
    "infinity": amount("Infinity"),
    "minus-infinity": amount("-Infinity"),
    "leading-zero": amount("0123"),
    "leading-plus": amount("+1"),
    "bare-fraction": amount(".5"),
    "bare-point": amount("5."),
    "hex": amount("0x10"),
    "exponent-empty": amount("1e"),
    "minus": amount("-"),
    "True": extra("True"),
    "nul-word": extra("nul"),
    "nbsp": '{\u00a0"schema":"sti.rd/1"}'.encode(),
    "form-feed": b'{\x0c"schema":"sti.rd/1"}',
    "spaces-65537": b" " * 65_537,
    "empty-object": b"{}",
    "schema-escaped-nul": b'{"schema":"sti.rd/1\\u0000"}',
    "schema-only": b'{"schema":"sti.rd/1"}',
    "all-null": b'{"schema":"sti.rd/1","county":null,"revision":null,"submitted_at":null,"year":null,'
                b'"performer":null,"expenditure_10k_cny":null}',
    "all-wrong-type": b'{"schema":"sti.rd/1","county":[],"revision":{},"submitted_at":true,"year":"x",'
                      b'"performer":1,"expenditure_10k_cny":"1"}',
}
for name, data in hostile.items():
    write("validator", "hostile-" + name + ".json", data)

# ---- feed: files as a bureau sends them -------------------------------------------------
for file in sorted(os.listdir(SAMPLES)):
    if not file.endswith(".csv"):
        continue
    with open(os.path.join(SAMPLES, file), "rb") as f:
        lines = f.read().split(b"\r\n")
    write("feed", "sample-" + file, b"\r\n".join(lines[:6]) + b"\r\n")
    stem = file.rsplit("-", 1)[0]
    rows = sample_rows(file, 3)[:4]
    write("feed", "sample-" + file[:-4] + ".jsonl", "\n".join(as_json(stem, r) for r in rows) + "\n")

rd_header = "county,year,performer,expenditure_10k_cny,revision"
awkward = {
    "bom.csv": b"\xef\xbb\xbf" + f"{rd_header}\r\n530102,2025,medical,12.5,1\r\n".encode(),
    "lf-only.csv": f"{rd_header}\n530102,2025,medical,12.5,1\n530103,2025,other,0,2\n".encode(),
    "quoted-newline.csv": f'{rd_header},x\r\n530102,2025,medical,12.5,1,"a\r\nb"\r\n530102,2024,other,1,1,\r\n'.encode(),
    "quoted-quote.csv": f'{rd_header}\r\n"530102","2025","med""ical",12.5,1\r\n'.encode(),
    "ragged.csv": f"{rd_header}\r\n530102,2025\r\n530102,2025,medical,12.5,1,extra\r\n".encode(),
    "duplicate-header.csv": b"county,county,year\r\n530102,530102,2025\r\n",
    "empty-header-cell.csv": b"county,,year\r\n530102,,2025\r\n",
    "header-only.csv": f"{rd_header}\r\n".encode(),
    "empty.csv": b"",
    "blank-lines.csv": f"{rd_header}\r\n\r\n,,,,\r\n530102,2025,medical,1e3,1\r\n".encode(),
    "gb18030.csv": "county,year,performer,expenditure_10k_cny,note\r\n530102,2025,medical,12.5,五华区\r\n".encode("gb18030"),
    "bad-numbers.csv": f"{rd_header}\r\n530102,2025.0,medical, 12.5 ,1\r\n530102,-0,other,0.00001,+1\r\n".encode(),
    "formula.csv": f"{rd_header}\r\n=1+1,2025,@SUM(A1),-5,1\r\n".encode(),
    "unterminated-quote.csv": f'{rd_header}\r\n"530102,2025,medical,12.5,1\r\n'.encode(),
    "cr-only.csv": f"{rd_header}\r530102,2025,medical,12.5,1\r".encode(),
    "lines.jsonl": b'{"county":"530102","year":2025,"performer":"medical","expenditure_10k_cny":1}\r\n'
                   b'  \n{}\n[1]\n{"county":"530\\u0031\\u00302","year":2025}\n{"a":"}\\"{"}\nnot json\n',
}
for name, data in awkward.items():
    write("feed", name, data)

count = {t: len(os.listdir(os.path.join(CORPUS, t))) for t in os.listdir(CORPUS)}
print("seed corpora:", ", ".join(f"{t} {n} files" for t, n in sorted(count.items())))
