/**
 * A real PostgreSQL 15 for tests: a fresh cluster owned by the postgres user in a temporary directory,
 * listening on loopback only, with the rendered postgresql.conf settings and pg_hba.conf.
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const PG_BIN = "/usr/lib/postgresql/15/bin";

export type RunningPostgres = {
    dir: string;
    port: number;
    socketDir: string;
    /** Runs a command as the postgres user with libpq pointed at this server. */
    asPostgres: (cmd: string[], opts?: { input?: string; env?: Record<string, string> }) => SpawnSyncReturns<string>;
    /** psql as postgres over the socket; returns trimmed stdout, throws with stderr on failure. */
    sql: (query: string, database?: string) => string;
    stop: () => void;
    start: () => void;
};

function asUser(user: string, cmd: string[], env: Record<string, string>, input?: string): SpawnSyncReturns<string> {
    return spawnSync("runuser", ["-u", user, "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...cmd], { encoding: "utf8", input });
}

export function startPostgres(dir: string, files: { conf: string; hba: string }, port: number): RunningPostgres {
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o755);
    const data = path.join(dir, "data");
    const socketDir = path.join(dir, "socket");
    fs.mkdirSync(socketDir);
    spawnSync("chown", ["-R", "postgres:postgres", dir]);
    const env = { PATH: `${PG_BIN}:/usr/bin:/bin`, PGHOST: socketDir, PGPORT: String(port), LC_ALL: "C.UTF-8" };
    const init = asUser("postgres", ["initdb", "-D", data, "--auth=peer", "--username=postgres", "--encoding=UTF8"], env);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    // The server's certificate, as Debian's ssl-cert would provide.
    const cert = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
        "-keyout", path.join(data, "server.key"), "-out", path.join(data, "server.crt")], { encoding: "utf8" });
    if (cert.status !== 0) throw new Error(`openssl failed: ${cert.stderr}`);
    const rendered = files.conf
        .replace(/^ssl_cert_file = .*$/m, `ssl_cert_file = '${path.join(data, "server.crt")}'`)
        .replace(/^ssl_key_file = .*$/m, `ssl_key_file = '${path.join(data, "server.key")}'`)
        .replace(/^port = .*$/m, `port = ${port}`);
    fs.writeFileSync(path.join(data, "60-webapp.conf"), rendered);
    fs.appendFileSync(path.join(data, "postgresql.conf"), `\ninclude = '60-webapp.conf'\nunix_socket_directories = '${socketDir}'\n`);
    fs.writeFileSync(path.join(data, "pg_hba.conf"), files.hba);
    spawnSync("chown", ["-R", "postgres:postgres", dir]);
    fs.chmodSync(path.join(data, "server.key"), 0o600);
    const start = () => {
        const res = asUser("postgres", ["pg_ctl", "-D", data, "-l", path.join(dir, "server.log"), "-w", "-t", "30", "start"], env);
        if (res.status !== 0) throw new Error(`pg_ctl start failed: ${res.stderr}\n${fs.readFileSync(path.join(dir, "server.log"), "utf8")}`);
    };
    const stop = () => {
        asUser("postgres", ["pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], env);
    };
    start();
    const asPostgres = (cmd: string[], opts: { input?: string; env?: Record<string, string> } = {}) => asUser("postgres", cmd, { ...env, ...(opts.env ?? {}) }, opts.input);
    const sql = (query: string, database = "postgres") => {
        const res = asPostgres(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "--dbname", database, "-c", query]);
        if (res.status !== 0) throw new Error(`psql failed: ${res.stderr}`);
        return res.stdout.trim();
    };
    return { dir, port, socketDir, asPostgres, sql, stop, start };
}
