/**
 * The rendered PostgreSQL configuration and role SQL in a real PostgreSQL 15 on loopback (DB-1..4, NET-2).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { postgresSizing, renderPgHba, renderPostgresConf, renderRoleSql, scramVerifier } from "../lib/render/postgres";
import { run } from "./helpers";
import { freePort } from "./support/nginx";
import { PG_BIN, RunningPostgres, startPostgres } from "./support/postgres";

const PASSWORD = "Kx7-pQ2_vN9.mR4~tY6-wB1_zL8.cF3~";
const options = { database: "webapp", role: "webapp", memoryMiB: 2048 };
let pg: RunningPostgres;
let dir: string;

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pg-"));
    pg = startPostgres(dir, { conf: renderPostgresConf(options), hba: renderPgHba(options) }, await freePort());
    const res = pg.asPostgres(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname=postgres"], { input: renderRoleSql({ ...options, passwordVerifier: scramVerifier(PASSWORD) }) });
    expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
});
afterAll(() => {
    pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
});

/** psql as the app role over TCP to 127.0.0.1. */
function appPsql(query: string, opts: { sslmode?: string; database?: string; password?: string; host?: string } = {}) {
    return run(`${PG_BIN}/psql`, ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", query], {
        env: {
            PATH: process.env.PATH ?? "",
            PGHOST: opts.host ?? "127.0.0.1",
            PGPORT: String(pg.port),
            PGUSER: "webapp",
            PGDATABASE: opts.database ?? "webapp",
            PGPASSWORD: opts.password ?? PASSWORD,
            PGSSLMODE: opts.sslmode ?? "require",
            PGCONNECT_TIMEOUT: "5",
        },
    });
}

describe("postgresql.conf settings are loaded by the server", () => {
    test("TLS on, SCRAM hashing, loopback only, sized for 2 GiB", () => {
        const show = (k: string) => pg.sql(`SHOW ${k}`);
        expect(show("ssl")).toBe("on");
        expect(show("password_encryption")).toBe("scram-sha-256");
        expect(show("listen_addresses")).toBe("localhost");
        expect(show("ssl_min_protocol_version")).toBe("TLSv1.2");
        expect(show("shared_buffers")).toBe("512MB");
        expect(show("effective_cache_size")).toBe("1536MB");
        expect(pg.sql("SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL")).toBe("0");
    });

    test("sizing follows memory", () => {
        expect(postgresSizing(8192)).toMatchObject({ max_connections: "200", shared_buffers: "2048MB", effective_cache_size: "6144MB" });
        expect(() => postgresSizing(256)).toThrow(/must be a whole number >= 512/);
    });
});

describe("pg_hba.conf (DB-2, DB-4)", () => {
    test("parses without errors and has no trust rule", () => {
        expect(pg.sql("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")).toBe("0");
        expect(pg.sql("SELECT string_agg(DISTINCT auth_method, ',' ORDER BY auth_method) FROM pg_hba_file_rules")).toBe("peer,scram-sha-256");
    });

    test("the app connects over TLS with its password", () => {
        const res = appPsql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout.trim()).toBe("t");
    });

    test("the app connects over the local socket with its password", () => {
        const res = appPsql("SELECT current_user", { host: pg.socketDir, sslmode: "disable" });
        expect(res.stdout.trim()).toBe("webapp");
    });

    test("a connection without TLS is refused", () => {
        const res = appPsql("SELECT 1", { sslmode: "disable" });
        expect(res.status).not.toBe(0);
        expect(res.stderr).toMatch(/no pg_hba\.conf entry for host "127\.0\.0\.1", user "webapp", database "webapp", no encryption/);
    });

    test("a wrong password is refused", () => {
        const res = appPsql("SELECT 1", { password: "wrong-password-wrong-password-xx" });
        expect(res.stderr).toMatch(/password authentication failed for user "webapp"/);
    });

    test("postgres cannot log in over TCP at all", () => {
        const res = run(`${PG_BIN}/psql`, ["-X", "-c", "SELECT 1"], { env: { PATH: process.env.PATH ?? "", PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGUSER: "postgres", PGDATABASE: "postgres", PGSSLMODE: "require", PGPASSWORD: "x" } });
        expect(res.stderr).toMatch(/no pg_hba\.conf entry for host "127\.0\.0\.1", user "postgres"/);
    });
});

describe("the app role (DB-3)", () => {
    test("is not a superuser and cannot create roles or databases", () => {
        expect(pg.sql("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = 'webapp'")).toBe("f|f|f|f|f");
        expect(appPsql("CREATE ROLE intruder").stderr).toMatch(/permission denied to create role/);
        expect(appPsql("CREATE DATABASE other").stderr).toMatch(/permission denied to create database/);
    });

    test("owns its database and the public schema, which PUBLIC cannot use", () => {
        expect(pg.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'webapp'")).toBe("webapp");
        expect(pg.sql("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'", "webapp")).toBe("webapp");
        expect(pg.sql("SELECT has_database_privilege('public', 'webapp', 'CONNECT')")).toBe("f");
        expect(appPsql("CREATE TABLE t (id int); DROP TABLE t; SELECT 'ok'").stdout.trim().split("\n").pop()).toBe("ok");
    });

    test("cannot reach another database", () => {
        pg.sql("CREATE DATABASE other");
        pg.sql("REVOKE ALL ON DATABASE other FROM PUBLIC");
        const res = appPsql("SELECT 1", { database: "other", host: pg.socketDir, sslmode: "disable" });
        expect(res.status).not.toBe(0);
        expect(res.stderr).toMatch(/no pg_hba\.conf entry .* database "other"|permission denied for database "other"/);
    });

    test("the role SQL runs again without changing anything, and logs no plain password", () => {
        const res = pg.asPostgres(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname=postgres"], { input: renderRoleSql({ ...options, passwordVerifier: scramVerifier(PASSWORD) }) });
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
        expect(pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'webapp'")).toBe(scramVerifier(PASSWORD));
        expect(fs.readFileSync(path.join(dir, "server.log"), "utf8")).not.toContain(PASSWORD);
    });

    test("identifiers and verifiers are checked before any SQL is rendered", () => {
        expect(() => renderRoleSql({ database: "web-app", role: "webapp", passwordVerifier: scramVerifier("x") })).toThrow(/database "web-app" must be a lowercase SQL identifier/);
        expect(() => renderRoleSql({ database: "webapp", role: "webapp", passwordVerifier: "plain" })).toThrow(/SCRAM-SHA-256 verifier/);
    });
});
