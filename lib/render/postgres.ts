/**
 * PostgreSQL on the server (DB-1..4, NET-2, NET-5): settings sized from the server's memory, a pg_hba that
 * allows the app only over the local socket or TLS and nothing else, and the SQL that makes the app's role and
 * database idempotently. The role's password is sent as a SCRAM-SHA-256 verifier, so the plain password never
 * reaches the server, its logs or its process list.
 */
import * as crypto from "crypto";

export type PostgresOptions = {
    /** PostgreSQL major version (Debian 12: 15). */
    version?: number;
    /** Database and role name of the app. */
    database: string;
    role: string;
    /** Server memory in MiB, for sizing. */
    memoryMiB: number;
    /** Addresses to listen on besides localhost (a private network address). Default none (NET-2). */
    listenAddresses?: string[];
    /** Client networks allowed over TLS besides loopback (e.g. the private network of the app servers). */
    privateCidrs?: string[];
    /** Port. Default 5432. */
    port?: number;
    /** Server certificate and key; default Debian's snakeoil pair made by ssl-cert. */
    ssl?: { certFile: string; keyFile: string };
};

export const pgConfDir = (version = 15) => `/etc/postgresql/${version}/main`;

/** Settings after seed 004's list, scaled to memory: shared_buffers 25 %, effective_cache_size 75 %. */
export function postgresSizing(memoryMiB: number): Record<string, string> {
    if (!Number.isInteger(memoryMiB) || memoryMiB < 512) throw new Error(`postgres sizing: memoryMiB ${memoryMiB} must be a whole number >= 512`);
    const mb = (n: number) => `${Math.max(1, Math.floor(n))}MB`;
    return {
        max_connections: String(memoryMiB >= 8192 ? 200 : 100),
        shared_buffers: mb(memoryMiB / 4),
        effective_cache_size: mb((memoryMiB * 3) / 4),
        maintenance_work_mem: mb(Math.min(memoryMiB / 16, 2048)),
        work_mem: mb(Math.max(4, memoryMiB / 4 / (memoryMiB >= 8192 ? 200 : 100))),
        wal_buffers: "16MB",
        checkpoint_completion_target: "0.9",
        default_statistics_target: "100",
        random_page_cost: "1.1",
    };
}

const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** `conf.d/60-app.conf`: listening, TLS, password hashing, logging, sizing. */
export function renderPostgresConf(o: PostgresOptions): string {
    const ssl = o.ssl ?? { certFile: "/etc/ssl/certs/ssl-cert-snakeoil.pem", keyFile: "/etc/ssl/private/ssl-cert-snakeoil.key" };
    const settings: [string, string][] = [
        ["listen_addresses", quote(["localhost", ...(o.listenAddresses ?? [])].join(","))],
        ["port", String(o.port ?? 5432)],
        ["ssl", "on"],
        ["ssl_cert_file", quote(ssl.certFile)],
        ["ssl_key_file", quote(ssl.keyFile)],
        ["ssl_min_protocol_version", quote("TLSv1.2")],
        ["password_encryption", quote("scram-sha-256")],
        ["log_connections", "on"],
        ["log_disconnections", "on"],
        ["log_line_prefix", quote("%m [%p] %q%u@%d ")],
        ["log_statement", quote("none")],
        ...Object.entries(postgresSizing(o.memoryMiB)).map(([k, v]) => [k, /^\d+(\.\d+)?$/.test(v) ? v : quote(v)] as [string, string]),
    ];
    return ["# Managed by Pulumi (DB-1, DB-2, DB-4, NET-2).", ...settings.map(([k, v]) => `${k} = ${v}`), ""].join("\n");
}

/** `pg_hba.conf`: postgres by peer, the app by socket or TLS with SCRAM, anything else rejected (no trust). */
export function renderPgHba(o: PostgresOptions): string {
    const rows = [
        ["local", "all", "postgres", "", "peer"],
        ["local", o.database, o.role, "", "scram-sha-256"],
        ["hostssl", o.database, o.role, "127.0.0.1/32", "scram-sha-256"],
        ["hostssl", o.database, o.role, "::1/128", "scram-sha-256"],
        ...(o.privateCidrs ?? []).map((c) => ["hostssl", o.database, o.role, c, "scram-sha-256"]),
    ];
    return [
        "# Managed by Pulumi (DB-2, DB-3, DB-4): only the app, only its database, only over the socket or TLS.",
        "# TYPE   DATABASE        USER            ADDRESS                 METHOD",
        ...rows.map((r) => r.map((c, i) => (i < 4 ? c.padEnd([8, 16, 16, 24][i]) : c)).join("").trimEnd()),
        "",
    ].join("\n");
}

