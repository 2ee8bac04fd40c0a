/**
 * Composition root: read the stack config, build the component graph, export the outputs. Nothing else.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AppIdentity } from "./components/app-identity";
import { AppService } from "./components/app-service";
import { Backups } from "./components/backups";
import { Database, dbIdentifier, rdsAdminUser } from "./components/database";
import { HostHardening } from "./components/host-hardening";
import { OffsiteBucket } from "./components/offsite-bucket";
import { ReverseProxy } from "./components/reverse-proxy";
import { AppSecrets } from "./components/secrets";
import { Vps } from "./components/vps";
import { loadConfig } from "./lib/config";
import { rdsCaBundle } from "./lib/render/postgres";
import { serverMemoryMiB } from "./lib/server-types";

const cfg = loadConfig();
const prod = cfg.environment === "prod";
const namePrefix = `${cfg.project}-${cfg.stack}`;
const tags = { project: cfg.project, stack: cfg.stack, "managed-by": "pulumi" };
const usesAws = cfg.provider === "aws" || cfg.secretStore === "aws-secrets-manager" || cfg.offsiteBackup;

const awsProvider = usesAws ? new aws.Provider("aws", { region: cfg.awsRegion, defaultTags: { tags } }) : undefined;
const identity = cfg.secretStore === "aws-secrets-manager"
    ? new AppIdentity("app", { kind: cfg.provider === "aws" ? "instance-role" : "access-key", namePrefix, tags }, { provider: awsProvider })
    : undefined;

const vps = new Vps("web", {
    provider: cfg.provider,
    existingHosts: cfg.existingHosts,
    count: cfg.serverCount,
    namePrefix,
    adminUser: cfg.adminUser,
    adminSshPublicKeys: cfg.adminSshPublicKeys,
    adminCidrs: cfg.adminCidrs,
    sshPort: cfg.sshPort,
    sshPrivateKey: cfg.sshPrivateKey,
    hcloudServerType: cfg.hcloudServerType,
    hcloudLocation: cfg.hcloudLocation,
    awsInstanceType: cfg.awsInstanceType,
    awsInstanceProfile: identity?.instanceProfileName,
    volumeSizeGb: cfg.volumeSizeGb,
    protect: cfg.protect,
    providerBackups: prod,
    labels: tags,
}, { provider: awsProvider });

const secrets = new AppSecrets("app", {
    databaseEngine: cfg.databaseEngine,
    rotationDays: cfg.secretRotationDays,
    generation: cfg.rotationGeneration,
    store: cfg.secretStore,
    secretNamePrefix: `${cfg.project}/${cfg.stack}`,
    region: cfg.awsRegion,
    reader: identity?.target,
    protect: cfg.protect,
    tags,
}, { provider: awsProvider });

const uploadsDir = `/var/lib/${cfg.appName}/uploads`;
const credentials: Record<string, pulumi.Input<string>> = {
    "app-secret-key": secrets.appSecretKey,
    "encryption-key": secrets.encryptionKey.current,
    "encryption-key-previous": secrets.encryptionKey.previous,
    ...(secrets.dbPassword ? { "db-password": secrets.dbPassword } : {}),
    ...(identity?.secretAccessKey && identity.accessKeyId ? { "aws-access-key-id": identity.accessKeyId, "aws-secret-access-key": identity.secretAccessKey } : {}),
};

const retention = { dailyDays: cfg.backupRetentionDailyDays, weeklyDays: cfg.backupRetentionWeeklyDays, uploadsDays: cfg.uploadsRetentionDays };
const offsite = cfg.offsiteBackup
    ? new OffsiteBucket("offsite", { bucketName: cfg.backupBucketName || `${namePrefix}-backups`, region: cfg.awsRegion, retention, protect: cfg.protect, tags }, { provider: awsProvider })
    : undefined;

const hosts = vps.connections.map((connection, i) =>
    new HostHardening(`host-${i}`, { connection, adminUser: cfg.adminUser, sshPort: cfg.sshPort, adminCidrs: cfg.adminCidrs, appName: cfg.appName }));

// The database lives on the first server (self-hosted), on RDS, or in a SQLite file next to the app.
const database = new Database("database", {
    engine: cfg.databaseEngine,
    appName: cfg.appName,
    password: secrets.dbPassword,
    connection: vps.connections[0],
    appConnections: vps.connections,
    memoryMiB: cfg.provider === "existing" ? cfg.existingServerMemoryMiB : serverMemoryMiB(cfg.provider, cfg.provider === "hcloud" ? cfg.hcloudServerType : cfg.awsInstanceType),
    rds: cfg.databaseEngine === "rds" ? { instanceClass: cfg.rdsInstanceClass, allocatedStorageGb: cfg.rdsAllocatedStorageGb, backupRetentionDays: Math.min(35, Math.max(7, cfg.backupRetentionDailyDays)), appSecurityGroupId: vps.firewallId, adminPassword: secrets.dbAdminPassword! } : undefined,
    protect: cfg.protect,
    tags,
}, { dependsOn: [hosts[0]], provider: awsProvider });

// Logical backups, restore drills and the stale check run on the database host, or, for RDS, on the first app
// server against the instance (on top of RDS's own automated backups).
new Backups("backups", {
    connection: vps.connections[0],
    backup: {
        appName: cfg.appName,
        engine: cfg.databaseEngine === "sqlite" ? "sqlite" : "postgres",
        database: dbIdentifier(cfg.appName),
        role: dbIdentifier(cfg.appName),
        sqlitePath: `/var/lib/${cfg.appName}/${cfg.appName}.db`,
        retention,
        uploadsDir: cfg.uploadsMode === "none" ? undefined : uploadsDir,
    },
    offsite: offsite && { bucket: offsite.bucketName, prefix: offsite.prefix, region: offsite.region, credentials: offsite.writerCredentials },
    server: database.address && { host: database.address, port: 5432, user: rdsAdminUser, password: secrets.dbAdminPassword!, caFile: rdsCaBundle.path },
}, { dependsOn: database.steps });

vps.connections.forEach((connection, i) => {
    new AppService(`service-${i}`, {
        connection,
        appName: cfg.appName,
        execStart: cfg.appExecStart,
        port: cfg.appPort,
        healthPath: cfg.healthPath,
        credentials,
        environment: database.environment,
        values: database.values,
        writablePaths: cfg.uploadsMode === "none" ? [] : [uploadsDir],
        after: cfg.databaseEngine === "self-hosted" ? ["postgresql.service"] : [],
    }, { dependsOn: [hosts[i], ...database.steps] });
    new ReverseProxy(`proxy-${i}`, {
        connection,
        proxy: {
            name: cfg.appName,
            domains: [cfg.domain, ...cfg.domainAliases],
            upstreamPort: cfg.appPort,
            loginPath: cfg.loginPath,
            apiPrefix: cfg.apiPrefix,
            contentSecurityPolicy: cfg.contentSecurityPolicy,
            clientMaxBodySize: cfg.clientMaxBodySize,
            uploads: cfg.uploadsMode === "none" ? undefined : { path: cfg.uploadsPath, mode: cfg.uploadsMode, directory: uploadsDir },
        },
        tlsMode: cfg.tlsMode,
        acmeEmail: cfg.acmeEmail,
        acmeStaging: !prod,
    }, { dependsOn: [hosts[i]] });
});

export const environment = cfg.environment;
export const servers = vps.servers;
export const publicIp = vps.publicIp;
export const sshCommand = pulumi.interpolate`ssh -p ${cfg.sshPort} ${vps.adminUser}@${vps.publicIp}`;
export const url = `https://${cfg.domain}`;
export const secretArns = secrets.secretArns;
export const backupBucket = offsite?.bucketName ?? null;
export const nextSecretRotation = secrets.nextRotation;
/** The rotation generation this deploy's secrets belong to: the drift check compares at it (.github/workflows/drift.yml). */
export const secretRotationGeneration = secrets.generation;
