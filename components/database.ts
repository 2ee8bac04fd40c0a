/**
 * Database: the app's PostgreSQL, either on its server (configured by remote steps) or on AWS RDS, or the path
 * of its SQLite file (seed 000). DB-1..5, NET-2.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, enableNow, lateValue, secretValue } from "../lib/render/apply-script";
import { caBundleLines, pgConfDir, rdsCaBundle, renderPgHba, renderPostgresConf, renderRoleSql, scramVerifier } from "../lib/render/postgres";
import { renderPgpass } from "../lib/render/backup";
import { renderPrivateAddressDropIn } from "../lib/render/systemd";
import { aptInstall } from "./host-hardening";
import { remoteStep } from "./remote-step";
import type { SshConnection } from "./vps";

export interface DatabaseArgs {
    /** `self-hosted` (default), `rds` or `sqlite`. */
    engine?: "self-hosted" | "rds" | "sqlite";
    /** App name; the database and role are named after it (`-` becomes `_`). Required. */
    appName: string;
    /** The app role's password (self-hosted, rds). Required for those engines. */
    password?: pulumi.Input<string>;
    /** The server that runs PostgreSQL (self-hosted) or the role SQL against RDS (rds). Required for those engines. */
    connection?: pulumi.Input<SshConnection>;
    /** The app servers, which get the RDS CA bundle to verify the database's certificate (engine rds). Default `[connection]`. */
    appConnections?: pulumi.Input<SshConnection>[];
    /** Server memory for sizing (self-hosted). Default 4096. */
    memoryMiB?: number;
    /**
     * Self-hosted on a server of its own: PostgreSQL also listens on `listenAddress` (the private network) and lets
     * the app role in from `clients` (the app servers' private addresses) over TLS only. Default: none, the app
     * connects over the local socket.
     */
    privateNetwork?: { listenAddress: string; clients: readonly string[] };
    /** RDS settings (engine rds). */
    rds?: {
        /** Default `db.t4g.small`. */
        instanceClass?: string;
        /** GB. Default 20. */
        allocatedStorageGb?: number;
        /** Days (DB-5: >= 7). Default 7. */
        backupRetentionDays?: number;
        /** Security group of the app servers, the only one allowed to reach 5432 (NET-2). */
        appSecurityGroupId: pulumi.Input<string>;
        /**
         * The VPC and its subnets in two zones (an AWS fleet's, components/fleet-vpc.ts). Default: the default VPC and
         * its default subnets.
         */
        network?: { vpcId: pulumi.Input<string>; subnetIds: pulumi.Input<string>[] };
        /** Master password (a secret). */
        adminPassword: pulumi.Input<string>;
    };
    /** Protect the RDS instance and turn on its deletion protection (PROT-1, DB-5). Default false. */
    protect?: boolean;
    /** Tags for AWS resources. Default none. */
    tags?: Record<string, string>;
}

export const dbIdentifier = (appName: string) => appName.replace(/-/g, "_");

/** The RDS master user: it runs the role SQL and the backup jobs (a member of the app role, not a superuser). */
export const rdsAdminUser = "dbadmin";

/** The step that puts Amazon's RDS CA bundle on an app server. Pure. */
export function rdsCaScript(): ApplyScript {
    return { name: "rds-ca", prepare: [...aptInstall(["curl", "ca-certificates", "openssl"]), ...caBundleLines(rdsCaBundle.url, rdsCaBundle.path)], files: [] };
}

/** The self-hosted server step: packages, settings and pg_hba, checked by the running server before a reload. */
export function postgresServerScript(a: { appName: string; memoryMiB: number; privateNetwork?: DatabaseArgs["privateNetwork"] }): ApplyScript {
    const name = dbIdentifier(a.appName);
    const net = a.privateNetwork;
    const opts = { database: name, role: name, memoryMiB: a.memoryMiB, listenAddresses: net && [net.listenAddress], privateCidrs: net?.clients.map((c) => `${c}/32`) };
    const psql = (q: string) => `runuser -u postgres -- psql -X -At -c ${JSON.stringify(q)}`;
    return {
        name: "postgresql",
        prepare: aptInstall(["postgresql", "ssl-cert"]),
        files: [
            { path: `${pgConfDir()}/conf.d/60-${a.appName}.conf`, content: renderPostgresConf(opts), owner: "postgres:postgres" },
            { path: `${pgConfDir()}/pg_hba.conf`, content: renderPgHba(opts), mode: "0640", owner: "postgres:postgres" },
            // The private address must be up before the server binds it, after a reboot too.
            ...(net ? [{ path: PRIVATE_NETWORK_DROPIN, content: renderPrivateAddressDropIn("PostgreSQL", net.listenAddress) }] : []),
        ],
        // The server parses the files on disk in these views, before anything is reloaded. A setting that needs a
        // restart shows as "could not be applied" there; that is not an error of the file.
        validate: [
            `[ "$(${psql("SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'")})" = 0 ]`,
            `[ "$(${psql("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")})" = 0 ]`,
        ],
        activate: [
            ...(net ? ["systemctl daemon-reload"] : []),
            "systemctl reload postgresql",
            `if [ "$(${psql("SELECT count(*) FROM pg_settings WHERE pending_restart")})" != 0 ]; then systemctl restart postgresql; log "restarted postgresql"; fi`,
        ],
        ensure: [enableNow(["postgresql"])],
    };
}

