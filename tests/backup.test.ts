/**
 * The rendered backup, restore, drill and stale-check scripts run for real against a real PostgreSQL 15 (and
 * SQLite), including their failure modes (BK-1..8).
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BackupOptions,
    renderBackupScript,
    renderBackupUnits,
    renderRestoreDrillScript,
    renderRestoreScript,
    renderStaleCheckScript,
    renderUploadsBackupScript,
} from "../lib/render/backup";
import { renderPgHba, renderPostgresConf, renderRoleSql, scramVerifier } from "../lib/render/postgres";
import { run } from "./helpers";
import { freePort, waitForPort } from "./support/nginx";
import { PG_BIN, RunningPostgres, startPostgres } from "./support/postgres";
import { unitRoot, verifyUnits } from "./support/systemd";

const PASSWORD = "Qe4-hT8_nW2.kP6~sD1-xV5_bJ9.gM3~";
const pgOptions = { database: "webapp", role: "webapp", memoryMiB: 1024 };
const options: BackupOptions = { appName: "webapp", engine: "postgres", database: "webapp", role: "webapp", retention: { dailyDays: 30, weeklyDays: 90, uploadsDays: 7 } };

let dir: string;
let pg: RunningPostgres;
let scripts: Record<string, string>;
let stubs: string;
let root: string;

/** Row counts and a checksum of every row of the seeded tables. */
const fingerprint = (db: string) =>
    pg.sql(
        "SELECT (SELECT count(*) FROM items) || ' ' || (SELECT count(*) FROM orders) || ' ' || " +
            "(SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i) || ' ' || (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o)",
        db,
    );

function script(name: string, text: string): string {
    const file = path.join(dir, "lib", name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode: 0o755 });
    return file;
}

/** Runs a script as postgres with libpq on the test server, the backup root, and stubs (systemctl, ...) first on PATH. */
function runScript(name: string, args: string[] = [], env: Record<string, string> = {}) {
    return pg.asPostgres(["bash", scripts[name], ...args], { env: { BACKUP_ROOT: root, PATH: `${stubs}:${PG_BIN}:/usr/bin:/bin`, ...env } });
}

const listing = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-"));
    fs.chmodSync(dir, 0o755);
    pg = startPostgres(path.join(dir, "pg"), { conf: renderPostgresConf(pgOptions), hba: renderPgHba(pgOptions) }, await freePort());
    expect(pg.asPostgres(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname=postgres"], { input: renderRoleSql({ ...pgOptions, passwordVerifier: scramVerifier(PASSWORD) }) }).status).toBe(0);
    const seed = pg.asPostgres(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname=webapp"], {
        input: [
            "SET ROLE webapp;",
            "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, body text NOT NULL);",
            "CREATE TABLE orders (id serial PRIMARY KEY, item_id int REFERENCES items(id), qty int, created timestamptz DEFAULT now());",
            // About 5 MB of hex text that does not compress away, so a small disk can fill up.
            "INSERT INTO items (name, body) SELECT 'item ' || g, (SELECT string_agg(md5(random()::text || g || s), '') FROM generate_series(1, 32) s) FROM generate_series(1, 5000) g;",
            "INSERT INTO orders (item_id, qty) SELECT 1 + (g % 5000), g % 7 FROM generate_series(1, 20000) g;",
        ].join("\n"),
    });
    expect(seed.stderr).toBe("");
    root = path.join(dir, "backups");
    fs.mkdirSync(root);
    run("chown", ["postgres:postgres", root]);
    stubs = path.join(dir, "stubs");
    fs.mkdirSync(stubs);
    fs.writeFileSync(path.join(stubs, "systemctl"), `#!/bin/sh\necho "$@" >> ${stubs}/systemctl.log\n`, { mode: 0o755 });
    fs.chmodSync(stubs, 0o777);
    scripts = {
        backup: script("backup", renderBackupScript(options)),
        restore: script("restore", renderRestoreScript(options)),
        drill: script("restore-drill", renderRestoreDrillScript(options)),
        stale: script("backup-stale-check", renderStaleCheckScript(options)),
    };
});

