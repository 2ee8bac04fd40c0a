/**
 * Database, backups and the off-site bucket in the real program under mocks: the S3 protections (BK-6), RDS
 * (DB-5, NET-2), the backup step's wiring, and each engine's shape.
 */
import type { PlanRun } from "../plan/run";
import { isSecret, ofType, resource, runIsolated, runStack, stepFiles, stepScript, strings, unwrapSecrets } from "./helpers";

let prod: PlanRun;
let staging: PlanRun;
beforeAll(async () => {
    prod = await runStack("prod");
    staging = await runStack("staging");
});

/** The files a step writes, with its values filled in as the host does. */
const filesOf = (run: PlanRun, name: string) => Object.fromEntries(stepFiles(resource(run, name)).map((f) => [f.path, f.content]));

describe("off-site bucket (BK-5, BK-6)", () => {
    test("all public access blocked, encrypted, versioned, owner-enforced, protected", () => {
        expect(resource(prod, "offsite-bucket")).toMatchObject({ protect: true, inputs: expect.objectContaining({ bucket: "webapp-prod-backups", forceDestroy: false }) });
        expect(resource(prod, "offsite-public-access-block").inputs).toMatchObject({ bucket: "webapp-prod-backups", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        expect(resource(prod, "offsite-encryption").inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]);
        expect(resource(prod, "offsite-versioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
        expect(resource(prod, "offsite-ownership").inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    });

    test("the bucket policy refuses every request without TLS", () => {
        const policy = JSON.parse(String(resource(prod, "offsite-tls-only").inputs.policy));
        expect(policy.Statement).toEqual([
            { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::webapp-prod-backups", "arn:aws:s3:::webapp-prod-backups/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ]);
    });

    test("lifecycle expiry matches the stack's retention per tier", () => {
        const rules = resource(prod, "offsite-lifecycle").inputs.rules as { id: string; filter: { prefix: string }; expiration: { days: number }; status: string }[];
        expect(rules.map((r) => [r.id, r.filter.prefix, r.expiration.days, r.status])).toEqual([
            ["expire-daily", "backups/daily/", 35, "Enabled"],
            ["expire-weekly", "backups/weekly/", 120, "Enabled"],
            ["expire-uploads", "backups/uploads/", 14, "Enabled"],
        ]);
    });

    test("the writer may only put objects under the backup prefix", () => {
        const policy = JSON.parse(String(resource(prod, "offsite-writer-policy").inputs.policy));
        expect(policy.Statement).toEqual([{ Sid: "PutBackupsOnly", Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::webapp-prod-backups/backups/*"] }]);
    });

    test("its key reaches the host only inside the secret credentials step", () => {
        const step = resource(prod, "backups-credentials");
        expect(isSecret(step.inputs.stdin)).toBe(true);
        const [file] = stepFiles(step);
        expect(stepScript(step)).not.toContain("aws_secret_access_key");
        const keyId = resource(prod, "offsite-writer-key").id;
        expect(file).toMatchObject({ path: "/etc/webapp/credentials/backup-aws", mode: "0600", owner: "root:root" });
        expect(file.content).toMatch(new RegExp(`^\\[default\\]\\naws_access_key_id = ${keyId}\\naws_secret_access_key = \\S{40}\\n$`));
    });

    test("the backup job copies to that bucket and region", () => {
        const backup = filesOf(prod, "backups-timers")["/usr/local/lib/webapp/backup"];
        expect(backup).toContain('dest="s3://webapp-prod-backups/backups/$tier"');
        expect(backup).toContain("aws --region 'eu-central-1'");
        expect(filesOf(prod, "backups-timers")["/etc/systemd/system/webapp-backup@.service"]).toContain("LoadCredential=backup-aws:");
    });

    test("staging copies nothing off-site and creates nothing on AWS", () => {
        expect(staging.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
        expect(filesOf(staging, "backups-timers")["/usr/local/lib/webapp/backup"]).not.toContain("s3://");
    });
});

describe("self-hosted PostgreSQL", () => {
    test("settings sized from the server type, the role step secret, the app pointed at the local socket", () => {
        expect(filesOf(prod, "database-postgresql")["/etc/postgresql/15/main/conf.d/60-webapp.conf"]).toContain("shared_buffers = '2048MB'"); // cpx32: 8 GiB
        expect(filesOf(staging, "database-postgresql")["/etc/postgresql/15/main/conf.d/60-webapp.conf"]).toContain("shared_buffers = '1024MB'"); // cx23: 4 GiB
        expect(isSecret(resource(prod, "database-role").inputs.stdin)).toBe(true);
        const unit = filesOf(prod, "service-0-service")["/etc/systemd/system/webapp.service"];
        expect(unit).toContain('Environment="DATABASE_HOST=/var/run/postgresql"');
        expect(unit).toContain("After=network-online.target postgresql.service");
    });

    test("the database step runs after the host is hardened, the app after the database", () => {
        expect(resource(prod, "database-postgresql").dependencies).toContain(resource(prod, "host-0-monitoring").urn);
        expect(resource(prod, "service-0-credentials").dependencies).toContain(resource(prod, "database-role").urn);
        expect(resource(prod, "backups-credentials").dependencies).toContain(resource(prod, "database-role").urn);
    });
});

describe("RDS (DB-5, NET-2)", () => {
    let rds: PlanRun;
    beforeAll(async () => {
        rds = await runStack("prod", { "webapp:provider": "aws", "webapp:databaseEngine": "rds" });
    });

    test("encrypted, private, backed up, protected, minor upgrades on", () => {
        const instance = resource(rds, "database-instance");
        expect(instance.protect).toBe(true);
        expect(instance.inputs).toMatchObject({
            engine: "postgres", storageEncrypted: true, publiclyAccessible: false, backupRetentionPeriod: 35, deletionProtection: true,
            autoMinorVersionUpgrade: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "webapp-final", instanceClass: "db.t4g.small", allocatedStorage: 20,
        });
        expect(isSecret(instance.inputs.password)).toBe(true);
        expect(resource(rds, "database-parameters").inputs.parameters).toEqual(expect.arrayContaining([{ name: "rds.force_ssl", value: "1" }]));
    });

    test("5432 is open only to the app servers' security group", () => {
        const sg = resource(rds, "database-security-group");
        expect(sg.inputs.ingress).toEqual([{ description: "PostgreSQL from the app servers", protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: [resource(rds, "web-security-group").id] }]);
        expect(sg.inputs.egress).toEqual([]);
        expect(resource(rds, "database-instance").inputs.vpcSecurityGroupIds).toEqual([sg.id]);
    });

    test("the app connects to the endpoint with TLS verified against Amazon's RDS CA bundle; the role step is secret", () => {
        const unit = filesOf(rds, "service-0-service")["/etc/systemd/system/webapp.service"];
        expect(unit).toMatch(/Environment="DATABASE_HOST=webapp\.c[0-9a-f]+\.eu-central-1\.rds\.amazonaws\.com"/);
        expect(unit).toContain('Environment="DATABASE_SSLMODE=verify-full"');
        expect(unit).toContain('Environment="PGSSLROOTCERT=/etc/ssl/rds/global-bundle.pem"');
        const ca = String(resource(rds, "database-rds-ca-0").inputs.create ?? "") + String(unwrapSecrets(resource(rds, "database-rds-ca-0").inputs.stdin ?? ""));
        expect(ca).toContain("https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem");
        // The app's first step waits for the bundle (and the role), so the app never starts without them.
        expect(resource(rds, "service-0-credentials").dependencies).toEqual(expect.arrayContaining([resource(rds, "database-rds-ca-0").urn, resource(rds, "database-role").urn]));
        expect(isSecret(resource(rds, "database-role").inputs.stdin)).toBe(true);
        const role = filesOf(rds, "database-role");
        expect(role["/etc/webapp/database/pg_service.conf"]).toMatch(/^host=webapp\.c[0-9a-f]+\.eu-central-1\.rds\.amazonaws\.com\n(.*\n)*sslmode=verify-full\nsslrootcert=\/etc\/ssl\/rds\/global-bundle\.pem\n$/m);
        expect(role["/etc/webapp/database/role.sql"]).toContain("GRANT webapp TO CURRENT_USER;");
        expect(role["/etc/webapp/database/role.sql"]).not.toContain("NOSUPERUSER");
        // The address is filled in on the host: the script itself is known before the instance exists.
        expect(stepScript(resource(rds, "database-role"))).not.toMatch(/rds\.amazonaws\.com/);
        const admin = String(unwrapSecrets(resource(rds, "app-db-admin-password").outputs.result));
        const plain = rds.resources.flatMap((r) => strings(r.inputs).plain);
        expect(plain.filter((p) => p.includes(admin))).toEqual([]);
    });

    test("logical backups run on the first app server against the instance, as the admin, with its password only in the secret credentials step", () => {
        const timers = filesOf(rds, "backups-timers");
        expect(isSecret(resource(rds, "backups-timers").inputs.stdin)).toBe(false);
        const backup = timers["/usr/local/lib/webapp/backup"];
        expect(backup).toMatch(/^export PGHOST='webapp\.c[0-9a-f]+\.eu-central-1\.rds\.amazonaws\.com' PGPORT=5432 PGUSER='dbadmin' PGSSLMODE=verify-full PGSSLROOTCERT='\/etc\/ssl\/rds\/global-bundle\.pem'$/m);
        expect(backup).toContain("s3://webapp-prod-backups/");
        expect(timers["/etc/systemd/system/webapp-backup@.service"]).toMatch(/^User=webapp-backup$/m);
        const credentials = resource(rds, "backups-credentials");
        expect(isSecret(credentials.inputs.stdin)).toBe(true);
        const admin = String(unwrapSecrets(resource(rds, "app-db-admin-password").outputs.result));
        const pgpass = filesOf(rds, "backups-credentials")["/etc/webapp/credentials/backup-pgpass"];
        // Any host: the jobs name the instance themselves (PGHOST), and the line is known before it exists.
        expect(pgpass).toMatch(/^\*:5432:\*:dbadmin:/);
        expect(pgpass.endsWith(`:${admin.replace(/[\\:]/g, (c) => `\\${c}`)}\n`)).toBe(true);
        // The scripts fall back to the file this step writes when run by hand (no systemd credentials directory).
        expect(backup).toContain('export PGPASSFILE="${CREDENTIALS_DIRECTORY:-/etc/webapp/credentials}/backup-pgpass"');
        expect(resource(rds, "backups-credentials").dependencies).toEqual(expect.arrayContaining([resource(rds, "database-role").urn]));
        expect(resource(rds, "backups-timers").dependencies).toContain(resource(rds, "backups-credentials").urn);
    });

    test("a retention below 7 days is refused before anything is registered", async () => {
        const result = await runIsolated({
            stack: "prod",
            program: () => {
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                const { Database } = require("../components/database") as typeof import("../components/database");
                new Database("db", { engine: "rds", appName: "webapp", password: "x", connection: { host: "h", port: 22, user: "u", dialErrorLimit: 1, perDialTimeout: 1 }, rds: { appSecurityGroupId: "sg-1", adminPassword: "y", backupRetentionDays: 3 } });
            },
        });
        expect(result.error?.message).toMatch(/rds\.backupRetentionDays must be >= 7 \(DB-5\)/);
        expect(result.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    });
});

describe("SQLite (seed 000)", () => {
    test("no database server, a SQLite backup job, the app told where its file is", async () => {
        const run = await runStack("staging", { "webapp:databaseEngine": "sqlite" });
        expect(ofType(run, "command:remote:Command").map((r) => r.name)).not.toContain("database-postgresql");
        expect(filesOf(run, "backups-timers")["/usr/local/lib/webapp/backup"]).toContain("sqlite3 '/var/lib/webapp/webapp.db' \".backup '$tmp.db'\"");
        expect(filesOf(run, "service-0-service")["/etc/systemd/system/webapp.service"]).toContain('Environment="SQLITE_PATH=/var/lib/webapp/webapp.db"');
    });
});
