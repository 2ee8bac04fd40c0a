/**
 * DB-3, BK-3 and BK-4 read SQL, shell options and pg_dump flags. These tests hold that reading against the real
 * tools: a PostgreSQL 15 on loopback runs the rendered role SQL plus one form of change as the local postgres and
 * its catalogs say whether the app role ends up privileged; pg_dump writes a dump with each flag set and the dump
 * says whether it is compressed; bash reports the options a script's `set` lines leave.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderPgHba, renderPostgresConf, renderRoleSql, scramVerifier } from "../lib/render/postgres";
import { pgDumpCompresses, roleSqlProblems, shellOptions } from "../policies/data";
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

describe("BK-4: the policy knows which pg_dump command lines compress, as pg_dump does", () => {
    const lines: string[] = [
        "pg_dump --format=custom --compress=6",
        "pg_dump --format=custom -Z0",
        "pg_dump --format=custom -Z 0",
        "pg_dump -Fc",
        "pg_dump --format=plain",
        "pg_dump -Fp -Z 9",
        "pg_dump -Fd",
        "pg_dump -Fd --compress=0",
    ];
    // Some table data, so that the directory format writes a data file.
    beforeAll(() => pg.sql("CREATE TABLE IF NOT EXISTS dump_probe (x int); INSERT INTO dump_probe VALUES (1)"));

    test.each(lines)("%s", (line) => {
        const out = path.join(dir, `dump-${lines.indexOf(line)}`);
        const res = pg.asPostgres([...line.split(" "), "--dbname=postgres", `--file=${out}`]);
        expect(res.stderr).toBe("");
        let compressed: boolean;
        if (fs.statSync(out).isDirectory()) compressed = fs.readdirSync(out).some((f) => f.endsWith(".dat.gz"));
        else if (fs.readFileSync(out).subarray(0, 5).toString() === "PGDMP") compressed = !/^;\s+Compression: 0$/m.test(pg.asPostgres(["pg_restore", "--list", out]).stdout);
        else compressed = fs.readFileSync(out).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]));
        expect(pgDumpCompresses(line)).toBe(compressed);
    });
});

describe("BK-3: the policy reads a script's shell options as bash sets them", () => {
    const headers = ["#!/bin/bash\nset -euo pipefail", "#!/bin/bash\nset -euo pipefail\nset +e", "#!/bin/bash\nset -e -u -o pipefail", "#!/bin/bash\nset -o errexit -o nounset -o pipefail", "#!/bin/bash\nset -e\nset -o pipefail\nset +o pipefail", "#!/bin/bash -e\nset -u"];
    test.each(headers)("%s", (header) => {
        const res = spawnSync("bash", ["-c", `${header.split("\n").slice(1).join("\n")}\necho "$-"\nshopt -qo pipefail && echo pipefail || echo none`], { encoding: "utf8" });
        const [flags, pipefail] = res.stdout.trim().split("\n");
        // bash -c does not read the shebang; its -e is what `bash -e script` would set.
        const shebangE = /^#!\S+ -\w*e/.test(header);
        expect(shellOptions(header)).toEqual({ errexit: flags.includes("e") || shebangE, nounset: flags.includes("u"), pipefail: pipefail === "pipefail" });
    });
});