afterAll(() => {
    pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("rendered files", () => {
    const variants: BackupOptions[] = [
        options,
        { ...options, offsite: { bucket: "webapp-prod-backups", prefix: "db", region: "eu-central-1" }, uploadsDir: "/var/lib/webapp/uploads", sanitySql: "SELECT count(*) > 0 FROM items" },
        { appName: "webapp", engine: "sqlite", sqlitePath: "/var/lib/webapp/emails.db", retention: options.retention },
    ];

    test.each(variants.map((v, i) => [i, v] as const))("variant %i: every script passes shellcheck", (_i, v) => {
        const texts = [renderBackupScript(v), renderRestoreScript(v), renderRestoreDrillScript(v), renderStaleCheckScript(v), ...(v.uploadsDir ? [renderUploadsBackupScript(v)] : [])];
        texts.forEach((t, n) => {
            const file = path.join(dir, `sc-${n}.sh`);
            fs.writeFileSync(file, t);
            const res = run("shellcheck", ["--severity=style", file]);
            expect({ n, findings: res.stdout }).toEqual({ n, findings: "" });
        });
    });

    test("systemd-analyze verify accepts the services and timers; timers are persistent at 02:00 and Sunday 03:00 (BK-1)", () => {
        const v = variants[1];
        const units = renderBackupUnits(v);
        const res = verifyUnits(unitRoot(dir, units, ["backup", "restore-drill", "backup-stale-check", "backup-uploads"].map((n) => `/usr/local/lib/webapp/${n}`)), Object.keys(units));
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(units["webapp-backup-daily.timer"]).toMatch(/OnCalendar=\*-\*-\* 02:00:00\nPersistent=true\nUnit=webapp-backup@daily\.service/);
        expect(units["webapp-backup-weekly.timer"]).toMatch(/OnCalendar=Sun \*-\*-\* 03:00:00\nPersistent=true/);
        expect(units["webapp-backup@.service"]).toContain("LoadCredential=backup-aws:/etc/webapp/credentials/backup-aws");
        const next = run("systemd-analyze", ["calendar", "--iterations=2", "Sun *-*-* 03:00:00"]).stdout;
        expect(next).toMatch(/Next elapse: Sun \d{4}-\d\d-\d\d 03:00:00/);
    });

    test.each(["00:00", "02:00", "21:45", "23:30"])("backup time %s: systemd reads each timer as the fixed time the schedule says (BK-1)", (time) => {
        const units = renderBackupUnits({ ...variants[1], time });
        const [h, m] = time.split(":").map(Number);
        const plus = (minutes: number) => { const t = (h * 60 + m + minutes) % 1440; return `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}:00`; };
        const wanted: Record<string, string> = {
            "webapp-backup-daily.timer": `*-*-* ${plus(0)}`,
            "webapp-backup-uploads.timer": `*-*-* ${plus(30)}`,
            "webapp-backup-weekly.timer": `Sun *-*-* ${plus(60)}`,
            "webapp-restore-drill.timer": `Sun *-*-* ${plus(180)}`,
        };
        for (const [unit, calendar] of Object.entries(wanted)) {
            const written = /^OnCalendar=(.*)$/m.exec(units[unit])?.[1] ?? "";
            const res = run("systemd-analyze", ["calendar", written]);
            expect({ unit, status: res.status, normalized: /Normalized form: (.*)/.exec(res.stdout)?.[1] }).toEqual({ unit, status: 0, normalized: calendar });
        }
        if (time === "02:00") expect(renderBackupUnits(variants[1])).toEqual(units);
    });

    test("bad options are refused", () => {
        expect(() => renderBackupScript({ ...options, retention: { ...options.retention, dailyDays: 0 } })).toThrow(/retention dailyDays 0 must be 1-3650 days/);
        expect(() => renderBackupScript({ ...options, offsite: { bucket: "Bad_Bucket", prefix: "x", region: "eu-central-1" } })).toThrow(/not a valid S3 bucket name/);
        expect(() => renderBackupUnits({ ...options, time: "24:00" })).toThrow(/time "24:00" is not HH:MM/);
    });
});

describe("backup and restore (BK-3, BK-4, BK-7)", () => {
    let original: string;

    test("a daily backup is written, verified, checksummed and logged", () => {
        original = fingerprint("webapp");
        const res = runScript("backup", ["daily"]);
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout).toMatch(/^backup\[daily\]: starting\nbackup\[daily\]: wrote .*\/daily\/webapp-\d{8}T\d{6}Z\.dump \(\d+ bytes, sha256 [0-9a-f]{64}\)\nbackup\[daily\]: done; removed 0 backups older than 30 days\n$/);
        const files = listing(path.join(root, "daily"));
        expect(files).toEqual([expect.stringMatching(/^webapp-\d{8}T\d{6}Z\.dump$/), expect.stringMatching(/\.dump\.sha256$/)]);
        expect(run("sha256sum", ["--check", files[1]], { cwd: path.join(root, "daily") }).status).toBe(0);
        expect(run(`${PG_BIN}/pg_restore`, ["--list", path.join(root, "daily", files[0])]).stdout).toMatch(/TABLE public items webapp/);
    });

    test("restore brings back every row after data loss, keeping the old database aside", () => {
        pg.sql("DELETE FROM orders WHERE id % 2 = 0; DELETE FROM orders WHERE item_id > 100; DELETE FROM items WHERE id > 100", "webapp");
        expect(fingerprint("webapp")).not.toBe(original);
        const dump = path.join(root, "daily", listing(path.join(root, "daily"))[0]);
        const res = runScript("restore", [dump]);
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(fingerprint("webapp")).toBe(original);
        expect(pg.sql("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'items'", "webapp")).toBe("webapp");
        expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'webapp_before_restore_%'")).toBe("1");
        expect(fs.readFileSync(path.join(stubs, "systemctl.log"), "utf8")).toBe("stop webapp.service\nstart webapp.service\n");
    });

    test("run as root, restore switches to postgres for the database and keeps systemctl for itself", () => {
        fs.writeFileSync(path.join(stubs, "systemctl.log"), "");
        const dump = path.join(root, "daily", listing(path.join(root, "daily"))[0]);
        const res = run("bash", [scripts.restore, dump], { env: { PATH: `${stubs}:${PG_BIN}:/usr/bin:/bin:/usr/sbin:/sbin`, PGHOST: pg.socketDir, PGPORT: String(pg.port) } });
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(fingerprint("webapp")).toBe(original);
        expect(fs.readFileSync(path.join(stubs, "systemctl.log"), "utf8")).toBe("stop webapp.service\nstart webapp.service\n");
    });

    test("a restore that fails leaves the live database alone and starts the app again", () => {
        fs.writeFileSync(path.join(stubs, "systemctl.log"), "");
        const broken = path.join(dir, "broken.dump");
        fs.writeFileSync(broken, crypto.randomBytes(8192));
        run("chmod", ["644", broken]);
        const res = runScript("restore", [broken]);
        expect(res.status).toBe(1);
        expect(res.stderr).toMatch(/restore: FAILED: pg_restore of .*broken\.dump into webapp_restoring failed/);
        expect(fingerprint("webapp")).toBe(original);
        expect(fs.readFileSync(path.join(stubs, "systemctl.log"), "utf8")).toBe("stop webapp.service\nstart webapp.service\n");
    });

    test("the restore drill restores the newest backup into a scratch database and drops it", () => {
        const res = runScript("drill");
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout).toMatch(/restored .* into webapp_restore_drill: 2 tables\nrestore-drill: passed/);
        expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname = 'webapp_restore_drill'")).toBe("0");
    });

    test("a weekly backup goes to its own tier", () => {
        expect(runScript("backup", ["weekly"]).status).toBe(0);
        expect(listing(path.join(root, "weekly"))).toHaveLength(2);
    });
});

