/**
 * DB-3 reads the role SQL for the attributes, memberships and PUBLIC grants it leaves. This test holds that
 * reading against a real PostgreSQL 15 on loopback: the rendered role SQL plus one form of change runs as the
 * local postgres, the catalogs say whether the app role ends up privileged, and the policy must agree.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderPgHba, renderPostgresConf, renderRoleSql, scramVerifier } from "../lib/render/postgres";
import { roleSqlProblems } from "../policies/data";
import { freePort } from "./support/nginx";
import { RunningPostgres, startPostgres } from "./support/postgres";

const options = { database: "webapp", role: "webapp", memoryMiB: 1024 };
const base = renderRoleSql({ ...options, passwordVerifier: scramVerifier("Kx7-pQ2_vN9.mR4~tY6-wB1_zL8.cF3~") });
let pg: RunningPostgres;
let dir: string;

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "db-forms-"));
    pg = startPostgres(dir, { conf: renderPostgresConf(options), hba: renderPgHba(options) }, await freePort());
});
afterAll(() => {
    pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
});

/** Whether the catalogs show the app role privileged, or PUBLIC with grants on its database or public schema. */
function privileged(): boolean {
    const attrs = pg.sql("SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = 'webapp'");
    const members = pg.sql(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member " +
            "WHERE u.rolname = 'webapp' AND r.rolname IN ('postgres', 'pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_read_all_data', 'pg_write_all_data')",
    );
    // An ACL entry for PUBLIC starts with "=" (no grantee name); a NULL ACL is the default, which grants PUBLIC CONNECT and TEMPORARY.
    const publicDb = pg.sql("SELECT datacl IS NULL OR datacl::text ~ '[{,]=' FROM pg_database WHERE datname = 'webapp'");
    const publicSchema = pg.sql("SELECT nspacl IS NULL OR nspacl::text ~ '[{,]=' FROM pg_namespace WHERE nspname = 'public'", "webapp");
    return attrs === "t" || members !== "0" || publicDb === "t" || publicSchema === "t";
}

const cases: [string, string][] = [
    ["the rendered SQL", ""],
    ["a later ALTER ROLE gives SUPERUSER back", "ALTER ROLE webapp SUPERUSER;"],
    ["lower-case SQL with ALTER USER", "alter user webapp createrole;"],
    ["a multi-line statement", "ALTER ROLE webapp\n  WITH\n  BYPASSRLS;"],
    ["membership of postgres", "GRANT postgres TO webapp;"],
    ["membership of pg_write_server_files", "grant pg_write_server_files to webapp;"],
    ["CONNECT granted to PUBLIC again", "grant connect on database webapp to public;"],
    ["a commented-out grant", "-- ALTER ROLE webapp SUPERUSER;\n/* GRANT postgres TO webapp; */"],
    ["SUPERUSER taken back by a later statement", "ALTER ROLE webapp SUPERUSER;\nALTER ROLE webapp NOSUPERUSER;"],
];

test.each(cases)("%s: the policy and the catalogs agree", (_name, extra) => {
    pg.sql("DROP DATABASE IF EXISTS webapp");
    pg.sql("DROP ROLE IF EXISTS webapp");
    const res = pg.asPostgres(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname=postgres"], { input: `${base}\n\\connect postgres\n${extra}\n` });
    expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
    expect(roleSqlProblems(`${base}\n${extra}\n`, false).length > 0).toBe(privileged());
});
