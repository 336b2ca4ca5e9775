// pq_read.mjs: the peers' side of the Parquet interop tests (tests/interop).
//
//   node pq_read.mjs duckdb FILE      read FILE with DuckDB (@duckdb/node-api)
//   node pq_read.mjs hyparquet FILE   read FILE with hyparquet (+ hyparquet-compressors)
//   node pq_read.mjs duckdb-write FILE CASE [ROWS]
//                                     have DuckDB write a generated table (CASE picks the
//                                     COPY options; 60,000 rows unless ROWS) to FILE
//   node pq_read.mjs duckdb-meta FILE print DuckDB's parquet_metadata() rows as JSON
//   node pq_read.mjs read-all DIR     / duckdb-write-all DIR: the batch forms (below)
//
// Reads print JSON lines in pq_tool's format: a header {"columns": [...], "types":
// [...]} (types in Vigil's names), then one array per row. Integers and timestamps
// (as ns since the epoch) are decimal strings, doubles JSON numbers or "NaN" /
// "Infinity" / "-Infinity" / "-0.0", booleans and strings as such, NULL as null.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

function double(v) {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    if (Object.is(v, -0)) return '-0.0';
    return v;
}

function print(columns, types, rows) {
    const out = [JSON.stringify({ columns, types })];
    for (const r of rows) out.push(JSON.stringify(r));
    process.stdout.write(out.join('\n') + '\n');
}

// ---- DuckDB ----

function duckType(t) {
    const s = t.toString();
    if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT)$/.test(s)) return 'int64';
    if (/^U(BIGINT|INTEGER|SMALLINT|TINYINT)$/.test(s)) return 'uint64';
    if (/^(DOUBLE|FLOAT|DECIMAL)/.test(s)) return 'double';
    if (/^(VARCHAR|BLOB)$/.test(s)) return 'string';
    if (s === 'BOOLEAN') return 'bool';
    if (/^(TIMESTAMP|DATE)/.test(s)) return 'timestamp';
    return s;
}

function duckValue(v, type) {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
    case 'bigint': return v.toString();
    case 'number':
        if (type === 'int64' || type === 'uint64') return BigInt(v).toString();
        return double(v);
    case 'boolean':
    case 'string': return v;
    }
    const name = v.constructor.name;
    if (name === 'DuckDBTimestampNanosecondsValue') return v.nanos.toString();
    if (/^DuckDBTimestamp(TZ)?Value$/.test(name)) return (v.micros * 1000n).toString();
    if (name === 'DuckDBTimestampMillisecondsValue') return (v.millis * 1000000n).toString();
    if (name === 'DuckDBTimestampSecondsValue') return (v.seconds * 1000000000n).toString();
    if (name === 'DuckDBDateValue') return (BigInt(v.days) * 86400000000000n).toString();
    if (name === 'DuckDBBlobValue') return Buffer.from(v.bytes).toString('utf8');
    if (typeof v.toDouble === 'function') return double(v.toDouble());
    return { other: String(v) };
}

let connection = null;

async function duck() {
    if (connection) return connection;
    const instance = await DuckDBInstance.create(':memory:', {
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        threads: '1',
    });
    const con = await instance.connect();
    await con.run("SET TimeZone = 'UTC'");
    connection = con;
    return con;
}