/** The drop-in that orders PostgreSQL after the network when it listens on a private address. */
export const PRIVATE_NETWORK_DROPIN = "/etc/systemd/system/postgresql@.service.d/10-private-network.conf";

/** Where the role step keeps its SQL (and, for RDS, how it reaches the instance): root only. */
export const roleDir = (appName: string) => `/etc/${appName}/database`;

/**
 * The role step: role, database and grants, run every time (the SQL is idempotent). The SQL is a root-only file
 * whose password is a SCRAM verifier filled in on the host from the step's secret `role-verifier`
 * (`roleSecrets`), so the plain password never reaches the host or the server log. Pure.
 */
export function postgresRoleScript(a: { appName: string; psql: string; adminMember?: boolean; dir?: string }): ApplyScript {
    const name = dbIdentifier(a.appName);
    const sql = `${a.dir ?? roleDir(a.appName)}/role.sql`;
    return {
        name: "role",
        files: [{ path: sql, content: renderRoleSql({ database: name, role: name, passwordVerifier: secretValue("role-verifier"), adminMember: a.adminMember }), mode: "0600" }],
        ensure: [`${a.psql} < ${sql}`, 'log "role and database in place"'],
    };
}

/** The secrets of the role step: the app role's password as a SCRAM verifier. */
export const roleSecrets = (password: pulumi.Input<string>) => ({ "role-verifier": pulumi.output(password).apply((p) => scramVerifier(p)) });

/**
 * The role step against RDS, run on an app server: psql as the master user over TLS verified against the CA
 * bundle. The instance's address (known only once it exists) is the late value `database-host` in a root-only
 * pg_service file; the master password is the secret `admin-pgpass`, a pgpass line (`rdsAdminPgpass`) in a
 * root-only file, never in the environment or a command line. `dir` (default `roleDir`) is where its files go.
 * Pure.
 */
export function rdsRoleScript(a: { appName: string; port?: number; caFile?: string; dir?: string }): ApplyScript {
    const dir = a.dir ?? roleDir(a.appName);
    const role = postgresRoleScript({
        appName: a.appName,
        dir,
        adminMember: true,
        psql: `PGSERVICEFILE=${dir}/pg_service.conf PGPASSFILE=${dir}/admin.pgpass psql -X -q -v ON_ERROR_STOP=1 service=rds-admin`,
    });
    const service = ["[rds-admin]", `host=${lateValue("database-host")}`, `port=${a.port ?? 5432}`, "dbname=postgres", `user=${rdsAdminUser}`, "sslmode=verify-full", `sslrootcert=${a.caFile ?? rdsCaBundle.path}`, ""].join("\n");
    return {
        ...role,
        prepare: aptInstall(["postgresql-client"]),
        files: [
            { path: `${dir}/pg_service.conf`, content: service, mode: "0600" },
            { path: `${dir}/admin.pgpass`, content: secretValue("admin-pgpass"), mode: "0600" },
            ...role.files,
        ],
    };
}

/** The secret of the RDS role step: a pgpass line for the master user, any host (the service file names it). */
export const rdsAdminPgpass = (adminPassword: pulumi.Input<string>, port = 5432) =>
    pulumi.output(adminPassword).apply((password) => renderPgpass({ host: "*", port, user: rdsAdminUser, password }));

export class Database extends pulumi.ComponentResource {
    /** Environment the app connects with (no secrets: the password is a credential). */
    public readonly environment: pulumi.Output<Record<string, string>>;
    /** Steps that must finish before the app starts. */
    public readonly steps: pulumi.Resource[];
    /** RDS endpoint address (engine rds). */
    public readonly address?: pulumi.Output<string>;
    /** Late values the environment names (`lateValue` placeholders), for the steps that write it. Empty unless rds. */
    public readonly values: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        const engine = args.engine ?? "self-hosted";
        if (engine !== "sqlite" && (!args.password || !args.connection)) throw new Error(`Database ${name}: engine ${engine} needs password and connection`);
        if (engine === "rds" && !args.rds) throw new Error(`Database ${name}: engine rds needs rds settings`);
        if (engine === "rds" && (args.rds!.backupRetentionDays ?? 7) < 7) throw new Error(`Database ${name}: rds.backupRetentionDays must be >= 7 (DB-5)`);
        super("webapp:database:Database", name, args, opts);
        const db = dbIdentifier(args.appName);
        this.steps = [];

