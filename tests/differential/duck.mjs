// duck.mjs: the DuckDB side of the differential tests (tests/differential) and of the
// query benchmark (bench/query). A long-lived process: one in-memory DuckDB
// (@duckdb/node-api), one JSON request per stdin line, one JSON answer per stdout line,
// in order, so a query costs a pipe round trip and no process start.
//
// Requests:
//   {"sql": "..."}                      run one statement (or several: the last answers)
//   {"sql": "...", "time": N}           run it N times; answer the last result and the
//                                       wall time of every run in ms ("ms": [...])
// Answers:
//   {"ok": true, "columns": [...], "types": ["BIGINT", ...], "rows": [[...], ...]}
//   {"ok": false, "error": "..."}
//
// Values are encoded so that nothing is lost on the way to Python: integers of every
// width as decimal strings (BIGINT, UBIGINT and HUGEINT exceed a JS number), doubles as
// JSON numbers or "NaN"/"Infinity"/"-Infinity", DECIMAL as a double, every timestamp
// type as nanoseconds since the epoch in a decimal string, booleans and strings as
// themselves, NULL as null, anything else as {"other": "<DuckDB's text>"}.
//
// The instance never touches the network (extensions neither auto-installed nor
// auto-loaded) and runs in UTC, so now()::TIMESTAMP is UTC wall time as in Vigil.
import { createInterface } from 'node:readline';
import { DuckDBInstance } from '@duckdb/node-api';

const threads = process.env.DUCK_THREADS || '2';
const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    threads,
});
const con = await instance.connect();
await con.run("SET TimeZone = 'UTC'");

function encode(v) {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
    case 'bigint':
        return v.toString();
    case 'number':
        if (Number.isNaN(v)) return 'NaN';
        if (v === Infinity) return 'Infinity';
        if (v === -Infinity) return '-Infinity';
        return v;
    case 'boolean':
    case 'string':
        return v;
    }
    if ('nanos' in v && v.constructor.name === 'DuckDBTimestampNanosecondsValue')
        return v.nanos.toString();
    if ('micros' in v && /^DuckDBTimestamp(TZ)?Value$/.test(v.constructor.name))
        return (v.micros * 1000n).toString();
    if ('millis' in v && v.constructor.name === 'DuckDBTimestampMillisecondsValue')
        return (v.millis * 1000000n).toString();
    if ('seconds' in v && v.constructor.name === 'DuckDBTimestampSecondsValue')
        return (v.seconds * 1000000000n).toString();
    if (typeof v.toDouble === 'function') return encode(v.toDouble());
    return { other: String(v) };
}

async function run(sql) {
    const reader = await con.runAndReadAll(sql);
    const rows = reader.getRows().map((r) => r.map(encode));
    return {
        ok: true,
        columns: reader.columnNames(),
        types: reader.columnTypes().map((t) => t.toString()),
        rows,
    };
}

async function handle(req) {
    try {
        if (req.time) {
            const ms = [];
            let res;
            for (let i = 0; i < req.time; i++) {
                const t0 = process.hrtime.bigint();
                res = await run(req.sql);
                ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
            }
            res.ms = ms;
            return res;
        }
        return await run(req.sql);
    } catch (e) {
        return { ok: false, error: String(e && e.message ? e.message : e) };
    }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
    if (!line.trim()) continue;
    let answer;
    try {
        answer = await handle(JSON.parse(line));
    } catch (e) {
        answer = { ok: false, error: 'bad request: ' + e.message };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
}
