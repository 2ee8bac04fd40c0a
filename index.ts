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
import { FleetVpc } from "./components/fleet-vpc";
import { LoadBalancer } from "./components/load-balancer";
import { NetworkLoadBalancer } from "./components/network-load-balancer";
import { OffsiteBucket } from "./components/offsite-bucket";
import { PrivateNetwork } from "./components/private-network";
import { ReverseProxy } from "./components/reverse-proxy";
import { SharedCertificate } from "./components/shared-certificate";
import { AppSecrets } from "./components/secrets";
import { Vps } from "./components/vps";
import { loadConfig } from "./lib/config";
import { AWS_ROLLING, awsFleetPlan, existingFleetPlan, fleetPlan, HCLOUD_ROLLING } from "./lib/fleet";
import { FirewallRole } from "./lib/net";
import { drainFile, HEALTH_CHECK_PORT } from "./lib/render/nginx";
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

// A fleet (issue 15): more than one app server behind a load balancer, or PostgreSQL on a server of its own. Every
// private address is known here (planned on hcloud and aws, given for existing hosts), so the pack sees them at the
// first preview.
const dedicatedDatabase = cfg.databaseEngine === "self-hosted" && cfg.databaseHost === "dedicated";
const isFleet = cfg.serverCount > 1 || dedicatedDatabase;
const plan = !isFleet
    ? undefined
    : cfg.provider === "hcloud"
        ? fleetPlan({ networkCidr: cfg.privateNetworkCidr, appServers: cfg.serverCount, dedicatedDatabase })
        : cfg.provider === "existing"
            ? existingFleetPlan({ networkCidr: cfg.privateNetworkCidr, appIps: cfg.existingPrivateAddresses, databaseIp: dedicatedDatabase ? cfg.existingDatabasePrivateAddress : undefined, loadBalancerIp: cfg.existingLoadBalancerAddress })
            : awsFleetPlan({ networkCidr: cfg.privateNetworkCidr, appServers: cfg.serverCount });
const network = plan && cfg.provider === "hcloud" ? new PrivateNetwork("private", { plan, location: cfg.hcloudLocation, networkName: namePrefix, protect: cfg.protect, labels: tags }) : undefined;
const vpc = plan && cfg.provider === "aws" ? new FleetVpc("private", { plan, namePrefix, tags }, { provider: awsProvider }) : undefined;
// Behind the load balancer one Let's Encrypt certificate serves the fleet: the first app server obtains it and
// pushes it to the others (components/shared-certificate.ts).
const sharedCertificate = !!plan?.loadBalancerFrom && cfg.tlsMode === "letsencrypt";
const appRole = (i: number): FirewallRole => {
    if (!plan?.loadBalancerFrom) return { kind: "standalone" };
    const [leader, ...followers] = plan.appIps;
    return {
        kind: "behind-load-balancer",
        loadBalancer: plan.loadBalancerFrom,
        healthPort: HEALTH_CHECK_PORT,
        sshFrom: sharedCertificate && i > 0 ? [leader] : [],
        healthFrom: sharedCertificate && i === 0 ? followers : [],
    };
};
const serverArgs = {
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
};
// One security group guards every AWS app server, so it admits what each one's ufw admits: the first server's ACME
// forwarding from the others, and its certificate push to them.
const sharedRole = (): FirewallRole => {
    const first = appRole(0);
    return first.kind === "behind-load-balancer" && sharedCertificate && plan ? { ...first, sshFrom: [plan.appIps[0]] } : first;
};
const vps = new Vps("web", {
    ...serverArgs,
    role: sharedRole(),
    privateNetwork: !plan ? undefined : network ? { networkId: network.networkId, ips: plan.appIps } : vpc ? { vpcId: vpc.vpcId, subnetIds: vpc.appSubnetIds, ips: plan.appIps } : undefined,
}, { provider: awsProvider });
const databaseRole: FirewallRole | undefined = plan?.databaseIp ? { kind: "database", clients: plan.appIps } : undefined;
const dbVps = plan?.databaseIp && databaseRole
    ? new Vps("db", {
        ...serverArgs,
        namePrefix: `${namePrefix}-db`,
        count: 1,
        existingHosts: cfg.provider === "existing" ? [cfg.existingDatabaseHost] : [],
        volumeSizeGb: 0,
        role: databaseRole,
        privateNetwork: network ? { networkId: network.networkId, ips: [plan.databaseIp] } : undefined,
    })
    : undefined;
