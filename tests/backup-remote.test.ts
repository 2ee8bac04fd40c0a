/**
 * Backups against a remote PostgreSQL, as with AWS RDS: a real PostgreSQL 15 that accepts only TLS over TCP, an
 * admin role that is no superuser (like the RDS master user), and the scripts run with the libpq settings they
 * render (verify-full against the server's CA, the password from the pgpass credential). The program's RDS role
 * step script runs against it as that admin first.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { rdsRoleScript } from "../components/database";
import { renderApplyScript, renderPayload, stepCommand } from "../lib/render/apply-script";
import {
    BackupOptions,
    renderBackupScript,
    renderBackupUnits,
    renderPgpass,
    renderRestoreDrillScript,
    renderRestoreScript,
    renderStaleCheckScript,
} from "../lib/render/backup";
import { renderPostgresConf, renderRoleSql, scramVerifier } from "../lib/render/postgres";
import { run } from "./helpers";
import { freePort } from "./support/nginx";
import { PG_BIN, RunningPostgres, startPostgres } from "./support/postgres";
import { unitRoot, verifyUnits } from "./support/systemd";

const ADMIN_PASSWORD = "aR7:kW2\\pX9-mT4_qL8.zN3~vB6";
const APP_PASSWORD = "Qe4-hT8_nW2.kP6~sD1-xV5_bJ9.gM3~";

let dir: string;
let pg: RunningPostgres;
let ca: string;
let creds: string;
let root: string;
let stubs: string;
let options: BackupOptions;
const scripts: Record<string, string> = {};

/** Environment of a job: no PG* variables of its own (the script sets them), the credentials directory as systemd gives it. */
const jobEnv = (extra: Record<string, string> = {}) => ({ PATH: `${stubs}:${PG_BIN}:/usr/bin:/bin:/usr/sbin:/sbin`, BACKUP_ROOT: root, CREDENTIALS_DIRECTORY: creds, ...extra });
const runScript = (name: string, args: string[] = [], extra: Record<string, string> = {}) => run("bash", [scripts[name], ...args], { env: jobEnv(extra) });

/** psql over TCP with TLS, as the given role. */
function psql(user: string, password: string, database: string, input: string) {
    return run(`${PG_BIN}/psql`, ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", `host=localhost port=${pg.port} dbname=${database} user=${user} sslmode=verify-full sslrootcert=${ca}`], {
        input,
        env: { PATH: "/usr/bin:/bin", PGPASSWORD: password },
    });
}

const fingerprint = () => pg.sql("SELECT (SELECT count(*) FROM notes) || ' ' || (SELECT md5(string_agg(n::text, ',' ORDER BY id)) FROM notes n)", "webapp");
const listing = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-remote-"));
    fs.chmodSync(dir, 0o755);
    // Like RDS with rds.force_ssl = 1: TCP only with TLS, password authentication; the socket only for the test's superuser.
    const hba = ["local all postgres peer", "hostssl all all 127.0.0.1/32 scram-sha-256", "hostssl all all ::1/128 scram-sha-256", ""].join("\n");
    pg = startPostgres(path.join(dir, "pg"), { conf: renderPostgresConf({ database: "webapp", role: "webapp", memoryMiB: 1024 }), hba }, await freePort());
    ca = path.join(dir, "ca.pem");
    fs.copyFileSync(path.join(pg.dir, "data", "server.crt"), ca);
    fs.chmodSync(ca, 0o644);
    // The instance as RDS creates it: the master user (CREATEDB, CREATEROLE, no superuser) and the app database it owns.
    pg.sql(`CREATE ROLE dbadmin LOGIN CREATEDB CREATEROLE PASSWORD '${scramVerifier(ADMIN_PASSWORD)}'`);
    pg.sql("CREATE DATABASE webapp OWNER dbadmin");

    creds = path.join(dir, "credentials");
    fs.mkdirSync(creds, { mode: 0o700 });
    fs.writeFileSync(path.join(creds, "backup-pgpass"), renderPgpass({ host: "localhost", port: pg.port, user: "dbadmin", password: ADMIN_PASSWORD }), { mode: 0o600 });
    root = path.join(dir, "backups");
    fs.mkdirSync(root, { mode: 0o700 });
    stubs = path.join(dir, "stubs");
    fs.mkdirSync(stubs);
    fs.writeFileSync(path.join(stubs, "systemctl"), `#!/bin/sh\necho "$@" >> ${stubs}/systemctl.log\n`, { mode: 0o755 });

    options = {
        appName: "webapp",
        engine: "postgres",
        database: "webapp",
        role: "webapp",
        retention: { dailyDays: 30, weeklyDays: 90, uploadsDays: 7 },
        server: { host: "localhost", port: pg.port, user: "dbadmin", caFile: ca },
        sanitySql: "SELECT count(*) = 3000 FROM notes",
    };
    const write = (name: string, text: string) => {
        const file = path.join(dir, "lib", name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text, { mode: 0o755 });
        return file;
    };
    scripts.backup = write("backup", renderBackupScript(options));
    scripts.restore = write("restore", renderRestoreScript(options));
    scripts.drill = write("restore-drill", renderRestoreDrillScript(options));
    scripts.stale = write("backup-stale-check", renderStaleCheckScript(options));
});