/** A SCRAM-SHA-256 verifier in PostgreSQL's stored format. The salt derives from the password, so the same password gives the same verifier (and an unchanged step). */
export function scramVerifier(password: string, iterations = 4096): string {
    const salt = crypto.createHmac("sha256", "webapp-scram-salt").update(password).digest().subarray(0, 16);
    const salted = crypto.pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
    const clientKey = crypto.createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = crypto.createHash("sha256").update(clientKey).digest();
    const serverKey = crypto.createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * SQL for `psql -v ON_ERROR_STOP=1` as postgres: the app role (login, nothing else), its database owned by it,
 * PUBLIC's grants revoked on it and on the maintenance databases (DB-3). Idempotent.
 *
 * `adminMember`: run by a non-superuser admin (the RDS master user). It cannot name the SUPERUSER, REPLICATION
 * and BYPASSRLS attributes (PostgreSQL refuses that to non-superusers; a role it creates has none of them), and it
 * becomes a member of the app role, so that it can create the role's database, dump the app's tables and restore
 * into databases owned by the role (the backup jobs use it).
 */
export function renderRoleSql(o: { database: string; role: string; passwordVerifier: string; adminMember?: boolean }): string {
    for (const [k, v] of [["database", o.database], ["role", o.role]]) if (!IDENT.test(v)) throw new Error(`postgres: ${k} ${JSON.stringify(v)} must be a lowercase SQL identifier`);
    // A verifier, or the placeholder of one that the host fills in (lib/render/apply-script.ts `secretValue`).
    if (!/^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(o.passwordVerifier) && !/^@@secret:[a-z][a-z0-9-]*@@$/.test(o.passwordVerifier)) {
        throw new Error("postgres: the password must be given as a SCRAM-SHA-256 verifier");
    }
    return [
        `SELECT 'CREATE ROLE ${o.role} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${o.role}')\\gexec`,
        `ALTER ROLE ${o.role} WITH LOGIN ${o.adminMember ? "" : "NOSUPERUSER "}NOCREATEDB NOCREATEROLE ${o.adminMember ? "" : "NOREPLICATION NOBYPASSRLS "}INHERIT CONNECTION LIMIT 100 PASSWORD '${o.passwordVerifier}';`,
        ...(o.adminMember ? [`GRANT ${o.role} TO CURRENT_USER;`] : []),
        `SELECT 'CREATE DATABASE ${o.database} OWNER ${o.role}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${o.database}')\\gexec`,
        `ALTER DATABASE ${o.database} OWNER TO ${o.role};`,
        `REVOKE ALL ON DATABASE ${o.database} FROM PUBLIC;`,
        "REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;",
        "REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;",
        `\\connect ${o.database}`,
        `ALTER SCHEMA public OWNER TO ${o.role};`,
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
        "",
    ].join("\n");
}

/** Amazon's CA bundle for RDS (every region), and where the app servers keep it. */
export const rdsCaBundle = { url: "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem", path: "/etc/ssl/rds/global-bundle.pem" };

/**
 * Apply-script lines that download a CA bundle over HTTPS, refuse it unless it is a non-empty list of
 * certificates that all parse, and install it (changed only when its content changed). Nothing is installed on
 * any failure; an installed bundle stays as it was.
 */
export function caBundleLines(url: string, dest: string): string[] {
    if (!/^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/[A-Za-z0-9._/-]+$/.test(url)) throw new Error(`ca bundle: ${JSON.stringify(url)} is not an https URL`);
    if (!/^\/[A-Za-z0-9._/-]+$/.test(dest)) throw new Error(`ca bundle: ${JSON.stringify(dest)} is not an absolute path`);
    return [
        'bundle=$(mktemp)',
        `if ! curl -fsS --proto '=https' --tlsv1.2 --retry 3 --max-time 60 -o "$bundle" '${url}'; then rm -f "$bundle"; log "cannot download ${url}"; exit 1; fi`,
        `if ! grep -q -- '-----BEGIN CERTIFICATE-----' "$bundle" || ! openssl crl2pkcs7 -nocrl -certfile "$bundle" -out /dev/null 2>/dev/null; then rm -f "$bundle"; log "${url} is not a certificate bundle"; exit 1; fi`,
        `base64 < "$bundle" | install_file '${dest}' 0644 root:root`,
        'rm -f "$bundle"',
    ];
}
