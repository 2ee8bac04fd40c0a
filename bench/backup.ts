/**
 * `npm run bench:backup`: our backup job (dump, verification, checksum, rotation) against a bare
 * `pg_dump -Fc` of the same database to a file, on a generated database of BENCH_DB_MB megabytes (default 1024),
 * as a ratio (goal <= 1.03, issue 15), plus the time the restore drill takes to restore and check that backup.
 *
 * Options (environment): BENCH_DB_MB (default 1024), BENCH_ROUNDS (default 3), BENCH_OUT (default
 * bench/results/backup.json).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderBackupScript, renderRestoreDrillScript } from "../lib/render/backup";
import { renderPgHba, renderPostgresConf, renderRoleSql, scramVerifier } from "../lib/render/postgres";
import { freePort } from "../tests/support/nginx";
import { PG_BIN, startPostgres } from "../tests/support/postgres";
import { median } from "./stats";

const sizeMb = Number(process.env.BENCH_DB_MB ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const out = process.env.BENCH_OUT ?? path.join(__dirname, "results", "backup.json");

async function main(): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-backup-"));
    fs.chmodSync(dir, 0o755);
    const options = { database: "webapp", role: "webapp", memoryMiB: 4096 };
    const pg = startPostgres(path.join(dir, "pg"), { conf: renderPostgresConf(options), hba: renderPgHba(options) }, await freePort());
    try {
        const psql = (input: string, db = "postgres") => {
            const res = pg.asPostgres(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", db], { input });
            if (res.status !== 0) throw new Error(res.stderr);
        };
        psql(renderRoleSql({ ...options, passwordVerifier: scramVerifier("bench-password-bench-password-xx") }));
        // Rows of ~1 KiB: an id, a few columns, random (incompressible) and repetitive text, in batches of 100k.
        const rows = Math.ceil((sizeMb * 1024 * 1024) / 1100);
        process.stdout.write(`generating ${rows} rows (~${sizeMb} MB) ...\n`);
        let t = Date.now();
        psql("CREATE EXTENSION IF NOT EXISTS pgcrypto; SET ROLE webapp; CREATE TABLE events (id bigint PRIMARY KEY, kind int, at timestamptz, body text);", "webapp");
        for (let start = 1; start <= rows; start += 100_000) {
            const end = Math.min(rows, start + 99_999);
            psql(`SET ROLE webapp; INSERT INTO events SELECT g, g % 17, now() - g * interval '1 second', encode(gen_random_bytes(400), 'base64') || repeat(md5(g::text), 14) FROM generate_series(${start}, ${end}) g;`, "webapp");
        }
        psql("VACUUM ANALYZE events;", "webapp");
        const dbBytes = Number(pg.sql("SELECT pg_database_size('webapp')"));
        const generateMs = Date.now() - t;

        const root = path.join(dir, "backups");
        fs.mkdirSync(root);
        fs.chmodSync(root, 0o777);
        const scriptFile = (name: string, text: string) => {
            const f = path.join(dir, name);
            fs.writeFileSync(f, text, { mode: 0o755 });
            return f;
        };
        const backup = scriptFile("backup", renderBackupScript({ appName: "webapp", engine: "postgres", database: "webapp", role: "webapp", retention: { dailyDays: 30, weeklyDays: 90, uploadsDays: 7 } }));
        const drill = scriptFile("restore-drill", renderRestoreDrillScript({ appName: "webapp", engine: "postgres", database: "webapp", role: "webapp", retention: { dailyDays: 30, weeklyDays: 90, uploadsDays: 7 } }));
        const env = { BACKUP_ROOT: root, PATH: `${PG_BIN}:/usr/bin:/bin` };
        const timed = (cmd: string[]) => {
            const start = process.hrtime.bigint();
            const res = pg.asPostgres(cmd, { env });
            if (res.status !== 0) throw new Error(`${cmd.join(" ")} failed: ${res.stderr}`);
            return Number(process.hrtime.bigint() - start) / 1e9;
        };
        const bare: number[] = [];
        const ours: number[] = [];
        const restore: number[] = [];
        let dumpBytes = 0;
        for (let i = 0; i < rounds; i++) {
            const bareFile = path.join(root, `bare-${i}.dump`);
            bare.push(timed([`${PG_BIN}/pg_dump`, "-Fc", "--dbname=webapp", "-f", bareFile]));
            fs.rmSync(bareFile);
            ours.push(timed(["bash", backup, "daily"]));
            restore.push(timed(["bash", drill]));
            const files = fs.readdirSync(path.join(root, "daily")).filter((f) => f.endsWith(".dump"));
            dumpBytes = fs.statSync(path.join(root, "daily", files[files.length - 1])).size;
        }
        t = Date.now();
        const result = {
            date: new Date().toISOString(),
            machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, postgres: pg.sql("SHOW server_version") },
            database: { requestedMb: sizeMb, rows, bytes: dbBytes, dumpBytes, generateSeconds: generateMs / 1000 },
            rounds,
            seconds: { bareDump: bare, backupJob: ours, restoreDrill: restore },
            median: { bareDump: median(bare), backupJob: median(ours), restoreDrill: median(restore) },
            ratio: median(ours) / median(bare),
        };
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
        process.stdout.write(
            [
                `backup benchmark: database ${(dbBytes / 1048576).toFixed(0)} MiB (${rows} rows), dump ${(dumpBytes / 1048576).toFixed(0)} MiB, ${rounds} rounds`,
                `bare pg_dump -Fc   ${result.median.bareDump.toFixed(2)} s`,
                `our backup job     ${result.median.backupJob.toFixed(2)} s`,
                `ratio              ${result.ratio.toFixed(3)} (goal <= 1.03)`,
                `restore drill      ${result.median.restoreDrill.toFixed(2)} s (restore into a scratch database + checks)`,
                `results: ${out}`,
                "",
            ].join("\n"),
        );
    } finally {
        pg.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
});