const loadBalancer = network && plan?.loadBalancerIp
    ? new LoadBalancer("web", {
        lbName: namePrefix,
        loadBalancerType: cfg.hcloudLoadBalancerType,
        location: cfg.hcloudLocation,
        networkId: network.networkId,
        ip: plan.loadBalancerIp,
        serverIds: vps.serverIds,
        healthPath: cfg.healthPath,
        healthPort: HEALTH_CHECK_PORT,
        healthDomain: cfg.domain,
        protect: cfg.protect,
        labels: tags,
    })
    : undefined;
const networkLoadBalancer = vpc && plan?.loadBalancerFrom
    ? new NetworkLoadBalancer("web", {
        lbName: namePrefix,
        vpcId: vpc.vpcId,
        subnetIds: vpc.loadBalancerSubnetIds,
        instanceIds: vps.instanceIds,
        healthPath: cfg.healthPath,
        healthPort: HEALTH_CHECK_PORT,
        protect: cfg.protect,
        tags,
    }, { provider: awsProvider })
    : undefined;

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

const hardening = { adminUser: cfg.adminUser, sshPort: cfg.sshPort, adminCidrs: cfg.adminCidrs, appName: cfg.appName };
const hosts = vps.connections.map((connection, i) => new HostHardening(`host-${i}`, { ...hardening, connection, firewallRole: appRole(i) }));
const dbHost = dbVps && new HostHardening("db-host", { ...hardening, connection: dbVps.connections[0], firewallRole: databaseRole });
/** The server that runs PostgreSQL, backups and drills: its own, or the first app server. */
const databaseConnection = dbVps?.connections[0] ?? vps.connections[0];

// The database lives on the first server or a server of its own (self-hosted), on RDS, or in a SQLite file next to
// the app.
const database = new Database("database", {
    engine: cfg.databaseEngine,
    appName: cfg.appName,
    password: secrets.dbPassword,
    connection: databaseConnection,
    appConnections: vps.connections,
    privateNetwork: plan?.databaseIp ? { listenAddress: plan.databaseIp, clients: plan.appIps } : undefined,
    memoryMiB: cfg.provider === "existing" ? cfg.existingServerMemoryMiB : serverMemoryMiB(cfg.provider, cfg.provider === "hcloud" ? cfg.hcloudServerType : cfg.awsInstanceType),
    rds: cfg.databaseEngine === "rds" ? { instanceClass: cfg.rdsInstanceClass, allocatedStorageGb: cfg.rdsAllocatedStorageGb, backupRetentionDays: Math.min(35, Math.max(7, cfg.backupRetentionDailyDays)), appSecurityGroupId: vps.firewallId, network: vpc && { vpcId: vpc.vpcId, subnetIds: vpc.appSubnetIds }, adminPassword: secrets.dbAdminPassword! } : undefined,
    protect: cfg.protect,
    tags,
}, { dependsOn: [dbHost ?? hosts[0]], provider: awsProvider });

// Logical backups, restore drills and the stale check run on the database host, or, for RDS, on the first app
// server against the instance (on top of RDS's own automated backups).
new Backups("backups", {
    connection: databaseConnection,
    backup: {
        appName: cfg.appName,
        engine: cfg.databaseEngine === "sqlite" ? "sqlite" : "postgres",
        database: dbIdentifier(cfg.appName),
        role: dbIdentifier(cfg.appName),
        sqlitePath: `/var/lib/${cfg.appName}/${cfg.appName}.db`,
        retention,
        time: cfg.backupTime,
        uploadsDir: cfg.uploadsMode === "none" ? undefined : uploadsDir,
    },
    offsite: offsite && { bucket: offsite.bucketName, prefix: offsite.prefix, region: offsite.region, credentials: offsite.writerCredentials },
    server: database.address && { host: database.address, port: 5432, user: rdsAdminUser, password: secrets.dbAdminPassword!, caFile: rdsCaBundle.path },
}, { dependsOn: database.steps });