        if (engine === "sqlite") {
            this.environment = pulumi.output<Record<string, string>>({ DATABASE_ENGINE: "sqlite", SQLITE_PATH: `/var/lib/${args.appName}/${args.appName}.db` });
        } else if (engine === "self-hosted") {
            const script = postgresServerScript({ appName: args.appName, memoryMiB: args.memoryMiB ?? 4096, privateNetwork: args.privateNetwork });
            const server = remoteStep(`${name}-postgresql`, { connection: args.connection!, script }, { parent: this, dependsOn: opts?.dependsOn });
            const role = remoteStep(
                `${name}-role`,
                { connection: args.connection!, script: postgresRoleScript({ appName: args.appName, psql: "runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres" }), secrets: roleSecrets(args.password!) },
                { parent: this, dependsOn: [server] },
            );
            this.steps = [server, role];
            // On its own server the app reaches it over the private network, TLS required (pg_hba allows hostssl only);
            // the server's certificate is Debian's self-signed one, so the app cannot verify it by a CA.
            this.environment = pulumi.output<Record<string, string>>(
                args.privateNetwork
                    ? { DATABASE_ENGINE: "postgresql", DATABASE_HOST: args.privateNetwork.listenAddress, DATABASE_PORT: "5432", DATABASE_NAME: db, DATABASE_USER: db, DATABASE_SSLMODE: "require", PGSSLMODE: "require" }
                    : { DATABASE_ENGINE: "postgresql", DATABASE_HOST: "/var/run/postgresql", DATABASE_PORT: "5432", DATABASE_NAME: db, DATABASE_USER: db, DATABASE_SSLMODE: "disable" },
            );
        } else {
            const r = args.rds!;
            const protect = args.protect ?? false;
            const subnetIds = r.network ? pulumi.output(r.network.subnetIds) : aws.ec2.getSubnetsOutput({ filters: [{ name: "default-for-az", values: ["true"] }] }, { parent: this }).ids;
            // Named, not left to the provider: the instance then refers to known names at the first preview, and the pack
            // can match its parameter group (DB-2) before anything exists.
            const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, { name: `${args.appName}-db`, subnetIds, tags: args.tags }, { parent: this });
            const securityGroup = new aws.ec2.SecurityGroup(
                `${name}-security-group`,
                {
                    vpcId: r.network?.vpcId,
                    description: "PostgreSQL from the app servers only",
                    ingress: [{ description: "PostgreSQL from the app servers", protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: [r.appSecurityGroupId] }],
                    egress: [],
                    tags: args.tags,
                },
                { parent: this },
            );
            const parameters = new aws.rds.ParameterGroup(
                `${name}-parameters`,
                { name: `${args.appName}-postgres16`, family: "postgres16", description: "TLS only, SCRAM passwords", parameters: [{ name: "rds.force_ssl", value: "1" }, { name: "password_encryption", value: "scram-sha-256" }], tags: args.tags },
                { parent: this },
            );
            const instance = new aws.rds.Instance(
                `${name}-instance`,
                {
                    identifier: args.appName,
                    engine: "postgres",
                    engineVersion: "16",
                    instanceClass: r.instanceClass ?? "db.t4g.small",
                    allocatedStorage: r.allocatedStorageGb ?? 20,
                    storageType: "gp3",
                    storageEncrypted: true,
                    publiclyAccessible: false,
                    dbSubnetGroupName: `${args.appName}-db`,
                    vpcSecurityGroupIds: [securityGroup.id],
                    parameterGroupName: `${args.appName}-postgres16`,
                    backupRetentionPeriod: r.backupRetentionDays ?? 7,
                    deletionProtection: protect,
                    autoMinorVersionUpgrade: true,
                    copyTagsToSnapshot: true,
                    skipFinalSnapshot: !protect,
                    finalSnapshotIdentifier: protect ? `${args.appName}-final` : undefined,
                    dbName: db,
                    username: rdsAdminUser,
                    password: r.adminPassword,
                    applyImmediately: !protect,
                    tags: args.tags,
                },
                { parent: this, protect, dependsOn: [subnetGroup, parameters] },
            );
            this.address = instance.address;
            const outer = Array.isArray(opts?.dependsOn) ? (opts!.dependsOn as pulumi.Resource[]) : [];
            const caScript = rdsCaScript();
            const ca = (args.appConnections ?? [args.connection!]).map((connection, i) =>
                remoteStep(`${name}-rds-ca-${i}`, { connection, script: caScript }, { parent: this, dependsOn: outer }),
            );
            const role = remoteStep(
                `${name}-role`,
                {
                    connection: args.connection!,
                    script: rdsRoleScript({ appName: args.appName }),
                    values: { "database-host": instance.address },
                    secrets: { ...roleSecrets(args.password!), "admin-pgpass": rdsAdminPgpass(r.adminPassword) },
                },
                { parent: this, dependsOn: [instance, ca[0], ...outer] },
            );
            this.steps = [instance, ...ca, role];
            this.values = { "database-host": instance.address };
            this.environment = pulumi.output<Record<string, string>>({
                DATABASE_ENGINE: "postgresql",
                DATABASE_HOST: lateValue("database-host"),
                DATABASE_PORT: "5432",
                DATABASE_NAME: db,
                DATABASE_USER: db,
                DATABASE_SSLMODE: "verify-full",
                DATABASE_SSLROOTCERT: rdsCaBundle.path,
                // libpq-based drivers read these directly.
                PGSSLMODE: "verify-full",
                PGSSLROOTCERT: rdsCaBundle.path,
            });
        }
        this.registerOutputs({ environment: this.environment });
    }
}