describe("failures leave nothing under a final name and older backups untouched (BK-3, BK-4)", () => {
    const before = () => ({ daily: listing(path.join(root, "daily")), weekly: listing(path.join(root, "weekly")) });

    test("database down", () => {
        const was = before();
        pg.stop();
        try {
            const res = runScript("backup", ["daily"]);
            expect(res.status).toBe(1);
            expect(res.stderr).toMatch(/backup\[daily\]: FAILED: pg_dump of webapp failed/);
        } finally {
            pg.start();
        }
        expect(before()).toEqual(was);
    });

    test("wrong password", () => {
        const was = before();
        const res = runScript("backup", ["daily"], { PGHOST: "127.0.0.1", PGUSER: "webapp", PGPASSWORD: "not-the-password-not-the-passwor", PGSSLMODE: "require" });
        expect(res.status).toBe(1);
        expect(res.stderr).toMatch(/password authentication failed for user "webapp"[\s\S]*FAILED: pg_dump of webapp failed/);
        expect(before()).toEqual(was);
    });

    test("disk full", () => {
        const small = path.join(dir, "small");
        fs.mkdirSync(small);
        expect(run("mount", ["-t", "tmpfs", "-o", "size=512k,uid=postgres,gid=postgres", "tmpfs", small]).status).toBe(0);
        try {
            const res = runScript("backup", ["daily"], { BACKUP_ROOT: small });
            expect(res.status).toBe(1);
            expect(res.stderr).toMatch(/No space left on device[\s\S]*FAILED: pg_dump of webapp failed/);
            expect(listing(path.join(small, "daily"))).toEqual([]);
        } finally {
            run("umount", [small]);
        }
    });

    test("a corrupted dump fails verification", () => {
        const was = before();
        // pg_dump that "succeeds" but writes garbage, as a failing disk or a truncated write would leave it.
        fs.writeFileSync(path.join(stubs, "pg_dump"), '#!/bin/bash\nfor a in "$@"; do case $a in --file=*) head -c 4096 /dev/urandom > "${a#--file=}";; esac; done\n', { mode: 0o755 });
        try {
            const res = runScript("backup", ["daily"]);
            expect(res.status).toBe(1);
            expect(res.stderr).toMatch(/FAILED: verification failed: pg_restore cannot read the dump/);
        } finally {
            fs.rmSync(path.join(stubs, "pg_dump"));
        }
        expect(before()).toEqual(was);
    });

    test("the drill fails on a corrupted newest backup and leaves no scratch database", () => {
        const daily = listing(path.join(root, "daily")).filter((f) => f.endsWith(".dump"));
        const newest = path.join(root, "daily", daily[daily.length - 1]);
        const copy = fs.readFileSync(newest);
        fs.writeFileSync(newest, copy.subarray(0, copy.length / 2));
        run("touch", [newest]);
        try {
            const res = runScript("drill");
            expect(res.status).toBe(1);
            expect(res.stderr).toMatch(/restore-drill: FAILED: pg_restore of .* into webapp_restore_drill failed/);
            expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname = 'webapp_restore_drill'")).toBe("0");
        } finally {
            fs.writeFileSync(newest, copy);
        }
    });
});