// Behind the load balancer the app servers restart one at a time, each drained and healthy again before the next
// (each server's steps wait for the previous server's).
const services: AppService[] = [];
vps.connections.forEach((connection, i) => {
    services.push(new AppService(`service-${i}`, {
        connection,
        appName: cfg.appName,
        execStart: cfg.appExecStart,
        port: cfg.appPort,
        healthPath: cfg.healthPath,
        credentials,
        environment: database.environment,
        values: database.values,
        writablePaths: cfg.uploadsMode === "none" ? [] : [uploadsDir],
        after: cfg.databaseEngine === "self-hosted" && !dedicatedDatabase ? ["postgresql.service"] : [],
        rolling: plan?.loadBalancerFrom ? { drainFile: drainFile(cfg.appName), ...(cfg.provider === "aws" ? AWS_ROLLING : HCLOUD_ROLLING) } : undefined,
    }, { dependsOn: [hosts[i], ...database.steps, ...(services[i - 1]?.steps ?? [])] }));
});

const proxyArgs = (i: number) => ({
    connection: vps.connections[i],
    proxy: {
        name: cfg.appName,
        domains: [cfg.domain, ...cfg.domainAliases],
        upstreamPort: cfg.appPort,
        loginPath: cfg.loginPath,
        apiPrefix: cfg.apiPrefix,
        contentSecurityPolicy: cfg.contentSecurityPolicy,
        clientMaxBodySize: cfg.clientMaxBodySize,
        uploads: cfg.uploadsMode === "none" ? undefined : { path: cfg.uploadsPath, mode: cfg.uploadsMode, directory: uploadsDir },
        loadBalancer: plan?.loadBalancerFrom
            ? { address: plan.loadBalancerFrom, listenAddress: plan.appIps[i], healthPath: cfg.healthPath, healthPort: HEALTH_CHECK_PORT, acmeServer: sharedCertificate ? plan.appIps[0] : undefined }
            : undefined,
    },
    tlsMode: cfg.tlsMode,
    acmeEmail: cfg.acmeEmail,
    acmeStaging: !prod,
});
// The other app servers first: the first one's certificate push needs their nginx and receive steps in place.
const followerProxies = hosts.slice(1).map((host, j) => new ReverseProxy(`proxy-${j + 1}`, { ...proxyArgs(j + 1), share: sharedCertificate ? { role: "follower" } : undefined }, { dependsOn: [host] }));
const share = sharedCertificate && plan
    ? new SharedCertificate("certificate", {
        appName: cfg.appName,
        domain: cfg.domain,
        adminUser: cfg.adminUser,
        leader: { connection: vps.connections[0], address: plan.appIps[0] },
        followers: followerProxies.map((p, j) => ({ connection: vps.connections[j + 1], after: [hosts[j + 1], ...p.steps] })),
    }, { dependsOn: [hosts[0]] })
    : undefined;
new ReverseProxy("proxy-0", {
    ...proxyArgs(0),
    share: share && plan ? { role: "leader", user: cfg.adminUser, sshPort: cfg.sshPort, followers: share.hostKeys.map((hostKey, j) => ({ address: plan.appIps[j + 1], hostKey })) } : undefined,
}, { dependsOn: [hosts[0], ...(share?.steps ?? [])] });

export const environment = cfg.environment;
export const servers = vps.servers;
/**
 * Where the domain's A record points: the fleet's load balancer at Hetzner (or the first of the AWS network load
 * balancer's addresses: point the domain at all of `loadBalancerIps`), else the (first) app server. Existing hosts
 * behind your own load balancer: its address, which the program does not know.
 */
export const publicIp = loadBalancer?.ipv4 ?? networkLoadBalancer?.ipv4s[0] ?? vps.publicIp;
/** Every public address of the fleet's load balancer: one at Hetzner, one per zone at AWS; empty without one. */
export const loadBalancerIps = loadBalancer ? [loadBalancer.ipv4] : networkLoadBalancer ? networkLoadBalancer.ipv4s : [];
/** The app servers' cloud firewall (hcloud) or security group (aws), for rules of your own; empty for existing hosts. */
export const appFirewallId = vps.firewallId;
export const databaseServer = dbVps ? dbVps.servers.apply((s) => s[0]) : null;
export const privateNetwork = plan ?? null;
export const sshCommand = pulumi.interpolate`ssh -p ${cfg.sshPort} ${vps.adminUser}@${vps.publicIp}`;
export const url = `https://${cfg.domain}`;
export const secretArns = secrets.secretArns;
export const backupBucket = offsite?.bucketName ?? null;
export const nextSecretRotation = secrets.nextRotation;
/** The rotation generation this deploy's secrets belong to: the drift check compares at it (.github/workflows/drift.yml). */
export const secretRotationGeneration = secrets.generation;