afterAll(() => {
    pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("the program's RDS role step, run as the master user", () => {
    // The step as the program ships it: its command, with the values on stdin; its files in a directory of the test.
    const roleDir = () => path.join(dir, "role");
    const roleCommand = () => stepCommand(renderApplyScript({ ...rdsRoleScript({ appName: "webapp", port: pg.port, caFile: ca, dir: roleDir() }), values: ["admin-pgpass", "database-host", "role-verifier"] }));
    const payload = () =>
        renderPayload({ "database-host": "localhost", "admin-pgpass": renderPgpass({ host: "*", port: pg.port, user: "dbadmin", password: ADMIN_PASSWORD }), "role-verifier": scramVerifier(APP_PASSWORD) });
    const runStep = (env: NodeJS.ProcessEnv = {}) => run("bash", ["-c", roleCommand()], { input: payload(), env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", ...env } });

    test("runs without superuser rights, makes the admin a member of the app role and hands the database to the role", () => {
        const res = runStep();
        expect({ status: res.status, errors: res.stderr.split("\n").filter((l) => /ERROR|FATAL/.test(l)) }).toEqual({ status: 0, errors: [] });
        expect(res.stdout).toMatch(/\[role\] role and database in place\n\[role\] result: changed\n$/);
        expect(pg.sql("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = 'webapp'")).toBe("f|f|f|f|f");
        expect(pg.sql("SELECT pg_has_role('dbadmin', 'webapp', 'MEMBER')")).toBe("t");
        expect(pg.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'webapp'")).toBe("webapp");
        // The superuser form names attributes the admin may not touch.
        const refused = psql("dbadmin", ADMIN_PASSWORD, "postgres", renderRoleSql({ database: "webapp", role: "webapp", passwordVerifier: scramVerifier(APP_PASSWORD) }));
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toMatch(/must be superuser/);
    });

    test("runs again without change; its files are root's alone, no temporary file stays, the password is on no command line", () => {
        const tmp = fs.mkdtempSync(path.join(dir, "tmp-"));
        const res = runStep({ TMPDIR: tmp });
        expect({ status: res.status, errors: res.stderr.split("\n").filter((l) => /ERROR|FATAL/.test(l)) }).toEqual({ status: 0, errors: [] });
        expect(res.stdout).toMatch(/\[role\] result: unchanged\n$/);
        expect(fs.readdirSync(tmp)).toEqual([]);
        const modes = fs.readdirSync(roleDir()).sort().map((f) => [f, (fs.statSync(path.join(roleDir(), f)).mode & 0o777).toString(8)]);
        expect(modes).toEqual([["admin.pgpass", "600"], ["pg_service.conf", "600"], ["role.sql", "600"]]);
        const command = roleCommand();
        expect(command).not.toMatch(/PGPASSWORD/);
        expect(command).not.toContain(ADMIN_PASSWORD.replace(/[\\:]/g, (c) => `\\${c}`));
        expect(command).not.toContain(scramVerifier(APP_PASSWORD));
    });

    test("the app role logs in over TLS and owns its data", () => {
        const seed = psql("webapp", APP_PASSWORD, "webapp", [
            "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL, at timestamptz DEFAULT now());",
            "INSERT INTO notes (body) SELECT md5(g::text) FROM generate_series(1, 3000) g;",
        ].join("\n"));
        expect({ status: seed.status, stderr: seed.stderr }).toEqual({ status: 0, stderr: "" });
        expect(pg.sql("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'notes'", "webapp")).toBe("webapp");
    });
});

describe("backup, restore and drill over TLS as the admin (BK-3, BK-4, BK-7, BK-8)", () => {
    let original: string;

    test("the daily backup dumps over TCP with a verified certificate and passes its own check", () => {
        original = fingerprint();
        const res = runScript("backup", ["daily"], { PGHOST: "/nonexistent", PGUSER: "nobody" });
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout).toMatch(/backup\[daily\]: wrote .*\/daily\/webapp-\d{8}T\d{6}Z\.dump \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
        const [dump] = listing(path.join(root, "daily"));
        expect(run(`${PG_BIN}/pg_restore`, ["--list", path.join(root, "daily", dump)]).stdout).toMatch(/TABLE public notes webapp/);
        // The server logged the dump's session: dbadmin on webapp, over TLS.
        expect(fs.readFileSync(path.join(pg.dir, "server.log"), "utf8")).toMatch(/connection authorized: user=dbadmin database=webapp application_name=pg_dump SSL enabled \(protocol=TLSv1\.3/);
    });

    test("restore after data loss brings back every row, owned by the app role", () => {
        pg.sql("DELETE FROM notes WHERE id % 3 = 0", "webapp");
        expect(fingerprint()).not.toBe(original);
        const dump = path.join(root, "daily", listing(path.join(root, "daily"))[0]);
        const res = runScript("restore", [dump]);
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(fingerprint()).toBe(original);
        expect(pg.sql("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'notes'", "webapp")).toBe("webapp");
        expect(pg.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'webapp'")).toBe("webapp");
        expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'webapp_before_restore_%'")).toBe("1");
        expect(fs.readFileSync(path.join(stubs, "systemctl.log"), "utf8")).toBe("stop webapp.service\nstart webapp.service\n");
    });

    test("the drill restores the newest backup into a scratch database, runs the sanity query and drops it", () => {
        const res = runScript("drill");
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout).toMatch(/restored .* into webapp_restore_drill: 1 tables\nrestore-drill: passed/);
        expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname = 'webapp_restore_drill'")).toBe("0");
        expect(runScript("stale").status).toBe(0);
    });

    test("a wrong password fails the job and leaves no file", () => {
        const bad = path.join(dir, "bad-credentials");
        fs.mkdirSync(bad, { mode: 0o700 });
        fs.writeFileSync(path.join(bad, "backup-pgpass"), renderPgpass({ host: "localhost", port: pg.port, user: "dbadmin", password: "wrong" }), { mode: 0o600 });
        const before = listing(path.join(root, "daily"));
        const res = runScript("backup", ["daily"], { CREDENTIALS_DIRECTORY: bad });
        expect(res.status).toBe(1);
        expect(res.stderr).toMatch(/password authentication failed for user "dbadmin"/);
        expect(res.stderr).toMatch(/backup\[daily\]: FAILED: pg_dump of webapp failed/);
        expect(listing(path.join(root, "daily"))).toEqual(before);
    });

    test("a server whose certificate is not signed by the configured CA is refused (verify-full)", () => {
        const other = path.join(dir, "other-ca.pem");
        const key = path.join(dir, "other-ca.key");
        expect(run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", other]).status).toBe(0);
        const script = path.join(dir, "lib", "backup-other-ca");
        fs.writeFileSync(script, renderBackupScript({ ...options, server: { ...options.server!, caFile: other } }), { mode: 0o755 });
        const res = run("bash", [script, "daily"], { env: jobEnv() });
        expect(res.status).toBe(1);
        expect(res.stderr).toMatch(/certificate verify failed/);
    });
});

describe("rendered files", () => {
    test("shellcheck passes every remote-server script", () => {
        for (const name of ["backup", "restore", "drill", "stale"]) {
            const res = run("shellcheck", ["--severity=style", scripts[name]]);
            expect({ name, findings: res.stdout }).toEqual({ name, findings: "" });
        }
    });

    test("the units run as the backup user after the network, with the pgpass credential; systemd-analyze verify accepts them", () => {
        const units = renderBackupUnits({ ...options, server: { ...options.server!, caFile: "/etc/ssl/rds/global-bundle.pem" }, offsite: { bucket: "webapp-prod-backups", prefix: "db", region: "eu-central-1" } });
        const res = verifyUnits(unitRoot(dir, units, ["backup", "restore-drill", "backup-stale-check"].map((n) => `/usr/local/lib/webapp/${n}`)), Object.keys(units));
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        const backup = units["webapp-backup@.service"];
        expect(backup).toMatch(/^Wants=network-online\.target\nAfter=network-online\.target$/m);
        expect(backup).not.toContain("postgresql.service");
        expect(backup).toMatch(/^User=webapp-backup\nGroup=webapp-backup$/m);
        expect(backup).toContain("LoadCredential=backup-pgpass:/etc/webapp/credentials/backup-pgpass");
        expect(backup).toContain("LoadCredential=backup-aws:/etc/webapp/credentials/backup-aws");
        expect(units["webapp-restore-drill.service"]).toContain("LoadCredential=backup-pgpass:/etc/webapp/credentials/backup-pgpass");
        expect(units["webapp-backup-stale-check.service"]).not.toContain("LoadCredential");
    });

    test("pgpass escapes ':' and '\\', and refuses bad server settings", () => {
        expect(renderPgpass({ host: "db.example", port: 5432, user: "dbadmin", password: "a:b\\c" })).toBe("db.example:5432:*:dbadmin:a\\:b\\\\c\n");
        expect(() => renderPgpass({ host: "h", port: 1, user: "u", password: "a\nb" })).toThrow(/line break/);
        expect(() => renderBackupScript({ ...options, server: { ...options.server!, host: "db; rm -rf /" } })).toThrow(/is not a host name/);
        expect(() => renderBackupScript({ ...options, server: { ...options.server!, caFile: "ca.pem" } })).toThrow(/caFile must be an absolute path/);
        expect(() => renderBackupScript({ ...options, engine: "sqlite", sqlitePath: "/x.db" })).toThrow(/server is for engine postgres/);
    });
});