describe("rotation (BK-2)", () => {
    test("exactly the expired backups are removed, in both tiers", () => {
        const make = (tier: string, name: string, age: string) => {
            const file = path.join(root, tier, name);
            fs.writeFileSync(file, "old");
            fs.writeFileSync(`${file}.sha256`, "x");
            run("touch", ["-d", age, file, `${file}.sha256`]);
        };
        make("daily", "webapp-20200101T020000Z.dump", "31 days ago");
        make("daily", "webapp-20200102T020000Z.dump", "29 days ago");
        make("weekly", "webapp-20200103T030000Z.dump", "91 days ago");
        make("weekly", "webapp-20200104T030000Z.dump", "89 days ago");
        fs.writeFileSync(path.join(root, "daily", "unrelated.txt"), "keep");
        run("touch", ["-d", "400 days ago", path.join(root, "daily", "unrelated.txt")]);
        run("chown", ["-R", "postgres:postgres", root]);
        expect(runScript("backup", ["daily"]).stdout).toMatch(/removed 1 backups older than 30 days/);
        expect(runScript("backup", ["weekly"]).stdout).toMatch(/removed 1 backups older than 90 days/);
        const daily = listing(path.join(root, "daily"));
        expect(daily).not.toContain("webapp-20200101T020000Z.dump");
        expect(daily).not.toContain("webapp-20200101T020000Z.dump.sha256");
        expect(daily).toEqual(expect.arrayContaining(["webapp-20200102T020000Z.dump", "webapp-20200102T020000Z.dump.sha256", "unrelated.txt"]));
        const weekly = listing(path.join(root, "weekly"));
        expect(weekly).not.toContain("webapp-20200103T030000Z.dump");
        expect(weekly).toContain("webapp-20200104T030000Z.dump");
    });
});