function quote(path) {
    return "'" + path.replace(/'/g, "''") + "'";
}

async function readDuck(file) {
    const con = await duck();
    const reader = await con.runAndReadAll(`SELECT * FROM read_parquet(${quote(file)})`);
    const types = reader.columnTypes().map(duckType);
    const rows = reader.getRows().map((r) => r.map((v, i) => duckValue(v, types[i])));
    print(reader.columnNames(), types, rows);
}

async function duckMeta(file) {
    const con = await duck();
    const reader = await con.runAndReadAll(
        `SELECT * FROM parquet_metadata(${quote(file)})`);
    const names = reader.columnNames();
    for (const r of reader.getRows()) {
        const o = {};
        r.forEach((v, i) => { o[names[i]] = duckValue(v, null); });
        process.stdout.write(JSON.stringify(o) + '\n');
    }
}

// The table DuckDB writes for our reader: every type it maps onto ours, NULLs,
// low- and high-cardinality strings (dictionary and plain pages), sorted and random
// integers, several row groups.
const TABLE = `
SELECT
    i::BIGINT AS id,
    TIMESTAMP '2026-01-01' + to_microseconds(i * 1000003) AS ts_us,
    make_timestamp_ns(1767225600000000000 + i * 1000000007) AS ts_ns,
    (TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_milliseconds(i * 997)) AS ts_tz,
    (DATE '2020-02-29' + (i % 3000)::INTEGER) AS day,
    CASE WHEN i % 7 = 0 THEN NULL ELSE 'host-' || (i % 13) END AS host,
    CASE WHEN i % 11 = 0 THEN NULL WHEN i % 5 = 0 THEN '' ELSE md5(i::VARCHAR) END AS note,
    CASE WHEN i % 9 = 0 THEN NULL ELSE (i * 0.37)::DOUBLE - 1000.0 END AS temp,
    (i % 1000)::FLOAT / 8 AS f32,
    CASE WHEN i % 3 = 0 THEN NULL ELSE (hash(i) >> 1)::BIGINT * (1 - 2 * (i % 2)) END AS big,
    hash(i * 31) AS ubig,
    (i % 100000)::INTEGER - 50000 AS i32,
    (i % 200)::SMALLINT AS i16,
    (i % 100)::TINYINT AS i8,
    (i * 7)::UINTEGER AS u32,
    CASE WHEN i % 4 = 0 THEN NULL ELSE i % 3 = 0 END AS flag,
    (i * 1.25)::DECIMAL(18, 3) AS dec18,
    (i % 1000)::DECIMAL(9, 2) AS dec9,
    CASE WHEN i % 2 = 0 THEN NULL ELSE 'constant' END AS mostly_null
FROM range(0, $ROWS) t(i)
`;

const WRITE_CASES = {
    default: '',
    zstd: ', COMPRESSION zstd',
    snappy: ', COMPRESSION snappy',
    gzip: ', COMPRESSION gzip',
    lz4: ', COMPRESSION lz4_raw',
    uncompressed: ', COMPRESSION uncompressed',
    v2: ', PARQUET_VERSION V2',
    v2_zstd: ', PARQUET_VERSION V2, COMPRESSION zstd',
    small_groups: ', ROW_GROUP_SIZE 5000',
};

async function writeDuck(file, name, rows = 60000) {
    if (!(name in WRITE_CASES)) throw new Error('unknown case ' + name);
    const con = await duck();
    const table = TABLE.replace('$ROWS', String(Number(rows)));
    await con.run(`COPY (${table}) TO ${quote(file)} (FORMAT parquet${WRITE_CASES[name]})`);
}

// ---- hyparquet ----

function hyType(el) {
    const lt = el.logical_type && el.logical_type.type;
    const ct = el.converted_type;
    if (el.type === 'BOOLEAN') return 'bool';
    if (el.type === 'BYTE_ARRAY') return 'string';
    if (el.type === 'FLOAT' || el.type === 'DOUBLE') return 'double';
    if (lt === 'TIMESTAMP' || lt === 'DATE' || /^TIMESTAMP|^DATE/.test(ct || '')) return 'timestamp';
    if ((lt === 'INTEGER' && !el.logical_type.isSigned) || /^UINT/.test(ct || '')) return 'uint64';
    return 'int64';
}

function hyValue(v, type) {
    if (v === null || v === undefined) return null;
    if (type === 'double') return double(v);
    if (type === 'uint64') return BigInt.asUintN(64, BigInt(v)).toString();
    if (type === 'int64' || type === 'timestamp') return BigInt(v).toString();
    return v;
}

async function readHy(file) {
    const buf = await asyncBufferFromFile(file);
    const metadata = await parquetMetadataAsync(buf);
    const leaves = parquetSchema(metadata).children.map((c) => c.element);
    const types = leaves.map(hyType);
    let rows = [];
    await parquetRead({
        onComplete: (r) => { rows = r; },
        file: buf,
        metadata,
        rowFormat: 'array',
        compressors,
        utf8: true,
        parsers: {
            timestampFromNanoseconds: (n) => BigInt(n),
            timestampFromMicroseconds: (n) => BigInt(n) * 1000n,
            timestampFromMilliseconds: (n) => BigInt(n) * 1000000n,
            dateFromDays: (d) => BigInt(d) * 86400000000000n,
        },
    });
    print(leaves.map((l) => l.name), types, rows.map((r) => r.map((v, i) => hyValue(v, types[i]))));
}

// Batch modes, so a test session starts Node and DuckDB once: every DIR/X.parquet is
// read by both peers into DIR/X.duckdb.jsonl and DIR/X.hyparquet.jsonl (or .err with
// the error), and DuckDB's parquet_metadata() goes to DIR/X.duckmeta.jsonl.
async function readAll(dir) {
    const files = readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort();
    for (const f of files) {
        const base = join(dir, f.slice(0, -'.parquet'.length));
        await capture(base + '.duckdb', () => readDuck(join(dir, f)));
        await capture(base + '.hyparquet', () => readHy(join(dir, f)));
        await capture(base + '.duckmeta', () => duckMeta(join(dir, f)));
    }
}

// DIR/duck_<case>.parquet for every entry of WRITE_CASES, each with DuckDB's own read.
async function writeAll(dir) {
    for (const name of Object.keys(WRITE_CASES)) {
        const base = join(dir, 'duck_' + name);
        await capture(base + '.write', () => writeDuck(base + '.parquet', name));
        await capture(base + '.duckdb', () => readDuck(base + '.parquet'));
    }
}

// Runs fn with its printed lines going to base.jsonl, or its error to base.err.
async function capture(base, fn) {
    const lines = [];
    const saved = process.stdout.write;
    process.stdout.write = (s) => { lines.push(s); return true; };
    try {
        await fn();
        process.stdout.write = saved;
        writeFileSync(base + '.jsonl', lines.join(''));
    } catch (e) {
        process.stdout.write = saved;
        writeFileSync(base + '.err', String(e && e.message ? e.message : e) + '\n');
    }
}

const [mode, file, arg, rows] = process.argv.slice(2);
try {
    if (mode === 'duckdb') await readDuck(file);
    else if (mode === 'hyparquet') await readHy(file);
    else if (mode === 'duckdb-write') await writeDuck(file, arg, rows || 60000);
    else if (mode === 'duckdb-meta') await duckMeta(file);
    else if (mode === 'read-all') await readAll(file);
    else if (mode === 'duckdb-write-all') await writeAll(file);
    else throw new Error('usage: node pq_read.mjs duckdb|hyparquet|duckdb-meta FILE | ' +
                         'duckdb-write FILE CASE [ROWS] | read-all DIR | duckdb-write-all DIR');
} catch (e) {
    process.stderr.write(`pq_read ${mode} ${file}: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
}