describe("stale-backup check (BK-8)", () => {
    test("passes with a fresh daily backup, fails when the newest is older than 26 hours or missing", () => {
        expect(runScript("stale").status).toBe(0);
        const daily = path.join(root, "daily");
        for (const f of listing(daily)) run("touch", ["-d", "27 hours ago", path.join(daily, f)]);
        const stale = runScript("stale");
        expect(stale.status).toBe(1);
        expect(stale.stderr).toMatch(/FAILED: the newest daily backup is 27 hours old \(limit 26\)/);
        for (const f of listing(daily)) run("touch", ["-d", "25 hours ago", path.join(daily, f)]);
        expect(runScript("stale").status).toBe(0);
        expect(runScript("stale", [], { BACKUP_ROOT: path.join(dir, "nothing-here") }).stderr).toMatch(/FAILED: no daily backup/);
    });
});

describe("off-site copy (BK-5), against a real S3 API over TLS", () => {
    let s3: ChildProcess;
    let endpoint: string;
    let caBundle: string;
    let credentials: string;
    const s3Data = () => path.join(dir, "s3");

    beforeAll(async () => {
        // s3rver speaks the S3 REST API; Debian's aws CLI talks to it exactly as to AWS, over HTTPS.
        const tlsDir = path.join(dir, "s3-tls");
        fs.mkdirSync(tlsDir);
        const cert = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(tlsDir, "key.pem"), "-out", path.join(tlsDir, "cert.pem")], { encoding: "utf8" });
        expect(cert.status).toBe(0);
        caBundle = path.join(tlsDir, "cert.pem");
        const port = await freePort();
        s3 = spawn(path.join(__dirname, "..", "node_modules", ".bin", "s3rver"), ["-d", s3Data(), "-a", "127.0.0.1", "-p", String(port), "--silent",
            "--key", path.join(tlsDir, "key.pem"), "--cert", caBundle, "--configure-bucket", "webapp-prod-backups"], { stdio: "ignore" });
        await waitForPort(port);
        endpoint = `https://127.0.0.1:${port}`;
        // The writer's credentials file, as the backups-credentials step writes it.
        const credDir = path.join(dir, "credentials");
        fs.mkdirSync(credDir);
        credentials = credDir;
        fs.writeFileSync(path.join(credDir, "backup-aws"), "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n", { mode: 0o644 });
        run("chmod", ["755", dir, tlsDir, credDir]);
    });
    afterAll(() => s3?.kill());

    const aws = (...args: string[]) =>
        run("/usr/bin/aws", ["--region", "eu-central-1", "--endpoint-url", endpoint, ...args], { env: { PATH: "/usr/bin:/bin", HOME: dir, AWS_CA_BUNDLE: caBundle, AWS_SHARED_CREDENTIALS_FILE: path.join(credentials, "backup-aws") } });

    test("uploads archives go to the bucket's uploads tier", () => {
        const uploads = path.join(dir, "uploads-offsite");
        fs.mkdirSync(uploads);
        fs.writeFileSync(path.join(uploads, "photo.jpg"), crypto.randomBytes(2048));
        const o = { ...options, uploadsDir: uploads, offsite: { bucket: "webapp-prod-backups", prefix: "backups", region: "eu-central-1" } };
        const res = run("bash", ["-s"], {
            input: renderUploadsBackupScript(o),
            env: { PATH: "/usr/bin:/bin", HOME: dir, BACKUP_ROOT: path.join(dir, "uploads-offsite-backups"), CREDENTIALS_DIRECTORY: credentials, AWS_ENDPOINT_URL: endpoint, AWS_CA_BUNDLE: caBundle },
        });
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(aws("s3", "ls", "s3://webapp-prod-backups/backups/uploads/").stdout).toMatch(/uploads-\d{8}T\d{6}Z\.tar\.gz/);
    });

    test("each backup and its checksum land in the bucket, byte for byte; a failed copy fails the job and keeps the local file", () => {
        const withOffsite = { ...options, offsite: { bucket: "webapp-prod-backups", prefix: "backups", region: "eu-central-1" } };
        const file = script("backup-offsite", renderBackupScript(withOffsite));
        const env = { BACKUP_ROOT: root, PATH: `${PG_BIN}:/usr/bin:/bin`, HOME: "/tmp", CREDENTIALS_DIRECTORY: credentials, AWS_ENDPOINT_URL: endpoint, AWS_CA_BUNDLE: caBundle };
        const ok = pg.asPostgres(["bash", file, "daily"], { env });
        expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: "" });
        const name = /copied off-site to s3:\/\/webapp-prod-backups\/backups\/daily\/(webapp-\d{8}T\d{6}Z\.dump)/.exec(ok.stdout)?.[1];
        expect(name).toBeDefined();
        const listing = aws("s3", "ls", "--recursive", "s3://webapp-prod-backups/backups/daily/").stdout;
        expect(listing).toContain(`backups/daily/${name}`);
        expect(listing).toContain(`backups/daily/${name}.sha256`);
        const downloaded = path.join(dir, "downloaded.dump");
        expect(aws("s3", "cp", "--only-show-errors", `s3://webapp-prod-backups/backups/daily/${name}`, downloaded).status).toBe(0);
        const sha = (f: string) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
        expect(sha(downloaded)).toBe(sha(path.join(root, "daily", name!)));

        s3.kill();
        run("sleep", ["1.1"]); // backup names have one-second resolution
        const count = fs.readdirSync(path.join(root, "daily")).length;
        const failed = pg.asPostgres(["bash", file, "daily"], { env });
        expect(failed.status).toBe(1);
        expect(failed.stderr).toMatch(/FAILED: off-site copy to s3:\/\/webapp-prod-backups\/backups\/daily\/.* failed \(the local backup is kept\)/);
        expect(fs.readdirSync(path.join(root, "daily")).length).toBe(count + 2);
    });
});

describe("SQLite apps (seed 000) and uploads", () => {
    test("online backup with integrity check, restore round trip", () => {
        const appDir = path.join(dir, "sqlite");
        fs.mkdirSync(appDir);
        const db = path.join(appDir, "emails.db");
        run("sqlite3", [db, "CREATE TABLE mails (id INTEGER PRIMARY KEY, subject TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO mails (subject) SELECT 'mail ' || i FROM n;"]);
        const o: BackupOptions = { appName: "webapp", engine: "sqlite", sqlitePath: db, retention: options.retention };
        const sqliteRoot = path.join(dir, "sqlite-backups");
        const backup = run("bash", ["-s", "daily"], { input: renderBackupScript(o), env: { ...process.env, BACKUP_ROOT: sqliteRoot } });
        expect({ status: backup.status, stderr: backup.stderr }).toEqual({ status: 0, stderr: "" });
        const [file] = listing(path.join(sqliteRoot, "daily"));
        expect(file).toMatch(/^webapp-\d{8}T\d{6}Z\.db\.gz$/);
        run("sqlite3", [db, "DELETE FROM mails WHERE id > 10"]);
        const restore = run("bash", ["-s", path.join(sqliteRoot, "daily", file)], { input: renderRestoreScript(o), env: { ...process.env, PATH: `${stubs}:${process.env.PATH}` } });
        expect({ status: restore.status, stderr: restore.stderr }).toEqual({ status: 0, stderr: "" });
        expect(run("sqlite3", [db, "SELECT count(*) FROM mails"]).stdout.trim()).toBe("3000");
        const drill = run("bash", ["-s"], { input: renderRestoreDrillScript(o), env: { ...process.env, BACKUP_ROOT: sqliteRoot } });
        expect(drill.stdout).toMatch(/restore-drill: passed/);
    });

    test("uploads are archived, verified and kept 7 days", () => {
        const uploads = path.join(dir, "uploads");
        fs.mkdirSync(uploads);
        fs.writeFileSync(path.join(uploads, "invoice.pdf"), "%PDF-1.7 test");
        const o = { ...options, uploadsDir: uploads };
        const uploadsRoot = path.join(dir, "uploads-backups");
        fs.mkdirSync(path.join(uploadsRoot, "uploads"), { recursive: true });
        fs.writeFileSync(path.join(uploadsRoot, "uploads", "uploads-20200101T023000Z.tar.gz"), "old");
        run("touch", ["-d", "8 days ago", path.join(uploadsRoot, "uploads", "uploads-20200101T023000Z.tar.gz")]);
        const res = run("bash", ["-s"], { input: renderUploadsBackupScript(o), env: { ...process.env, BACKUP_ROOT: uploadsRoot } });
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        const files = listing(path.join(uploadsRoot, "uploads"));
        expect(files).toEqual([expect.stringMatching(/^uploads-\d{8}T\d{6}Z\.tar\.gz$/)]);
        expect(run("tar", ["-tzf", path.join(uploadsRoot, "uploads", files[0])]).stdout).toContain("./invoice.pdf");
    });
});
